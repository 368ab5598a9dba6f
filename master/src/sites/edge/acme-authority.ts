import { readFile } from 'node:fs/promises';
import { AcmeIssuer, createAccountKeyPem, type AcmeOrderTicket } from '../../certificates/acme-issuer.js';
import type { SecretBox } from '../../infra/crypto/secret-box.js';
import type { CertificateAuthority, IssuedChain, OrderTicket } from './certificates.js';
import type { SiteEdgesRepository } from './site-edges.repository.js';

export interface AcmeAuthorityOptions {
  directoryUrl: string;
  email: string | undefined;
  /** A PEM file of the CA the directory's HTTPS is also checked against (a private ACME server). */
  caFile: string | undefined;
}

/**
 * The CA the site tasks order certificates from: the master's ACME account at its directory. The
 * account key is made once, sealed in the registry (every master of a group orders with the same
 * account), and read back at first use.
 */
export class AcmeAuthority implements CertificateAuthority {
  private issuer: Promise<AcmeIssuer> | undefined;

  constructor(
    private readonly options: AcmeAuthorityOptions,
    private readonly accounts: Pick<SiteEdgesRepository, 'acmeAccountKey' | 'saveAcmeAccountKey'>,
    private readonly secrets: Pick<SecretBox, 'encrypt' | 'decrypt'>,
  ) {}

  async openOrder(names: string[]): Promise<AcmeOrderTicket> {
    return (await this.ready()).openOrder(names);
  }

  async validate(ticket: OrderTicket): Promise<void> {
    await (await this.ready()).validate(ticket as AcmeOrderTicket);
  }

  async finish(ticket: OrderTicket, csrPem: string): Promise<IssuedChain> {
    const issued = await (await this.ready()).finish(ticket as AcmeOrderTicket, csrPem);
    return { certificatePem: issued.certificatePem, notAfter: issued.notAfter.toISOString() };
  }

  private ready(): Promise<AcmeIssuer> {
    this.issuer ??= this.open().catch((error: unknown) => {
      // Tried again at the next order (a CA file fixed, the registry back).
      this.issuer = undefined;
      throw error;
    });
    return this.issuer;
  }

  private async open(): Promise<AcmeIssuer> {
    const { directoryUrl, email, caFile } = this.options;
    let sealed = await this.accounts.acmeAccountKey(directoryUrl);
    sealed ??= await this.accounts.saveAcmeAccountKey(
      directoryUrl,
      this.secrets.encrypt(await createAccountKeyPem()),
    );
    const caBundlePem = caFile
      ? await readFile(caFile, 'utf8').catch((error: unknown) => {
          throw new Error(`cannot read BERTH_ACME_CA_FILE ${caFile}: ${(error as Error).message}`);
        })
      : undefined;
    return new AcmeIssuer({
      directoryUrl,
      accountKeyPem: this.secrets.decrypt(sealed),
      ...(email ? { contactEmail: email } : {}),
      ...(caBundlePem ? { caBundlePem } : {}),
    });
  }
}
