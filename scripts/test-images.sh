#!/usr/bin/env bash
# Builds the images the tests run; no registry is needed (none is reachable here).
#   felhom-test/busybox:latest      Debian's static busybox, from the host
#   felhom-test/postgres:15         \  one Debian bookworm minbase rootfs (debootstrap)
#   felhom-test/mariadb:10.11        } with Debian's postgresql-15, mariadb-server
#   felhom-test/db-writer:latest    /   (10.11), python3, psycopg2 and PyMySQL
# The three database images are the same tarball imported with different entrypoints,
# so they cost the disk once. Their entrypoints initialise an empty data folder (trust
# auth, a database `felhom`), fix its ownership, and exec the server in the foreground
# as its own user, logging to stderr (docker logs): the tests copy data folders and
# read the server's log to tell a clean shutdown from crash recovery. The writer
# inserts one row per transaction into `ticks` and acknowledges each commit in a file
# (see test/helpers/databases.ts for how they are combined).
# Each image is built once, and again when this script changes (the database images
# carry its hash as a label); FORCE=1 rebuilds the database images. debootstrap needs
# root and Debian's mirror (through apt's sources; no image registry).
set -euo pipefail

recipe=$(sha256sum "$0" | cut -c1-16)
have() {
  [ "${FORCE:-}" != 1 ] && [ "$(docker image inspect -f '{{index .Config.Labels "org.felhom.recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}
work=$(mktemp -d)
cleanup() {
  # debootstrap unmounts what it mounted; if it died half-way, never let rm walk into /proc.
  findmnt -rno TARGET | grep "^$work/" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

busybox_image=felhom-test/busybox:latest
# Built once (FORCE does not apply: images the tests build FROM it would be orphaned).
if ! docker image inspect "$busybox_image" >/dev/null 2>&1; then
  root="$work/busybox"
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$busybox_image" >/dev/null
  echo "test-images: built $busybox_image" >&2
fi

postgres_image=felhom-test/postgres:15
mariadb_image=felhom-test/mariadb:10.11
writer_image=felhom-test/db-writer:latest
if have "$postgres_image" && have "$mariadb_image" && have "$writer_image"; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "test-images: $postgres_image, $mariadb_image and $writer_image are missing or stale and building them needs root (debootstrap); the database tests skip" >&2
  exit 0
fi
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 \
  || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1; }

started=$SECONDS
echo "test-images: building $postgres_image, $mariadb_image and $writer_image (debootstrap bookworm minbase, a few minutes)" >&2
rootfs="$work/rootfs"
packages=postgresql-15,mariadb-server,mariadb-client,python3,python3-psycopg2,python3-pymysql
# Two stages, so that policy-rc.d is in place before any package is configured: the
# postinst scripts of postgresql and mariadb-server would otherwise start the servers
# inside the chroot, on the host.
debootstrap --foreign --variant=minbase --include="$packages" bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
printf '#!/bin/sh\n# No service starts in this image but by its entrypoint.\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
chroot "$rootfs" /debootstrap/debootstrap --second-stage >>"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }

# The packages' own cluster and datadir are made at build time, by other tools and
# settings than ours: the entrypoints make theirs on first start.
rm -rf "$rootfs"/etc/postgresql/15 "$rootfs"/var/lib/postgresql/15 "$rootfs"/var/lib/mysql/* "$rootfs"/var/log/postgresql/* "$rootfs"/var/log/mysql/*
# postgres's JIT pulls in LLVM (and z3), 130 MB of the image; without its provider
# library postgres runs with JIT off, as the tests want anyway.
chroot "$rootfs" dpkg --purge --force-depends libllvm14 libz3-4 >>"$work/debootstrap.log" 2>&1
rm -rf "$rootfs"/usr/lib/postgresql/15/lib/llvmjit* "$rootfs"/usr/lib/postgresql/15/lib/bitcode
# Small, as the slim upstream images: no apt lists, downloaded packages, docs (but the
# copyright files), man pages or translations (the servers log in English, which the
# tests match on).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/i18n/locales/* \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
find "$rootfs/usr/share/doc" -type l -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete

install -d -m 0755 "$rootfs/var/lib/postgresql/data"
cat > "$rootfs/usr/local/bin/felhom-postgres" <<'EOF'
#!/bin/sh
# Entrypoint of felhom-test/postgres:15: initialises an empty data folder, then runs
# postgres in the foreground as user postgres, logging to stderr. Extra arguments go
# to postgres (e.g. -c fsync=off).
set -eu
PGDATA=${PGDATA:-/var/lib/postgresql/data}
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
mkdir -p "$PGDATA" /run/postgresql
chown postgres:postgres /run/postgresql
# A bind-mounted or copied folder may come with other owners or modes; postgres
# refuses a data directory that is not its own and 0700.
chown -R postgres:postgres "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  as_postgres initdb -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >&2
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo 'host all all all trust' >> "$PGDATA/pg_hba.conf"
  echo 'CREATE DATABASE felhom' | as_postgres postgres --single -D "$PGDATA" postgres >/dev/null
  echo "felhom-postgres: initialised $PGDATA with database felhom" >&2
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups postgres -D "$PGDATA" "$@"
EOF

cat > "$rootfs/usr/local/bin/felhom-mariadb" <<'EOF'
#!/bin/sh
# Entrypoint of felhom-test/mariadb:10.11: initialises an empty data folder, then runs
# mariadbd in the foreground as user mysql, logging to stderr. Extra arguments go to
# mariadbd. A test image: grant tables are skipped, so anyone may connect from
# anywhere, as any user, without a password.
set -eu
DATADIR=/var/lib/mysql
mkdir -p "$DATADIR" /run/mysqld
chown mysql:mysql /run/mysqld
# A bind-mounted or copied folder may come with other owners.
chown -R mysql:mysql "$DATADIR"
if [ ! -d "$DATADIR/mysql" ]; then
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --skip-name-resolve >/dev/null
  echo 'CREATE DATABASE IF NOT EXISTS felhom;' | mariadbd --user=mysql --datadir="$DATADIR" --bootstrap --log-warnings=0 >/dev/null
  echo "felhom-mariadb: initialised $DATADIR with database felhom" >&2
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --bind-address=0.0.0.0 --skip-grant-tables --skip-name-resolve "$@"
EOF

cat > "$rootfs/usr/local/bin/felhom-writer" <<'EOF'
#!/usr/bin/python3
"""Entrypoint of felhom-test/db-writer: writes ticks into a database for ever.

Env: DB_KIND (postgres|mariadb), DB_HOST, DB_NAME (felhom), INTERVAL_MS (5),
ACK_FILE (/ack/last). Inserts n = max(n)+1, max(n)+2, ... one row per transaction;
only after a commit succeeded is n written to ACK_FILE (temp file + rename, so a
reader sees the old number or the new one). Every row up to the acknowledged number
is therefore durable in the database, which is what a backup of it must keep.
On a database error it reconnects after 200 ms (the database may not be up yet, or
be restarting); SIGTERM ends it with 0.
"""
import os
import signal
import sys
import time


def stop(_signum, _frame):
    # Raised where the main thread is; at worst between a commit and its ack, which
    # only makes the ack lag.
    sys.exit(0)


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

kind = os.environ.get('DB_KIND', '')
host = os.environ.get('DB_HOST', '')
name = os.environ.get('DB_NAME', 'felhom')
interval = int(os.environ.get('INTERVAL_MS', '5')) / 1000
ack_file = os.environ.get('ACK_FILE', '/ack/last')

if kind == 'postgres':
    import psycopg2

    def connect():
        return psycopg2.connect(host=host, dbname=name, user='postgres', connect_timeout=2)

    create = 'CREATE TABLE IF NOT EXISTS ticks (n BIGINT PRIMARY KEY, written_at TIMESTAMP DEFAULT now())'
elif kind == 'mariadb':
    import pymysql

    def connect():
        return pymysql.connect(host=host, database=name, user='root', connect_timeout=2,
                               read_timeout=5, write_timeout=5, autocommit=False)

    create = ('CREATE TABLE IF NOT EXISTS ticks (n BIGINT PRIMARY KEY, '
              'written_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB')
else:
    sys.exit('felhom-writer: DB_KIND must be postgres or mariadb')
if not host:
    sys.exit('felhom-writer: DB_HOST is not set')


def acknowledge(n):
    # No fsync: readers are tests on the same kernel, and a lost ack only lags.
    tmp = f'{ack_file}.tmp'
    with open(tmp, 'w') as f:
        f.write(f'{n}\n')
    os.replace(tmp, ack_file)


os.makedirs(os.path.dirname(ack_file) or '.', exist_ok=True)
conn = None
failing = False
n = 0
while True:
    try:
        if conn is None:
            conn = connect()
            cur = conn.cursor()
            cur.execute(create)
            # Again after every reconnect: the commit in flight when the connection
            # broke may or may not have happened.
            cur.execute('SELECT COALESCE(MAX(n), 0) FROM ticks')
            n = cur.fetchone()[0] + 1
            conn.commit()
            failing = False
            print(f'felhom-writer: connected to {kind} at {host}/{name}, writing from n={n}', flush=True)
        cur.execute('INSERT INTO ticks (n) VALUES (%s)', (n,))
        conn.commit()
        acknowledge(n)
        if n % 1000 == 0:
            print(f'felhom-writer: committed n={n}', flush=True)
        n += 1
        time.sleep(interval)
    except Exception as e:  # noqa: BLE001 - any database error means: reconnect
        if not failing:
            message = ' '.join(str(e).split())  # one line: psycopg2's messages span several
            print(f'felhom-writer: {type(e).__name__}: {message}; reconnecting every 200 ms', file=sys.stderr, flush=True)
            failing = True
        try:
            if conn is not None:
                conn.close()
        except Exception:  # noqa: BLE001
            pass
        conn = None
        time.sleep(0.2)
EOF
chmod 0755 "$rootfs"/usr/local/bin/felhom-*
chmod 0755 "$rootfs"

path_env='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/lib/postgresql/15/bin:/usr/sbin:/usr/bin:/sbin:/bin'
tarball="$work/rootfs.tar"
tar -C "$rootfs" -cf "$tarball" .
# A first start initialises the data folder, which takes a while on a loaded machine:
# failed checks in the start period do not count, the first passing one ends it.
health='--interval=2s --timeout=5s --start-period=300s --retries=5'
label="LABEL org.felhom.recipe=$recipe"
docker import \
  --change "$path_env" \
  --change "$label" \
  --change 'ENV PGDATA=/var/lib/postgresql/data' \
  --change 'VOLUME ["/var/lib/postgresql/data"]' \
  --change 'EXPOSE 5432' \
  --change "HEALTHCHECK $health CMD [\"pg_isready\", \"-U\", \"postgres\", \"-d\", \"felhom\"]" \
  --change 'ENTRYPOINT ["/usr/local/bin/felhom-postgres"]' \
  "$tarball" "$postgres_image" >/dev/null
# `docker import` takes no STOPSIGNAL (not on our engine, 20.10), so a metadata-only
# build adds it: postgres's default SIGTERM is a "smart" shutdown that waits for the
# clients to leave (the writer never does) until Docker kills it; SIGINT is the fast
# shutdown, as in the official image.
printf 'FROM %s\nSTOPSIGNAL SIGINT\n' "$postgres_image" | docker build -q -t "$postgres_image" - >/dev/null 2>"$work/build.log" \
  || { cat "$work/build.log" >&2; exit 1; }
docker import \
  --change "$path_env" \
  --change "$label" \
  --change 'VOLUME ["/var/lib/mysql"]' \
  --change 'EXPOSE 3306' \
  --change "HEALTHCHECK $health CMD [\"mariadb-admin\", \"ping\", \"--silent\"]" \
  --change 'ENTRYPOINT ["/usr/local/bin/felhom-mariadb"]' \
  "$tarball" "$mariadb_image" >/dev/null
docker import \
  --change "$path_env" \
  --change "$label" \
  --change 'ENV PYTHONUNBUFFERED=1' \
  --change 'ENTRYPOINT ["/usr/local/bin/felhom-writer"]' \
  "$tarball" "$writer_image" >/dev/null
echo "test-images: built $postgres_image, $mariadb_image and $writer_image in $((SECONDS - started)) s" >&2
