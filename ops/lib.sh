# Shared helpers for the ops scripts (sourced, not run).

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "run as root: $*"; fi
}

apt_updated=""
apt_install() {
  # Installs the named Debian packages that are missing; runs apt-get update once first.
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

require_node() {
  # Berth needs Node.js 20.19 or newer (require of ES modules, the engines of its dependencies).
  if ! command -v node >/dev/null; then apt_install nodejs npm; fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    die "Node.js $(node --version) is too old: Berth needs 20.19 or newer (Debian 13 ships it; or use NodeSource)"
}

npm_install() {
  # npm ci when the lockfile changed since the last install, so repeated runs are quick.
  local stamp=node_modules/.berth-lock-sha
  local want; want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
}

mariadb_answers() { mariadb-admin --protocol=tcp -h 127.0.0.1 -u root ping >/dev/null 2>&1; }

ensure_mariadb() {
  # MariaDB running on 127.0.0.1:3306, root reachable without a password from this machine (the
  # Debian default through the local socket; the tests also use loopback TCP). With --binary-log, a
  # server started here keeps a row-based binary log: a migrate's rollback point then holds no
  # writes for a dump (README, Holding writes). The tests start theirs without, as CI's is.
  local binlog=()
  if [ "${1:-}" = "--binary-log" ]; then
    binlog=(--log-bin=mariadb-bin --binlog-format=ROW --server-id=1 --binlog-expire-logs-seconds=172800)
  fi
  if ! mariadb_answers; then
    apt_install mariadb-server mariadb-client
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql "${binlog[@]}"
    for _ in $(seq 1 30); do mariadb_answers && break; sleep 1; done
  fi
  mariadb_answers || die "MariaDB does not answer on 127.0.0.1:3306 as root without a password"
  if [ "${#binlog[@]}" -gt 0 ] && [ "$(mariadb -N -B --protocol=tcp -h 127.0.0.1 -u root -e 'SELECT @@log_bin' 2>/dev/null)" != "1" ]; then
    say "MariaDB was running already and keeps no binary log: migrates dump while writes wait (README, Holding writes)"
  fi
}
