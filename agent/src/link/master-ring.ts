import type { AgentServiceClient } from '../../../shared/src/protocol.js';

/** The two channels to one master: the control stream's, and one for archive bytes. */
export interface MasterClients {
  address: string;
  control: AgentServiceClient;
  transfer: AgentServiceClient;
}

/**
 * The masters an agent may dial (--master A,B,C), one at a time. It starts at a random one, so that
 * agents spread over the masters, and moves to the next when its stream ends: at once while some
 * master of the round has not been tried since the last one that took it, then with the usual
 * backoff (every master is down, or refuses it).
 */
export class MasterRing {
  private readonly clients = new Map<string, MasterClients>();
  private index: number;
  private triedSinceUp = 0;

  constructor(
    private readonly addresses: readonly string[],
    private readonly open: (address: string) => Omit<MasterClients, 'address'>,
    random: () => number = Math.random,
  ) {
    if (addresses.length === 0) throw new Error('MasterRing needs at least one address');
    this.index = Math.floor(random() * addresses.length);
  }

  current(): MasterClients {
    const address = this.addresses[this.index]!;
    let clients = this.clients.get(address);
    if (!clients) {
      clients = { address, ...this.open(address) };
      this.clients.set(address, clients);
    }
    return clients;
  }

  /**
   * The stream to the current master ended (`welcomed`: it had been up). Moves to the next master;
   * true when that one should be dialled at once rather than after a backoff.
   */
  moveOn(welcomed: boolean): boolean {
    if (welcomed) this.triedSinceUp = 0;
    this.triedSinceUp++;
    this.index = (this.index + 1) % this.addresses.length;
    return this.addresses.length > 1 && this.triedSinceUp < this.addresses.length;
  }

  close(): void {
    for (const clients of this.clients.values()) {
      clients.control.close();
      if (clients.transfer !== clients.control) clients.transfer.close();
    }
    this.clients.clear();
  }
}
