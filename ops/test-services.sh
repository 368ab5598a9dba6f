#!/usr/bin/env bash
# Makes sure the services the test suite talks to are installed and running on this machine:
# PostgreSQL on 127.0.0.1:5432 (user postgres, no password) and MariaDB on 127.0.0.1:3306 (root, no
# password). Idempotent: on a machine that has them (CI), it only checks. Meant for test machines:
# on a fresh one it sets PostgreSQL's loopback connections to trust.
set -euo pipefail
cd "$(dirname "$0")/.."
. ops/lib.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  apt_install postgresql postgresql-client
  cluster=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$cluster/main/pg_hba.conf
  if ! as_root grep -q '^host all postgres 127.0.0.1/32 trust' "$hba"; then
    say "PostgreSQL: trusting loopback connections for the test suite ($hba)"
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main start 2>/dev/null || as_root pg_ctlcluster "$cluster" main reload
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL does not answer on 127.0.0.1:5432"

ensure_mariadb
