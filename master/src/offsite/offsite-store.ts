import type { Logger } from 'pino';
import { mapWithConcurrency } from '../../../shared/src/concurrency.js';
import type { ArchiveStore } from '../backups/archive-store.js';
import { PeriodicPass } from '../infra/timers/periodic-pass.js';
import type { ClaimedCopy, OffsiteRepository, OffsiteTargetRow } from './offsite.repository.js';
import { S3Bucket, type BucketLocation } from './s3-bucket.js';

export interface OffsiteStoreOptions {
  /** How often it looks for copies and removals to carry out. */
  pollMs: number;
  /** The wait before each retry of a copy; its length + 1 is how many attempts a copy gets. */
  backoffMs: readonly number[];
}

/** The buckets' side, swappable in tests (S3Bucket in production). */
export type OffsiteBucket = Pick<S3Bucket, 'upload' | 'digest' | 'download' | 'remove' | 'close'>;

export interface OffsiteStoreDependencies {
  repository: Pick<
    OffsiteRepository,
    'markRemoving' | 'claimDue' | 'copied' | 'drop' | 'attemptFailed' | 'copiesOf' | 'findTarget'
  >;
  archives: Pick<ArchiveStore, 'path' | 'restoreFile'>;
  /** Opens a target's sealed secret key (SecretBox). */
  decrypt(sealed: string): string;
  /** Told of a copy given up on after its attempts (a backup.offsite-failed notification). */
  gaveUp?(copy: ClaimedCopy, error: string): Promise<void>;
  bucket?: (location: BucketLocation) => OffsiteBucket;
  options: OffsiteStoreOptions;
  logger: Logger;
}

/** What putting an archive back from its off-site copies came to. */
export type PutBack = { from: string } | { failed: string };

/** Copies claimed per pass, and carried out at once. */
const CLAIM_BATCH = 4;
const CONCURRENCY = 2;
/**
 * How long a claim holds a copy: past the upload and read-back of a large archive, so that only a
 * master that died mid-upload lets another try it again.
 */
const CLAIM_LEASE_MS = 3600_000;

/**
 * The master's store and its off-site buckets: each backup's archives are copied to the target its
 * policy names, read back and compared with their sha256; an archive that leaves the store leaves
 * its bucket too; and an archive the store lost (or that no longer matches) is put back from a copy.
 *
 * A worker like the notifier's: copies are rows made when a backup is recorded, claimed by one
 * master before they are carried out, retried with backoff, so the work holds across restarts and
 * several masters, and never makes a task wait for a bucket.
 */
export class OffsiteStore {
  private readonly passes: PeriodicPass;
  private readonly abort = new AbortController();

  constructor(private readonly deps: OffsiteStoreDependencies) {
    this.passes = new PeriodicPass(deps.options.pollMs, () => this.pass());
  }

  start(): void {
    this.passes.start();
  }

  /** Stops: an upload in flight is aborted, and the pass waited for. */
  stop(): Promise<void> {
    this.abort.abort();
    return this.passes.stop();
  }

  /** One pass (a pass already running is waited for instead). */
  tick(): Promise<void> {
    return this.passes.tick();
  }

  private async pass(): Promise<void> {
    try {
      await this.deps.repository.markRemoving();
      for (;;) {
        const claimed = await this.deps.repository.claimDue(CLAIM_BATCH, CLAIM_LEASE_MS);
        await mapWithConcurrency(claimed, CONCURRENCY, (copy) => this.carryOut(copy));
        if (claimed.length < CLAIM_BATCH || this.abort.signal.aborted) return;
      }
    } catch (error) {
      this.deps.logger.error({ err: error }, 'an off-site pass failed; the next one tries again');
    }
  }

  /**
   * Puts a stored archive back into the store from one of its off-site copies (the first target
   * that has it whole), checked against the sha256 it was stored with.
   */
  async putBack(archiveId: string): Promise<PutBack> {
    const copies = (await this.deps.repository.copiesOf([archiveId])).filter(
      (copy) => copy.state === 'copied',
    );
    if (copies.length === 0) return { failed: 'it has no off-site copy' };
    const failures: string[] = [];
    for (const copy of copies) {
      const target = await this.deps.repository.findTarget(copy.targetId);
      if (!target) continue;
      const bucket = this.bucketOf(target);
      try {
        await this.deps.archives.restoreFile(archiveId, (temp) => bucket.download(copy.objectKey, temp));
        this.deps.logger.warn(
          { archiveId, target: target.name },
          'put an archive back from its off-site copy',
        );
        return { from: target.name };
      } catch (error) {
        failures.push(`${target.name}: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        bucket.close();
      }
    }
    return { failed: `no off-site copy came back whole (${failures.join('; ')})` };
  }

  private async carryOut(copy: ClaimedCopy): Promise<void> {
    const { repository, logger, options } = this.deps;
    const fields = {
      copyId: copy.id,
      archiveId: copy.archiveId,
      target: copy.target.name,
      attempts: copy.attempts,
    };
    const bucket = this.bucketOf(copy.target);
    try {
      if (copy.state === 'removing') {
        await bucket.remove(copy.objectKey);
        await repository.drop(copy.id, copy.attempts);
        logger.info(fields, 'removed an off-site copy whose archive left the store');
        return;
      }
      if (!copy.archive) {
        // Removed from the store before it was copied: nothing to copy, nothing to keep.
        await repository.drop(copy.id, copy.attempts);
        return;
      }
      await bucket.upload(
        copy.objectKey,
        this.deps.archives.path(copy.archiveId),
        copy.archive.sha256,
        this.abort.signal,
      );
      const read = await bucket.digest(copy.objectKey);
      if (read.sha256 !== copy.archive.sha256 || read.bytes !== copy.archive.bytes) {
        throw new Error(
          `the copy read back is ${read.bytes} bytes with sha256 ${read.sha256}, ` +
            `the archive ${copy.archive.bytes} bytes with sha256 ${copy.archive.sha256}`,
        );
      }
      await repository.copied(copy.id, copy.attempts, read);
      logger.info({ ...fields, bytes: read.bytes }, 'copied an archive off-site, read back with its sha256');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const retryInMs = options.backoffMs[copy.attempts - 1] ?? null;
      const gaveUp = await repository.attemptFailed(copy.id, copy.attempts, message, retryInMs);
      logger.warn(
        { ...fields, error: message, retryInMs },
        gaveUp ? 'gave an off-site copy up' : 'an off-site attempt failed; will retry',
      );
      if (gaveUp)
        await this.deps
          .gaveUp?.(copy, message)
          .catch((notifyError: unknown) =>
            logger.error(
              { err: notifyError, copyId: copy.id },
              'could not record an off-site failure notification',
            ),
          );
    } finally {
      bucket.close();
    }
  }

  private bucketOf(target: OffsiteTargetRow): OffsiteBucket {
    const location: BucketLocation = {
      endpoint: target.endpoint,
      region: target.region,
      bucket: target.bucket,
      prefix: target.prefix,
      pathStyle: target.pathStyle,
      accessKeyId: target.accessKeyId,
      secretAccessKey: this.deps.decrypt(target.secretEncrypted),
    };
    return this.deps.bucket ? this.deps.bucket(location) : new S3Bucket(location);
  }
}
