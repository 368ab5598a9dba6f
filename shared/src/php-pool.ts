import { must, printable, validateAbsolutePath, validateHostname, ValidationError } from './validation.js';

/**
 * A site's own PHP-FPM pool, as Berth writes it to `<root>/config/php-fpm/<domain>.conf`: its own
 * Unix user and group, its own socket, its own limits, and `open_basedir` kept to its own
 * directories and the platforms, so that one site's PHP reads neither another site's files nor its
 * settings (the files' owners and modes refuse it too: open_basedir is the second wall, not the
 * only one).
 *
 * The few PHP settings a site may change are an allow-list (PHP_POOL_SETTINGS), each with its form
 * and range; the rest of the pool is Berth's. Every input is validated before it is written, so no
 * value can close a line or start a directive.
 */

/** One PHP setting a site may have: its form (for messages), its default and its parser. */
export interface PhpPoolSetting {
  /** The allowed form, as a person reads it: "a size from 128M to 2G, like 256M". */
  readonly form: string;
  readonly default: string;
  /** The value as written in the pool file, or undefined when it is not of the allowed form. */
  parse(input: unknown): string | undefined;
}

const UNITS = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;

/** A size as php.ini writes it (`512K`, `256M`, `2G`), from `min` to `max`. */
function size(min: string, max: string, fallback: string, example: string): PhpPoolSetting {
  const low = sizeBytes(min)!;
  const high = sizeBytes(max)!;
  return {
    form: `a size from ${min} to ${max}, like ${example} (a whole number and K, M or G)`,
    default: fallback,
    parse(input) {
      if (typeof input !== 'string') return undefined;
      const value = input.trim().toUpperCase();
      const bytes = sizeBytes(value);
      return bytes !== undefined && bytes >= low && bytes <= high ? value : undefined;
    },
  };
}

/** The bytes of a size such as `256M`; undefined when it is not one. */
export function sizeBytes(value: string): number | undefined {
  const match = /^([1-9]\d{0,6})([KMG])$/.exec(value);
  return match ? Number(match[1]) * UNITS[match[2] as keyof typeof UNITS] : undefined;
}

/** The largest request body the site's PHP takes, in megabytes (nginx's client_max_body_size). */
export function postMaxMegabytes(settings: PhpSettings): number {
  return Math.ceil(sizeBytes(withDefaults(settings).post_max_size)! / UNITS.M);
}

/** A whole number from `min` to `max` (a JSON number, or its digits in a string). */
function whole(min: number, max: number, fallback: number, unit = ''): PhpPoolSetting {
  return {
    form: `a whole number from ${min} to ${max}${unit}`,
    default: String(fallback),
    parse(input) {
      const text = typeof input === 'number' ? String(input) : typeof input === 'string' ? input.trim() : '';
      if (!/^\d{1,9}$/.test(text)) return undefined;
      const value = Number(text);
      return value >= min && value <= max ? String(value) : undefined;
    },
  };
}

const onOff: PhpPoolSetting = {
  form: 'on or off',
  default: 'off',
  parse(input) {
    if (input === true || input === 'on' || input === 'On') return 'on';
    if (input === false || input === 'off' || input === 'Off') return 'off';
    return undefined;
  },
};

/**
 * The PHP settings a site may set, with their defaults (what a site gets when it sets nothing).
 * The defaults suit a Drupal site: 256M of memory (Drupal 10 with a few dozen modules needs more
 * than PHP's 128M), uploads as large as the vhost lets a body be (64M), 3000 input variables (the
 * permissions page of a site with many roles and modules posts more than PHP's 1000), and five
 * workers at most, as Debian's own pool.
 */
export const PHP_POOL_SETTINGS = {
  memory_limit: size('128M', '2G', '256M', '256M'),
  upload_max_filesize: size('1M', '2G', '64M', '64M'),
  post_max_size: size('1M', '2G', '64M', '64M'),
  max_execution_time: whole(1, 3600, 60, ' (seconds)'),
  max_input_vars: whole(1000, 100_000, 3000),
  'pm.max_children': whole(1, 200, 5),
  display_errors: onOff,
} as const satisfies Record<string, PhpPoolSetting>;

export type PhpPoolSettingName = keyof typeof PHP_POOL_SETTINGS;
export type PhpSettings = Record<string, string>;

export const PHP_POOL_SETTING_NAMES = Object.keys(PHP_POOL_SETTINGS) as PhpPoolSettingName[];

function isSettingName(name: string): name is PhpPoolSettingName {
  return Object.hasOwn(PHP_POOL_SETTINGS, name);
}

/**
 * Validates a site's PHP settings: only the keys of PHP_POOL_SETTINGS, each of its form (values
 * normalised: `256m` is `256M`). Returns the keys given, without defaults; throws a
 * ValidationError that names the key and the allowed form, or, for a key not on the list, the
 * keys that are.
 */
export function parsePhpSettings(input: Record<string, unknown>): PhpSettings {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError({ field: 'settings', message: 'settings must be an object of PHP settings' });
  }
  const settings: PhpSettings = {};
  for (const [name, value] of Object.entries(input)) {
    if (!isSettingName(name)) {
      throw new ValidationError({
        field: `settings.${printable(name.slice(0, 64))}`,
        message: `"${printable(name)}" is not a PHP setting a site may change; allowed: ${PHP_POOL_SETTING_NAMES.join(', ')}`,
      });
    }
    const setting: PhpPoolSetting = PHP_POOL_SETTINGS[name];
    const parsed = setting.parse(value);
    if (parsed === undefined) {
      throw new ValidationError({
        field: `settings.${name}`,
        message: `${name} must be ${setting.form}, not ${printable(JSON.stringify(value) ?? String(value))}`,
      });
    }
    settings[name] = parsed;
  }
  const all = withDefaults(settings);
  // PHP refuses an upload whose request is larger than post_max_size whatever upload_max_filesize says.
  if (sizeBytes(all.post_max_size)! < sizeBytes(all.upload_max_filesize)!) {
    throw new ValidationError({
      field: 'settings.post_max_size',
      message: `post_max_size (${all.post_max_size}) must be at least upload_max_filesize (${all.upload_max_filesize}): a request holds the whole upload`,
    });
  }
  return settings;
}

/** Every allowed setting: the ones given, the defaults for the others. */
export function withDefaults(settings: PhpSettings): Record<PhpPoolSettingName, string> {
  return Object.fromEntries(
    PHP_POOL_SETTING_NAMES.map((name) => [name, settings[name] ?? PHP_POOL_SETTINGS[name].default]),
  ) as Record<PhpPoolSettingName, string>;
}

/** A Unix user, group or pool name as Debian's tools take it (and safe in a pool file). */
export const POOL_NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

export function validatePoolName(field: string, input: unknown): string {
  if (typeof input !== 'string' || !POOL_NAME_PATTERN.test(input)) {
    throw new ValidationError({
      field,
      message: `${field} ${typeof input === 'string' ? `"${printable(input)}" ` : ''}must be 1-32 characters of a-z, 0-9, "_" or "-", starting with a letter or "_"`,
    });
  }
  return input;
}

export interface PhpPoolOptions {
  /** The pool's name (`[name]`): Berth names it after its user. */
  pool: string;
  user: string;
  group: string;
  /** The pool's unix socket. */
  socket: string;
  /** Who may connect besides the pool's own user: nginx's user (else the pool's user owns it). */
  socketOwner?: string;
  /** The directories the site's PHP may open files in (open_basedir); each is a directory. */
  openBasedir: string[];
  /** The site's own temporary directory: uploads, sessions, tempnam(). */
  tmpDir: string;
  /** Validated site settings (parsePhpSettings); the defaults fill in the others. */
  settings: PhpSettings;
  /** A file PHP's errors go to (writable by the pool's user); else to nginx's error log, as today. */
  errorLog?: string;
  /** The site it serves, written in the file's header. */
  domain?: string;
  /** A twin's pool (a blue-green copy): the site whose user and files it shares. */
  twinOf?: string;
}

/** How long nginx waits for PHP (fastcgi_read_timeout in nginx-vhost.ts). */
const NGINX_PHP_TIMEOUT_S = 300;

/** Renders a site's pool file; throws a ValidationError for any unsafe input. */
export function renderPhpPool(options: PhpPoolOptions): string {
  const pool = validatePoolName('pool', options.pool);
  const user = validatePoolName('user', options.user);
  const group = validatePoolName('group', options.group);
  if (user === 'root' || group === 'root') {
    throw new ValidationError({ field: 'user', message: 'a site pool never runs as root' });
  }
  const socketOwner =
    options.socketOwner === undefined ? user : validatePoolName('socketOwner', options.socketOwner);
  const socket = must(validateAbsolutePath('socket', options.socket));
  const tmpDir = must(validateAbsolutePath('tmpDir', options.tmpDir));
  if (options.openBasedir.length === 0) {
    throw new ValidationError({ field: 'openBasedir', message: 'openBasedir needs at least one directory' });
  }
  // A trailing slash: `/var/berth/sites/a.example` alone would let PHP into `a.example.org` too.
  const basedirs = [...options.openBasedir, tmpDir].map(
    (dir, index) => `${must(validateAbsolutePath(`openBasedir[${index}]`, dir)).replace(/\/?$/, '/')}`,
  );
  const errorLog =
    options.errorLog === undefined ? undefined : must(validateAbsolutePath('errorLog', options.errorLog));
  const domain = options.domain === undefined ? undefined : must(validateHostname('domain', options.domain));
  const twinOf = options.twinOf === undefined ? undefined : must(validateHostname('twinOf', options.twinOf));
  const settings = withDefaults(parsePhpSettings(options.settings));
  const maxExecution = Number(settings.max_execution_time);

  const lines = [
    `; PHP-FPM pool${domain ? ` of ${domain}` : ''}, written by Berth (php.write-pool): do not edit, Berth rewrites it.`,
    ...(twinOf ? [`; twin of ${twinOf}`] : []),
    `[${pool}]`,
    `user = ${user}`,
    `group = ${group}`,
    `listen = ${socket}`,
    // Only nginx (and the pool's own user) may connect: another site's PHP cannot pass requests
    // to this pool and run as this site.
    `listen.owner = ${socketOwner}`,
    `listen.group = ${group}`,
    'listen.mode = 0660',
    '',
    // ondemand: a server hosts many sites and most of them are idle most of the time; a worker is
    // forked when a request comes and ends after 10 s without one, so an idle site holds no memory
    // (dynamic or static would keep at least one worker per site, with its own copy of Drupal's
    // bootstrap). The cost is a fork, a few milliseconds, on the first request after a pause.
    'pm = ondemand',
    `pm.max_children = ${settings['pm.max_children']}`,
    'pm.process_idle_timeout = 10s',
    // A worker is renewed now and then: whatever a module leaks does not pile up.
    'pm.max_requests = 500',
    // max_execution_time counts CPU time; this is the wall clock, so that a worker waiting on
    // something never outlives the request nginx has already given up on.
    `request_terminate_timeout = ${Math.max(NGINX_PHP_TIMEOUT_S, maxExecution)}s`,
    // Only .php files are run as PHP, whatever nginx is made to ask for.
    'security.limit_extensions = .php',
    '',
    // php_admin_*: the site's own code (ini_set, set_time_limit, .user.ini) cannot change these.
    `php_admin_value[open_basedir] = ${basedirs.join(':')}`,
    `php_admin_value[upload_tmp_dir] = ${tmpDir}`,
    `php_admin_value[session.save_path] = ${tmpDir}`,
    `php_admin_value[sys_temp_dir] = ${tmpDir}`,
    `php_admin_value[memory_limit] = ${settings.memory_limit}`,
    `php_admin_value[upload_max_filesize] = ${settings.upload_max_filesize}`,
    `php_admin_value[post_max_size] = ${settings.post_max_size}`,
    `php_admin_value[max_execution_time] = ${settings.max_execution_time}`,
    `php_admin_value[max_input_vars] = ${settings.max_input_vars}`,
    `php_admin_flag[display_errors] = ${settings.display_errors}`,
    'php_admin_flag[log_errors] = on',
    ...(errorLog ? [`php_admin_value[error_log] = ${errorLog}`] : []),
    // One opcache serves every pool of this PHP-FPM: a script another site cached is handed out
    // only to a worker that may read its file.
    'php_admin_flag[opcache.validate_permission] = on',
    // opcache.revalidate_freq is left as the server sets it (php.ini).
  ];
  return `${lines.join('\n')}\n`;
}

/** What a pool file Berth wrote says: read back by the agent (whose user, which socket). */
export interface PhpPoolFile {
  pool: string;
  user: string;
  group: string;
  socket: string;
  openBasedir: string[];
  tmpDir: string | undefined;
  /** The allowed settings as the file has them. */
  settings: Record<PhpPoolSettingName, string>;
  twinOf: string | undefined;
}

/**
 * Reads a pool file written by renderPhpPool; undefined when it is not one (no pool section, no
 * user or no socket). Each value is validated again, as if it came from anywhere.
 */
export function readPhpPool(text: string): PhpPoolFile | undefined {
  const value = (key: string): string | undefined => {
    const escaped = key.replace(/[.[\]]/g, (character) => `\\${character}`);
    return new RegExp(`^${escaped} = (.+)$`, 'm').exec(text)?.[1]?.trim();
  };
  const pool = /^\[([^\]\n]+)\]$/m.exec(text)?.[1];
  const user = value('user');
  const group = value('group');
  const socket = value('listen');
  if (
    !pool ||
    !user ||
    !group ||
    !socket ||
    !POOL_NAME_PATTERN.test(pool) ||
    !POOL_NAME_PATTERN.test(user) ||
    !POOL_NAME_PATTERN.test(group) ||
    !validateAbsolutePath('listen', socket).ok
  ) {
    return undefined;
  }
  const settings = withDefaults({});
  const fileValue: Record<PhpPoolSettingName, string | undefined> = {
    memory_limit: value('php_admin_value[memory_limit]'),
    upload_max_filesize: value('php_admin_value[upload_max_filesize]'),
    post_max_size: value('php_admin_value[post_max_size]'),
    max_execution_time: value('php_admin_value[max_execution_time]'),
    max_input_vars: value('php_admin_value[max_input_vars]'),
    'pm.max_children': value('pm.max_children'),
    display_errors: value('php_admin_flag[display_errors]'),
  };
  for (const name of PHP_POOL_SETTING_NAMES) {
    const parsed = PHP_POOL_SETTINGS[name].parse(fileValue[name]);
    if (parsed !== undefined) settings[name] = parsed;
  }
  const twinOf = /^; twin of (\S+)$/m.exec(text)?.[1];
  const tmpDir = validateAbsolutePath('tmpDir', value('php_admin_value[sys_temp_dir]'));
  return {
    pool,
    user,
    group,
    socket,
    openBasedir: (value('php_admin_value[open_basedir]') ?? '').split(':').filter(Boolean),
    tmpDir: tmpDir.ok ? tmpDir.value : undefined,
    settings,
    twinOf: twinOf && validateHostname('twinOf', twinOf).ok ? twinOf : undefined,
  };
}
