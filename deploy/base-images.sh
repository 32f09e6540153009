#!/usr/bin/env bash
# Base images for machines that cannot pull from a registry: built from Debian's packages alone.
#
#   sudo deploy/base-images.sh [MIRROR]        (needs debootstrap and docker; MIRROR: your Debian mirror)
#
# IMAGES="python redis" builds only those. EXTRA_CA=/path/ca.pem adds a CA to the Python image's trust
# store and to pip's (a network whose proxy inspects TLS, a private package index).
#
# Makes three local images and prints the lines to put in .env so compose uses them:
#   kneeguard-base/python:3.11    python3.11 + venv on Debian bookworm (stands in for python:3.11-slim)
#   kneeguard-base/postgres:15    PostgreSQL 15 with the official image's POSTGRES_USER/PASSWORD/DB contract
#   kneeguard-base/redis:7        Redis 7, data in /data
# Stop PostgreSQL with SIGINT (fast shutdown; compose sets stop_signal), as the official image does.
# Debian bookworm ships PostgreSQL 15, not 16: a database created by one cannot be opened by the other.
set -euo pipefail
MIRROR="${1:-http://deb.debian.org/debian}"
SUITE=bookworm
WORK="$(mktemp -d /var/tmp/kneeguard-base.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

debootstrap --variant=minbase "$SUITE" "$WORK/root" "$MIRROR" >/dev/null
printf '#!/bin/sh\nexit 101\n' >"$WORK/root/usr/sbin/policy-rc.d"  # no service starts in a chroot
# Slim, as Debian's `-slim` images (and so python:3.11-slim) are: dpkg installs no documentation,
# manual pages or translations (32 MB of translations in a minbase alone), now or later.
cat >"$WORK/root/etc/dpkg/dpkg.cfg.d/slim" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
CFG
find "$WORK/root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
rm -rf "$WORK/root/usr/share/info"/* "$WORK/root/usr/share/groff"/*
chmod +x "$WORK/root/usr/sbin/policy-rc.d"

# image NAME PACKAGES... : a copy of the base with PACKAGES installed, imported with $CHANGES applied.
image() {
  local name="$1"; shift
  case " ${IMAGES:-python postgres redis} " in *" $(basename "${name%%:*}") "*) ;; *) return 0 ;; esac
  local root="$WORK/$(basename "${name%%:*}")"
  cp -a "$WORK/root" "$root"
  if [ -n "${PREPARE:-}" ]; then chroot "$root" sh -c "$PREPARE"; fi
  chroot "$root" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $* >/dev/null && apt-get clean && \
    rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*"
  if [ -n "${AFTER:-}" ]; then chroot "$root" sh -c "$AFTER"; fi
  local args=()
  for change in "${CHANGES[@]}"; do args+=(--change "$change"); done
  tar -C "$root" -c . | docker import "${args[@]}" - "$name" >/dev/null
  rm -rf "$root"
  echo "built $name ($(docker image inspect -f '{{.Size}}' "$name" | numfmt --to=iec))" >&2
}

CHANGES=('ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' 'CMD ["python3"]')
AFTER=""
if [ -n "${EXTRA_CA:-}" ]; then
  install -D -m 644 "$EXTRA_CA" "$WORK/root/usr/local/share/ca-certificates/extra-ca.crt"
  AFTER="update-ca-certificates >/dev/null && printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >/etc/pip.conf"
fi
PREPARE="" image kneeguard-base/python:3.11 python3 python3-venv python-is-python3 ca-certificates

CHANGES=('ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:/usr/bin:/bin LANG=C.UTF-8'
         'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]' 'CMD ["postgres"]')
PREPARE="mkdir -p /etc/postgresql-common && echo 'create_main_cluster = false' \
  >/etc/postgresql-common/createcluster.conf"
AFTER="install -d -o postgres -g postgres -m 700 /var/lib/postgresql/data /var/run/postgresql"
cat >"$WORK/root/usr/local/bin/postgres-entrypoint" <<'SH'
#!/bin/sh
# The official image's contract: a first start creates POSTGRES_USER/POSTGRES_DB with
# POSTGRES_PASSWORD; then PostgreSQL replaces this script (exec), so it receives the stop signal.
set -eu
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pw="$(mktemp)"; printf '%s' "$POSTGRES_PASSWORD" >"$pw"; chown postgres "$pw"
  as_postgres initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  as_postgres pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  db="${POSTGRES_DB:-${POSTGRES_USER:-postgres}}"  # the official image's default: the user's name
  if [ "$db" != postgres ]; then as_postgres createdb -U "${POSTGRES_USER:-postgres}" "$db"; fi
  as_postgres pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$@" -D "$PGDATA" -c listen_addresses='*'
SH
chmod +x "$WORK/root/usr/local/bin/postgres-entrypoint"
rm -f "$WORK/root/usr/local/share/ca-certificates/extra-ca.crt"
image kneeguard-base/postgres:15 postgresql-15
rm "$WORK/root/usr/local/bin/postgres-entrypoint"

CHANGES=('ENV PATH=/usr/bin:/bin' 'WORKDIR /data' 'USER redis' 'CMD ["redis-server", "--dir", "/data"]')
PREPARE="" AFTER="install -d -o redis -g redis /data"
image kneeguard-base/redis:7 redis-server

cat <<ENV
# Put these in .env so compose builds and runs on the local base images:
PYTHON_IMAGE=kneeguard-base/python:3.11
POSTGRES_IMAGE=kneeguard-base/postgres:15
REDIS_IMAGE=kneeguard-base/redis:7
ENV
