#!/usr/bin/env bash
# Make a PostgreSQL server available on this machine for the SQL store tests.
#
# Run as root (CI does) on a fresh machine or again on one where it already ran: it
# installs PostgreSQL when missing, starts (or creates) a cluster listening on the loopback
# interface only, and creates the test role and database if they are not there yet. Progress
# goes to standard error; the last line on standard output is the export the tests read:
#
#   eval "$(bash .ci/postgres.sh | tail -n 1)"
set -euo pipefail

ROLE=kudos
PASSWORD=kudos
DATABASE=kudos_test

say() { echo "postgres.sh: $*" >&2; }

# initdb and the server refuse to run as root: everything runs as the postgres OS user.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  elif [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    sudo -u postgres -- "$@"
  fi
}

server_installed() {
  command -v pg_lsclusters > /dev/null && compgen -G "/usr/lib/postgresql/*/bin/postgres" > /dev/null
}

if ! server_installed; then
  say "installing PostgreSQL"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi

# The newest installed server version, e.g. 15.
VERSION=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)

# Use the first existing cluster of that version, or create one.
CLUSTER=$(pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v {print $2; exit}')
if [ -z "$CLUSTER" ]; then
  CLUSTER=main
  say "creating cluster $VERSION/$CLUSTER"
  pg_createcluster "$VERSION" "$CLUSTER" -- --auth-local=peer --auth-host=scram-sha-256 >&2
fi
PORT=$(pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')
CONF=/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf
if [ -f "$CONF" ] && ! grep -q "^listen_addresses = 'localhost'" "$CONF"; then
  # Loopback only, whatever the packaged default is.
  echo "listen_addresses = 'localhost'" >> "$CONF"
fi

STATUS=$(pg_lsclusters --no-header | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')
if [ "$STATUS" != online ]; then
  say "starting cluster $VERSION/$CLUSTER on port $PORT"
  as_postgres pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 60); do
  if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
    break
  fi
  sleep 0.5
done
pg_isready -h 127.0.0.1 -p "$PORT" >&2

psql_admin() {
  as_postgres psql -p "$PORT" -X -q -v ON_ERROR_STOP=1 "$@"
}

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
  say "creating role $ROLE"
  psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
fi
psql_admin -c "ALTER ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD'"
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != 1 ]; then
  say "creating database $DATABASE"
  psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi
# A scratch database for tests: losing the last commits in a crash is fine, waiting for
# every commit to reach the disk is not.
psql_admin -c "ALTER DATABASE $DATABASE SET synchronous_commit = off"
psql_admin -d "$DATABASE" -c "GRANT ALL ON SCHEMA public TO $ROLE"

echo "export KUDOS_TEST_POSTGRES_URL=postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
