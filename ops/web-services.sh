#!/usr/bin/env bash
# The web side of a Berth server: nginx, PHP-FPM (with PHP's MySQL driver), PHP's CLI (drush), the
# MariaDB client, and git and Composer (platform builds), from Debian's packages. Idempotent: safe to run again; it only changes what differs.
#
#   ops/web-services.sh                  install, include Berth's vhosts in the system nginx, start both
#   ops/web-services.sh --packages-only  install the packages only (the test suite runs its own private
#                                        nginx and PHP-FPM: test/support/web-stack.ts)
#
# BERTH_ROOT (default /var/berth) is where the agent keeps platforms/, sites/, config/nginx/ and
# config/php-fpm/ (the sites' own PHP-FPM pools, included from pool.d/berth.conf).
set -euo pipefail
cd "$(dirname "$0")/.."
. ops/lib.sh

packages_only=""
for arg in "$@"; do
  case "$arg" in
    --packages-only) packages_only=1 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $arg (see --help)" ;;
  esac
done

apt_install nginx php-fpm php-mysql php-cli mariadb-client git composer
[ -n "$packages_only" ] && exit 0

berth_root=${BERTH_ROOT:-/var/berth}
case "$berth_root" in /*) ;; *) die "BERTH_ROOT must be an absolute path, not $berth_root" ;; esac
as_root mkdir -p "$berth_root/config/nginx" "$berth_root/config/php-fpm" "$berth_root/run/php-fpm"
# The sites' own users (their PHP-FPM pools) pass through the root to their sites.
as_root chmod 755 "$berth_root"

# Debian's nginx.conf includes /etc/nginx/conf.d/*.conf inside http {}: one snippet brings in every
# vhost the agent writes. Rewritten only when it differs, so a second run changes nothing.
snippet=/etc/nginx/conf.d/berth.conf
want="# Berth: the sites' vhosts, written by the agent (ops/web-services.sh).
include $berth_root/config/nginx/*.conf;"
if [ "$(as_root cat "$snippet" 2>/dev/null || true)" != "$want" ]; then
  say "nginx: including $berth_root/config/nginx/*.conf ($snippet)"
  printf '%s\n' "$want" | as_root tee "$snippet" >/dev/null
fi

php_version=$(php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;')
fpm_service=php$php_version-fpm
fpm_binary=/usr/sbin/php-fpm$php_version
[ -x "$fpm_binary" ] || die "$fpm_binary is missing after installing php-fpm"
as_root nginx -t -q || die "nginx's configuration is invalid (nginx -t above); fix it and run this again"

# The sites' own pools (the agent's php.write-pool writes $berth_root/config/php-fpm/<domain>.conf).
# Debian's php-fpm.conf includes pool.d/*.conf, and PHP-FPM follows an include= inside an included
# file, so a snippet there brings them in without editing php-fpm.conf; its [global] section also
# lets a reload finish the requests in flight (up to 10 s) instead of cutting them off (the
# default, 0, kills every worker at once). The agent checks that the include is there.
fpm_conf=/etc/php/$php_version/fpm/php-fpm.conf
fpm_snippet=/etc/php/$php_version/fpm/pool.d/berth.conf
fpm_want="; Berth: the sites' own PHP-FPM pools, written by the agent (ops/web-services.sh).
[global]
process_control_timeout = 10s
include=$berth_root/config/php-fpm/*.conf"
fpm_changed=""
if [ "$(as_root cat "$fpm_snippet" 2>/dev/null || true)" != "$fpm_want" ]; then
  say "PHP-FPM: including $berth_root/config/php-fpm/*.conf ($fpm_snippet)"
  fpm_before=$(as_root cat "$fpm_snippet" 2>/dev/null || true)
  printf '%s\n' "$fpm_want" | as_root tee "$fpm_snippet" >/dev/null
  if ! as_root "$fpm_binary" -t --fpm-config "$fpm_conf" -R; then
    # Never leave PHP-FPM a configuration it cannot load: its next reload would stop it.
    if [ -n "$fpm_before" ]; then printf '%s\n' "$fpm_before" | as_root tee "$fpm_snippet" >/dev/null
    else as_root rm -f "$fpm_snippet"; fi
    die "PHP-FPM refused its configuration with $fpm_snippet (php-fpm -t above); $fpm_snippet put back"
  fi
  fpm_changed=1
fi

running() { [ -f "$1" ] && as_root kill -0 "$(cat "$1")" 2>/dev/null; }

if [ -d /run/systemd/system ]; then
  as_root systemctl enable --now "$fpm_service" nginx
  if [ -n "$fpm_changed" ]; then as_root systemctl reload "$fpm_service"; fi
  as_root systemctl reload nginx
else
  # No systemd (containers, CI): start the daemons directly, unless they already run.
  as_root mkdir -p /run/php
  if running "/run/php/php$php_version-fpm.pid"; then
    say "$fpm_service is running${fpm_changed:+: reloading}"
    if [ -n "$fpm_changed" ]; then as_root kill -USR2 "$(as_root cat "/run/php/php$php_version-fpm.pid")"; fi
  else
    say "starting $fpm_service"
    as_root "$fpm_binary" --daemonize --fpm-config "/etc/php/$php_version/fpm/php-fpm.conf"
  fi
  if running /run/nginx.pid; then
    say "nginx is running: reloading"
    as_root nginx -s reload
  else
    say "starting nginx"
    as_root nginx
  fi
fi

for _ in $(seq 1 20); do [ -S "/run/php/php$php_version-fpm.sock" ] && break; sleep 0.25; done
[ -S "/run/php/php$php_version-fpm.sock" ] || die "PHP-FPM did not create /run/php/php$php_version-fpm.sock"
say "web services ready: vhosts in $berth_root/config/nginx, PHP-FPM at unix:/run/php/php$php_version-fpm.sock, sites' pools in $berth_root/config/php-fpm"
