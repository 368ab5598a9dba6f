import { In, LessThan, type DataSource } from 'typeorm';
import { PLAIN_EDGE, poolUserName, type SiteEdge, type HttpsMode } from '../../../../shared/src/site-edge.js';
import { ServerEntity } from '../../servers/server.entity.js';
import { SiteEntity } from '../site.entity.js';
import { AcmeAccountEntity, CertificateEntity, SiteAliasEntity, SiteEdgeEntity } from './site-edge.entity.js';

/** A certificate as a task records it: what a server serves a site with. */
export type CertificateRecord = Omit<CertificateEntity, 'createdAt'>;

/** Where a name is in use: a site's domain, or another name of a site. */
export interface NameUse {
  siteId: string;
  domain: string;
  as: 'domain' | 'alias';
}

/** The registry part of sites' web edge: names, HTTPS, certificates, PHP pools, the ACME account. */
export class SiteEdgesRepository {
  constructor(private readonly db: DataSource) {}

  /** A site's edge as its vhosts are written from; a site without a row has the plain edge. */
  async edgeOf(siteId: string): Promise<SiteEdge> {
    const [aliases, row] = await Promise.all([
      this.db.getRepository(SiteAliasEntity).find({ where: { siteId }, order: { name: 'ASC' } }),
      this.db.getRepository(SiteEdgeEntity).findOneBy({ siteId }),
    ]);
    return {
      aliases: aliases.filter((alias) => !alias.redirect).map((alias) => alias.name),
      redirects: aliases.filter((alias) => alias.redirect).map((alias) => alias.name),
      https: row?.httpsMode
        ? { mode: row.httpsMode, redirect: row.httpsRedirect, hsts: row.httpsHsts }
        : PLAIN_EDGE.https,
      pool:
        row?.poolUid != null
          ? { user: poolUserName(row.poolUid), uid: row.poolUid, settings: row.poolSettings }
          : PLAIN_EDGE.pool,
    };
  }

  /** Who uses a name now: a site as its domain, or as one of its other names. */
  async nameInUse(name: string): Promise<NameUse | null> {
    const site = await this.db.getRepository(SiteEntity).findOneBy({ domain: name });
    if (site) return { siteId: site.id, domain: site.domain, as: 'domain' };
    const alias = await this.db.getRepository(SiteAliasEntity).findOneBy({ name });
    if (!alias) return null;
    const owner = await this.db.getRepository(SiteEntity).findOneBy({ id: alias.siteId });
    return { siteId: alias.siteId, domain: owner?.domain ?? alias.siteId, as: 'alias' };
  }

  /**
   * The site's other names and settings as a task applied them, in one transaction: the names
   * replaced by `edge`'s (a name another site took meanwhile fails on the key, and nothing changes).
   */
  async setEdge(siteId: string, edge: SiteEdge): Promise<void> {
    await this.db.transaction(async (manager) => {
      const aliases = manager.getRepository(SiteAliasEntity);
      await aliases.delete({ siteId });
      const rows = [
        ...edge.aliases.map((name) => ({ name, siteId, redirect: false })),
        ...edge.redirects.map((name) => ({ name, siteId, redirect: true })),
      ];
      if (rows.length > 0) await aliases.insert(rows);
      await manager.getRepository(SiteEdgeEntity).upsert(
        {
          siteId,
          httpsMode: edge.https?.mode ?? null,
          httpsRedirect: edge.https?.redirect ?? false,
          httpsHsts: edge.https?.hsts ?? false,
          poolUid: edge.pool?.uid ?? null,
          poolSettings: edge.pool?.settings ?? {},
        },
        ['siteId'],
      );
    });
  }

  /** The operator's certificate and sealed key for the site, kept until another replaces them. */
  async saveUpload(siteId: string, certificatePem: string, keyEncrypted: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const rows = manager.getRepository(SiteEdgeEntity);
      await rows.createQueryBuilder().insert().values({ siteId, poolSettings: {} }).orIgnore().execute();
      await rows.update(
        { siteId },
        { uploadedCertificate: certificatePem, uploadedKeyEncrypted: keyEncrypted },
      );
    });
  }

  /** The site's uploaded certificate chain and sealed key, or null. */
  async upload(siteId: string): Promise<{ certificatePem: string; keyEncrypted: string } | null> {
    const row = await this.db.getRepository(SiteEdgeEntity).findOneBy({ siteId });
    return row?.uploadedCertificate && row.uploadedKeyEncrypted
      ? { certificatePem: row.uploadedCertificate, keyEncrypted: row.uploadedKeyEncrypted }
      : null;
  }

  /** A uid for a new site pool user, never given twice (a sequence: not rolled back, never reused). */
  async nextPoolUid(): Promise<number> {
    const [row] = await this.db.query<{ uid: string }[]>(`SELECT nextval('site_pool_uid_seq') AS uid`);
    return Number(row!.uid);
  }

  /** What the site's servers serve it with, one certificate each. */
  certificatesOf(siteId: string): Promise<CertificateEntity[]> {
    return this.db.getRepository(CertificateEntity).find({ where: { siteId }, order: { notAfter: 'ASC' } });
  }

  async recordCertificate(certificate: CertificateRecord): Promise<void> {
    await this.db.getRepository(CertificateEntity).upsert(certificate, ['siteId', 'serverId']);
  }

  /** Certificates no longer served: HTTPS turned off, or servers the site left. */
  async forgetCertificates(siteId: string, keepServerIds: readonly string[] = []): Promise<void> {
    const rows = await this.certificatesOf(siteId);
    const gone = rows.filter((row) => !keepServerIds.includes(row.serverId)).map((row) => row.serverId);
    if (gone.length > 0)
      await this.db.getRepository(CertificateEntity).delete({ siteId, serverId: In(gone) });
  }

  /**
   * Sites whose certificates the master renews now: HTTPS from Let's Encrypt, and a certificate
   * that ends before `before` (the renewal window), oldest first.
   */
  async dueForRenewal(before: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .innerJoin(SiteEdgeEntity, 'e', 'e.site_id = c.site_id')
      .select('c.site_id', 'siteId')
      .addSelect('MIN(c.not_after)', 'first')
      .where('e.https_mode = :mode', { mode: 'letsencrypt' satisfies HttpsMode })
      .andWhere({ notAfter: LessThan(before) })
      .groupBy('c.site_id')
      .orderBy('first', 'ASC')
      .limit(limit)
      .getRawMany<{ siteId: string }>();
    return rows.map((row) => row.siteId);
  }

  /** Every certificate with its site's domain and its server's name, for the metrics. */
  async allCertificates(): Promise<Array<{ domain: string; server: string; notAfter: Date }>> {
    const rows = await this.db
      .getRepository(CertificateEntity)
      .createQueryBuilder('c')
      .innerJoin(SiteEntity, 's', 's.id = c.site_id')
      .leftJoin(ServerEntity, 'v', 'v.id = c.server_id')
      .select('s.domain', 'domain')
      .addSelect('COALESCE(v.name, c.server_id::text)', 'server')
      .addSelect('c.not_after', 'notAfter')
      .getRawMany<{ domain: string; server: string; notAfter: Date | string }>();
    return rows.map((row) => ({ domain: row.domain, server: row.server, notAfter: new Date(row.notAfter) }));
  }

  /** The master's ACME account key at a directory (sealed), or null before the first order there. */
  async acmeAccountKey(directoryUrl: string): Promise<string | null> {
    const row = await this.db.getRepository(AcmeAccountEntity).findOneBy({ directoryUrl });
    return row?.keyEncrypted ?? null;
  }

  /**
   * Keeps the first account key saved for a directory: two masters making one at once both read
   * back the one that was kept.
   */
  async saveAcmeAccountKey(directoryUrl: string, keyEncrypted: string): Promise<string> {
    await this.db
      .getRepository(AcmeAccountEntity)
      .createQueryBuilder()
      .insert()
      .values({ directoryUrl, keyEncrypted })
      .orIgnore()
      .execute();
    return (await this.acmeAccountKey(directoryUrl))!;
  }
}
