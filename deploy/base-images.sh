#!/usr/bin/env bash
# Base images for machines that cannot pull from a registry: built from Debian's packages alone.
#
#   sudo deploy/base-images.sh [MIRROR]        (needs debootstrap, docker and curl; MIRROR: your Debian mirror)
#
# IMAGES="python redis" builds only those. EXTRA_CA=/path/ca.pem adds a CA to the Python image's trust
# store and to pip's (a network whose proxy inspects TLS, a private package index).
#
# Makes three local images and prints the lines to put in .env so compose uses them:
#   kneeguard-base/python:3.11    Python 3.11 built as python:3.11-slim is (docker-library/python's
#                                 3.11/slim-bookworm recipe) on a Debian bookworm-slim stand-in
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
# And apt configured as in Debian's official images (debuerreotype-minimizing-config): no package
# cache left behind, indexes kept compressed, no translations, suggested packages not kept by
# autoremove (python:3.11-slim's recipe relies on that to remove its compiler).
conf="$WORK/root/etc/apt/apt.conf.d"
clean='"rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true";'
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$conf/docker-autoremove-suggests"
printf 'DPkg::Post-Invoke { %s };\nAPT::Update::Post-Invoke { %s };\nDir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' \
  "$clean" "$clean" >"$conf/docker-clean"
printf 'Acquire::GzipIndexes "true";\n' >"$conf/docker-gzip-indexes"
printf 'Acquire::Languages "none";\n' >"$conf/docker-no-languages"

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

# Python as python:3.11-slim has it: docker-library/python's 3.11/slim-bookworm recipe
# (deploy/python-slim.sh), Python 3.11 built into /usr/local with no bytecode and no tests, plus pip,
# setuptools and wheel; so an image on it sizes and starts as on the real one. The source is Debian's
# orig tarball of 3.11.2 (python.org's release, checked against the checksum Debian's Sources index
# publishes), from the mirror. The compile takes 5-15 minutes.
CHANGES=('ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' 'CMD ["python3"]')
AFTER="if sh /usr/src/python-slim.sh >/tmp/build.log 2>&1; then rm /tmp/build.log; \
  else tail -40 /tmp/build.log >&2; echo 'the Python build failed (above)' >&2; exit 1; fi"
if [ -n "${EXTRA_CA:-}" ]; then
  install -D -m 644 "$EXTRA_CA" "$WORK/root/usr/local/share/ca-certificates/extra-ca.crt"
  AFTER="update-ca-certificates >/dev/null && printf '[global]\\ncert = /etc/ssl/certs/ca-certificates.crt\\n' >/etc/pip.conf && $AFTER"
fi
case " ${IMAGES:-python postgres redis} " in *" python "*)
  curl -fsSL -o "$WORK/root/usr/src/python.tar.gz" \
    "$MIRROR/pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz"
  echo "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849  $WORK/root/usr/src/python.tar.gz" \
    | sha256sum -c --quiet -
  install -m 755 "$(dirname "$0")/python-slim.sh" "$WORK/root/usr/src/python-slim.sh" ;;
esac
PREPARE="" image kneeguard-base/python:3.11 ca-certificates netbase tzdata
rm -f "$WORK/root/usr/local/share/ca-certificates/extra-ca.crt" "$WORK/root/usr/src/python.tar.gz" \
  "$WORK/root/usr/src/python-slim.sh"

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
