import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, lstat, lutimes, mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Extract, Header, Pack } from 'tar-stream';
import { StepError, StepErrorCode } from '../../../shared/src/errors.js';
import type { SiteArchiveFilesPart, SiteArchiveManifest } from '../../../shared/src/steps.js';
import { linkTargetProblem, resolvesInside } from './site-links.js';

/**
 * Site archives: a gzipped tar of
 *
 *   site/...          the site directory (settings.php left out: see SITE_EXCLUDED)
 *   database.sql      a plain mariadb-dump, when the archive holds the database
 *   present.list      in a delta only: every path of the site directory, NUL-separated
 *   manifest.json     last: sizes and sha256 of each part
 *
 * A delta (packSiteDirectory with `changedSince`) holds every directory but only the files and
 * symlinks whose ctime is at or after that time — what changed since a full archive began, for the
 * final copy of a site moving to another server. ctime, not mtime: an application can set a file's
 * mtime back, but every write, chmod or rename sets its ctime to now. present.list lets the
 * extractor remove what was deleted since.
 *
 * The files part is checked with a listing digest: one line per entry, in archive order,
 * `<f|d|l|h> <JSON path> <size> <sha256 of the content | link target>`, hashed. The archiver and the
 * extractor compute it the same way, so a restore proves that it wrote what was archived.
 */

export const MANIFEST_FORMAT = 'berth-site-archive/1';

/** A tar header as given to pack.entry(). */
type Headers = Partial<Header> & Pick<Header, 'name'>;
export const SITE_PREFIX = 'site';
export const DATABASE_ENTRY = 'database.sql';
export const MANIFEST_ENTRY = 'manifest.json';
export const PRESENT_ENTRY = 'present.list';
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** present.list of a site with a million files of 64-character paths. */
const MAX_PRESENT_BYTES = 64 * 1024 * 1024;

/**
 * Paths of the site directory never archived. settings.php: it is regenerated for wherever the
 * archive is restored (another domain, database or server on a clone or a migrate), and restoring
 * an old one could point a site at another site's database. The credentials are never in the site
 * directory at all (they live in <root>/config/sites/<domain>/).
 */
export const SITE_EXCLUDED: ReadonlySet<string> = new Set(['settings.php']);

/** Builds the listing digest of the files part, entry by entry. */
export class FilesListing {
  private readonly hash = createHash('sha256');
  entries = 0;
  bytes = 0;

  add(kind: 'f' | 'd' | 'l' | 'h', path: string, size: number, detail: string): void {
    this.hash.update(`${kind} ${JSON.stringify(path)} ${size} ${detail}\n`);
    this.entries += 1;
    if (kind === 'f') this.bytes += size;
  }

  finish(): SiteArchiveFilesPart {
    return { entries: this.entries, bytes: this.bytes, sha256: this.hash.digest('hex') };
  }
}

/** A pass-through that hashes and counts what flows through it. */
export function hashingTap(): { stream: Transform; digest: () => { sha256: string; bytes: number } } {
  const hash: Hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  return { stream, digest: () => ({ sha256: hash.digest('hex'), bytes }) };
}

// --- Packing ---------------------------------------------------------------------------------------

/** Writes one entry whose content comes from a stream, and waits until the pack took all of it. */
async function entryFrom(pack: Pack, header: Headers, source: Readable): Promise<void> {
  let entry!: ReturnType<Pack['entry']>;
  const written = new Promise<void>((resolve, reject) => {
    entry = pack.entry(header, (error) => (error ? reject(error) : resolve()));
  });
  await Promise.all([pipeline(source, entry), written]);
}

async function entryOf(pack: Pack, header: Headers, content?: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    pack.entry(header, content ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Packs the site directory under `site/`: directories, regular files and symlinks (as links,
 * never followed), in sorted order. What a restore would refuse is left out (`onSkip`), so that a
 * backup always restores: sockets, FIFOs and devices, and links that leave the site directory,
 * by their text or through other links (site-links.ts). Every entry is held to the restore's own
 * rules (planEntry) before it is written.
 */
export async function packSiteDirectory(
  pack: Pack,
  siteDir: string,
  options: {
    onSkip?: (path: string, why: string) => void;
    onFile?: (bytes: number) => void;
    /** A delta: only the files and symlinks changed (ctime) at or after this time. */
    changedSince?: Date;
    /** Receives every path of the site directory walked (what present.list holds). */
    present?: string[];
  } = {},
): Promise<SiteArchiveFilesPart> {
  const since = options.changedSince?.getTime();
  const listing = new FilesListing();
  const entry = (header: Headers, content?: Buffer) => {
    restorable(header);
    return entryOf(pack, header, content);
  };
  const walk = async (relative: string): Promise<void> => {
    const names = (await readdir(join(siteDir, relative))).sort();
    for (const name of names) {
      const path = relative ? `${relative}/${name}` : name;
      if (SITE_EXCLUDED.has(path)) continue;
      const full = join(siteDir, path);
      const stats = await lstat(full);
      const name_ = `${SITE_PREFIX}/${path}`;
      const mode = stats.mode & 0o777;
      options.present?.push(path);
      if (since !== undefined && !stats.isDirectory() && stats.ctimeMs < since) continue;
      if (stats.isDirectory()) {
        await entry({ name: `${name_}/`, type: 'directory', mode, mtime: stats.mtime });
        listing.add('d', path, 0, '-');
        await walk(path);
      } else if (stats.isSymbolicLink()) {
        const target = await readlink(full);
        const problem =
          linkTargetProblem(path, target) ??
          ((await resolvesInside(siteDir, path))
            ? null
            : `it leads outside the site directory through other links (${JSON.stringify(target)})`);
        if (problem) {
          options.onSkip?.(path, `a symlink a restore would refuse: ${problem}`);
          continue;
        }
        await entry({ name: name_, type: 'symlink', linkname: target, mode, mtime: stats.mtime });
        listing.add('l', path, 0, target);
      } else if (stats.isFile()) {
        const tap = hashingTap();
        const size = stats.size;
        // Exactly the size announced in the header: a file that grows meanwhile is cut at it, one
        // that shrinks fails the entry (tar-stream checks the size).
        const source = size > 0 ? createReadStream(full, { start: 0, end: size - 1 }) : emptyStream();
        const header: Headers = { name: name_, type: 'file', size, mode, mtime: stats.mtime };
        restorable(header);
        await entryFrom(pack, header, source.pipe(tap.stream));
        listing.add('f', path, size, tap.digest().sha256);
        options.onFile?.(size);
      } else {
        options.onSkip?.(path, 'not a file, directory or symlink (a socket, FIFO or device)');
      }
    }
  };
  await walk('');
  return listing.finish();
}

/** A backup must restore: an entry the restore's own rules refuse is a bug here, never written. */
function restorable(header: Headers): void {
  try {
    planEntry(header);
  } catch (error) {
    throw new StepError({
      code: StepErrorCode.Internal,
      message: `the backup would not restore: ${(error as Error).message}`,
      retryable: false,
    });
  }
}

function emptyStream(): Readable {
  const stream = new PassThrough();
  stream.end();
  return stream;
}

/** Adds database.sql from a file (the dump), hashing it on the way. */
export async function packDatabase(
  pack: Pack,
  dumpFile: string,
  database: string,
): Promise<{ database: string; bytes: number; sha256: string }> {
  const { size } = await lstat(dumpFile);
  const tap = hashingTap();
  await entryFrom(
    pack,
    { name: DATABASE_ENTRY, type: 'file', size, mode: 0o600, mtime: new Date() },
    createReadStream(dumpFile).pipe(tap.stream),
  );
  const digest = tap.digest();
  return { database, bytes: digest.bytes, sha256: digest.sha256 };
}

/** Adds present.list: every path of the site directory, NUL-separated (a name may hold a newline). */
export async function packPresent(pack: Pack, paths: readonly string[]): Promise<void> {
  const content = Buffer.from(paths.map((path) => `${path}\0`).join(''));
  await entryOf(pack, { name: PRESENT_ENTRY, type: 'file', size: content.length, mode: 0o600 }, content);
}

export async function packManifest(pack: Pack, manifest: SiteArchiveManifest): Promise<void> {
  const content = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await entryOf(
    pack,
    { name: MANIFEST_ENTRY, type: 'file', size: content.length, mode: 0o644, mtime: new Date() },
    content,
  );
}

// --- Checking entries --------------------------------------------------------------------------------

/** Where an archive entry goes, once it passed the checks. */
export type EntryPlan =
  | { kind: 'manifest' }
  | { kind: 'database' }
  | { kind: 'present' }
  | { kind: 'site-root' }
  | { kind: 'directory'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'hardlink'; path: string; target: string };

function unsafe(message: string): StepError {
  return new StepError({ code: StepErrorCode.UnsafeArchive, message, retryable: false });
}

/**
 * A relative path of safe segments (no empty, `.` or `..` segment, no NUL, not absolute), with a
 * leading `./` and a trailing `/` tolerated. Returns the segments.
 */
export function safeSegments(name: string): string[] | undefined {
  if (name.includes('\0') || name.startsWith('/')) return undefined;
  let path = name.startsWith('./') ? name.slice(2) : name;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path === '') return undefined;
  const segments = path.split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) return undefined;
  return segments;
}

/**
 * Decides what an entry is, or refuses it: absolute paths, `..`, anything outside `site/` but the
 * manifest and the database, links whose target would leave the site directory, and every type
 * but files, directories and links (devices, FIFOs ...).
 */
export function planEntry(header: Pick<Headers, 'name' | 'type' | 'linkname'>): EntryPlan {
  const shown = JSON.stringify(header.name.slice(0, 200));
  const segments = safeSegments(header.name);
  if (!segments) throw unsafe(`the archive entry ${shown} has an absolute path, "..", "." or an empty part`);
  const type = header.type ?? 'file';
  const [top, ...rest] = segments;
  if (rest.length === 0 && (top === MANIFEST_ENTRY || top === DATABASE_ENTRY || top === PRESENT_ENTRY)) {
    if (type !== 'file') throw unsafe(`the archive entry ${shown} must be a regular file, not a ${type}`);
    return { kind: top === MANIFEST_ENTRY ? 'manifest' : top === DATABASE_ENTRY ? 'database' : 'present' };
  }
  if (top !== SITE_PREFIX) {
    throw unsafe(
      `the archive entry ${shown} is outside the site directory (site/), the manifest and the database`,
    );
  }
  const path = rest.join('/');
  if (path === '') {
    if (type !== 'directory') throw unsafe(`the archive entry ${shown} must be a directory`);
    return { kind: 'site-root' };
  }
  switch (type) {
    case 'directory':
      return { kind: 'directory', path };
    case 'file':
    case 'contiguous-file':
      return { kind: 'file', path };
    case 'symlink': {
      const target = header.linkname ?? '';
      const problem = linkTargetProblem(path, target);
      if (problem) throw unsafe(`the symlink ${shown} is not restored: ${problem}`);
      return { kind: 'symlink', path, target };
    }
    case 'link': {
      const targetSegments = safeSegments(header.linkname ?? '');
      if (!targetSegments || targetSegments[0] !== SITE_PREFIX || targetSegments.length < 2) {
        throw unsafe(
          `the hard link ${shown} points to ${JSON.stringify(header.linkname ?? '')}: only links to files of the site directory are restored`,
        );
      }
      return { kind: 'hardlink', path, target: targetSegments.slice(1).join('/') };
    }
    // Types tar-stream does not name (sparse files, GNU extensions) arrive as other strings.
    case 'block-device':
    case 'character-device':
    case 'fifo':
    default:
      throw unsafe(
        `the archive entry ${shown} is a ${type ?? 'entry of unknown type'}: only files, directories and links are restored`,
      );
  }
}

// --- Extracting -------------------------------------------------------------------------------------

export interface ExtractResult {
  files: number;
  bytes: number;
  listing: SiteArchiveFilesPart;
  database: { bytes: number; sha256: string } | null;
  /** A delta's present.list: every path the site directory held; null for a full archive. */
  present: string[] | null;
  manifest: SiteArchiveManifest;
}

/**
 * Extracts a site archive (the tar stream, already gunzipped) into `targetDir`, an empty directory
 * of its own. Every entry is planned (planEntry) before anything is written; files are created
 * with O_EXCL (an existing path, a link above all, is never written through) and never below a
 * symlink extracted earlier. database.sql goes to `onDatabase`, which must consume the stream.
 * Throws UNSAFE_ARCHIVE on the first entry refused, or when the content does not match the
 * manifest; the caller removes targetDir then.
 */
export async function extractSiteArchive(
  extract: Extract,
  targetDir: string,
  options: {
    onDatabase: (content: Readable) => Promise<void>;
    onSkip?: (path: string, why: string) => void;
    onFile?: (bytes: number) => void;
  },
): Promise<ExtractResult> {
  const listing = new FilesListing();
  const files = new Set<string>();
  const links = new Set<string>();
  const seen = new Set<string>();
  let manifestText: string | undefined;
  let database: { bytes: number; sha256: string } | null = null;
  let present: string[] | null = null;
  let fileCount = 0;

  const checkPlace = (path: string, shown: string) => {
    if (seen.has(path)) throw unsafe(`the archive has ${shown} twice`);
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth += 1) {
      const parent = segments.slice(0, depth).join('/');
      if (links.has(parent)) throw unsafe(`the archive entry ${shown} lies below the symlink ${parent}`);
      if (files.has(parent)) throw unsafe(`the archive entry ${shown} lies below the file ${parent}`);
    }
    seen.add(path);
  };

  for await (const entry of extract) {
    const { header } = entry;
    if (manifestText !== undefined) {
      throw unsafe(
        `the archive has entries after its manifest (${JSON.stringify(header.name.slice(0, 200))})`,
      );
    }
    const plan = planEntry(header);
    const shown = JSON.stringify(header.name.slice(0, 200));
    switch (plan.kind) {
      case 'manifest': {
        if ((header.size ?? 0) > MAX_MANIFEST_BYTES)
          throw unsafe('the archive manifest is larger than 1 MiB');
        const chunks: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
        manifestText = Buffer.concat(chunks).toString('utf8');
        break;
      }
      case 'present': {
        if (present) throw unsafe('the archive has two present.list entries');
        if ((header.size ?? 0) > MAX_PRESENT_BYTES) throw unsafe('present.list is larger than 64 MiB');
        const chunks: Buffer[] = [];
        for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
        present = Buffer.concat(chunks).toString('utf8').split('\0').filter(Boolean);
        for (const path of present) {
          if (!safeSegments(path))
            throw unsafe(`present.list names an unsafe path ${JSON.stringify(path.slice(0, 200))}`);
        }
        break;
      }
      case 'database': {
        if (database) throw unsafe('the archive has two databases');
        const tap = hashingTap();
        entry.pipe(tap.stream);
        await options.onDatabase(tap.stream);
        database = tap.digest();
        break;
      }
      case 'site-root':
        entry.resume();
        break;
      case 'directory': {
        checkPlace(plan.path, shown);
        const full = join(targetDir, plan.path);
        await mkdir(full, { recursive: true, mode: 0o755 });
        await chmod(full, ((header.mode ?? 0o755) & 0o777) | 0o700);
        listing.add('d', plan.path, 0, '-');
        entry.resume();
        break;
      }
      case 'file': {
        checkPlace(plan.path, shown);
        const tap = hashingTap();
        const skipped = SITE_EXCLUDED.has(plan.path);
        if (skipped) {
          // Counted in the listing (the manifest covers it) but not written: see SITE_EXCLUDED.
          options.onSkip?.(plan.path, 'settings are regenerated, never restored');
          await pipeline(entry, tap.stream, new PassThrough().resume());
        } else {
          const full = join(targetDir, plan.path);
          await mkdir(join(full, '..'), { recursive: true, mode: 0o755 });
          const mode = (header.mode ?? 0o644) & 0o777;
          await pipeline(entry, tap.stream, createWriteStream(full, { flags: 'wx', mode: mode | 0o600 }));
          await chmod(full, mode | 0o600);
          if (header.mtime) await lutimes(full, header.mtime, header.mtime);
          files.add(plan.path);
          fileCount += 1;
        }
        const { sha256, bytes } = tap.digest();
        listing.add('f', plan.path, bytes, sha256);
        options.onFile?.(bytes);
        break;
      }
      case 'symlink': {
        checkPlace(plan.path, shown);
        const full = join(targetDir, plan.path);
        await mkdir(join(full, '..'), { recursive: true, mode: 0o755 });
        await symlink(plan.target, full);
        links.add(plan.path);
        await refuseEscapingLink(targetDir, plan.path, shown);
        listing.add('l', plan.path, 0, plan.target);
        entry.resume();
        break;
      }
      case 'hardlink': {
        checkPlace(plan.path, shown);
        if (!files.has(plan.target)) {
          throw unsafe(
            `the hard link ${shown} points to ${plan.target}, which is not a file extracted before it`,
          );
        }
        const full = join(targetDir, plan.path);
        await mkdir(join(full, '..'), { recursive: true, mode: 0o755 });
        await link(join(targetDir, plan.target), full);
        files.add(plan.path);
        listing.add('h', plan.path, 0, plan.target);
        entry.resume();
        break;
      }
    }
  }

  if (manifestText === undefined)
    throw unsafe('the archive has no manifest.json: it is not a complete site archive');
  // Against the whole tree: a link extracted later can change where an earlier one leads.
  for (const path of links) await refuseEscapingLink(targetDir, path, JSON.stringify(`site/${path}`));
  const manifest = parseManifest(manifestText);
  const computed = listing.finish();
  if (computed.sha256 !== manifest.files.sha256 || computed.entries !== manifest.files.entries) {
    throw unsafe(
      `the site files do not match the manifest: ${computed.entries} entries with listing sha256 ${computed.sha256}, ` +
        `the manifest says ${manifest.files.entries} with ${manifest.files.sha256}`,
    );
  }
  if (Boolean(manifest.database) !== Boolean(database)) {
    throw unsafe(
      manifest.database
        ? 'the manifest lists a database but the archive has none'
        : 'the archive has a database the manifest does not list',
    );
  }
  if (
    manifest.database &&
    database &&
    (manifest.database.sha256 !== database.sha256 || manifest.database.bytes !== database.bytes)
  ) {
    throw unsafe(
      `database.sql does not match the manifest: ${database.bytes} bytes with sha256 ${database.sha256}, ` +
        `the manifest says ${manifest.database.bytes} with ${manifest.database.sha256}`,
    );
  }
  if (Boolean(manifest.delta) !== Boolean(present)) {
    throw unsafe(
      manifest.delta
        ? 'the manifest says the archive is a delta but it has no present.list'
        : 'the archive has a present.list but the manifest does not say it is a delta',
    );
  }
  return { files: fileCount, bytes: computed.bytes, listing: computed, database, present, manifest };
}

/**
 * Merges a delta, extracted (with every check of a restore) into `fresh`, into the site directory
 * `target`, which holds the copy the delta was taken against: every path of `target` that
 * present.list does not name is removed (settings.php is kept: archives never hold it), then each
 * directory of the delta is made or kept and each file and symlink renamed over its path (same
 * filesystem: each replacement is atomic). Top-down, from lstat: a symlink in `target` where the
 * delta has a directory is replaced, never followed. `fresh` is left with the directories only.
 */
export async function mergeDelta(
  fresh: string,
  target: string,
  present: ReadonlySet<string>,
): Promise<{ removed: number; moved: number }> {
  let removed = 0;
  let moved = 0;
  const prune = async (relative: string): Promise<void> => {
    for (const name of await readdir(join(target, relative))) {
      const path = relative ? `${relative}/${name}` : name;
      if (!relative && SITE_EXCLUDED.has(path)) continue;
      const full = join(target, path);
      if (!present.has(path)) {
        await rm(full, { recursive: true, force: true });
        removed += 1;
      } else if ((await lstat(full)).isDirectory()) {
        await prune(path);
      }
    }
  };
  const place = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(fresh, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const from = join(fresh, path);
      const to = join(target, path);
      const stats = await lstat(from);
      const existing = await lstat(to).catch(() => undefined);
      if (stats.isDirectory()) {
        if (existing && !existing.isDirectory()) await rm(to, { force: true });
        if (existing?.isDirectory()) await chmod(to, stats.mode & 0o777);
        else await mkdir(to, { mode: stats.mode & 0o777 });
        await place(path);
      } else {
        if (existing?.isDirectory()) await rm(to, { recursive: true, force: true });
        await rename(from, to);
        moved += 1;
      }
    }
  };
  await prune('');
  await place('');
  return { removed, moved };
}

async function refuseEscapingLink(targetDir: string, path: string, shown: string): Promise<void> {
  if (!(await resolvesInside(targetDir, path))) {
    throw unsafe(`the symlink ${shown} leads outside the site directory through other links`);
  }
}

export function parseManifest(text: string): SiteArchiveManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw unsafe('manifest.json is not valid JSON');
  }
  const manifest = value as Partial<SiteArchiveManifest> | null;
  const files = manifest?.files;
  const database = manifest?.database;
  const isDigest = (part: unknown): boolean =>
    typeof part === 'object' &&
    part !== null &&
    typeof (part as { sha256?: unknown }).sha256 === 'string' &&
    typeof (part as { bytes?: unknown }).bytes === 'number';
  if (
    !manifest ||
    manifest.format !== MANIFEST_FORMAT ||
    typeof manifest.domain !== 'string' ||
    !isDigest(files) ||
    typeof files?.entries !== 'number' ||
    (database !== null && !isDigest(database))
  ) {
    throw unsafe(`manifest.json is not a ${MANIFEST_FORMAT} manifest`);
  }
  return manifest as SiteArchiveManifest;
}
