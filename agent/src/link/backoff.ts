import { AGENT_RECONNECT_MAX_DELAY_MS } from '../../../shared/src/protocol.js';
/**
 * Exponential backoff with full jitter (the delay is uniform in [0, min(cap, base * 2^n))), so that
 * a fleet of agents cut off together does not dial back together.
 */
export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** Uniform in [0, 1); injected so tests can pin it. */
  random?: () => number;
}

export const RECONNECT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({
  baseMs: 250,
  capMs: AGENT_RECONNECT_MAX_DELAY_MS,
});

export class Backoff {
  private failures = 0;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    if (options.baseMs <= 0 || options.capMs < options.baseMs) {
      throw new Error(`invalid backoff: base ${options.baseMs} ms, cap ${options.capMs} ms`);
    }
    this.random = options.random ?? Math.random;
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.failures;
  }

  /** The upper bound of the next delay. */
  ceilingMs(): number {
    // 2^n overflows nothing here: the exponent stops growing once the cap is reached.
    const exponent = Math.min(this.failures, 30);
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** exponent);
  }

  nextDelayMs(): number {
    const ceiling = this.ceilingMs();
    this.failures += 1;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.failures = 0;
  }
}
