#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server:
#   scripts/with-postgres.sh COMMAND [ARGS...]
# initdb into a temporary folder, start it on a free loopback port, export
# TEST_DATABASE_URL for the command, and remove everything afterwards.
# Without initdb it skips loudly, except under CI=true, where a skip is a failure.
set -euo pipefail

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && echo "$found"
}

INITDB=$(find_bin initdb || true)
PG_CTL=$(find_bin pg_ctl || true)
if [ -z "$INITDB" ] || [ -z "$PG_CTL" ]; then
  echo "!!! PostgreSQL server binaries (initdb, pg_ctl) not found: PostgreSQL tests SKIPPED !!!" >&2
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: a skipped PostgreSQL run is a failure. Install postgresql (apt-get install postgresql)." >&2
    exit 1
  fi
  exit 0
fi

# initdb refuses to run as root: run the server as an unprivileged user.
as_user=()
owner=$(id -un)
if [ "$(id -u)" = "0" ]; then
  owner=postgres
  id -u postgres >/dev/null 2>&1 || owner=nobody
  as_user=(runuser -u "$owner" --)
fi

workdir=$(mktemp -d /tmp/portal-pg.XXXXXX)
chown "$owner" "$workdir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')

cleanup() {
  "${as_user[@]}" "$PG_CTL" -D "$workdir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$workdir"
}
trap cleanup EXIT INT TERM

"${as_user[@]}" "$INITDB" -D "$workdir/data" -U portal --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$workdir/initdb.log" 2>&1 \
  || { cat "$workdir/initdb.log" >&2; exit 1; }
# fsync off: a throw-away test server need not survive a power cut.
"${as_user[@]}" "$PG_CTL" -D "$workdir/data" -l "$workdir/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $workdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null \
  || { cat "$workdir/server.log" >&2; exit 1; }

export TEST_DATABASE_URL="postgresql+psycopg://portal@127.0.0.1:$port/postgres"
echo "$("$PG_CTL" --version) server on 127.0.0.1:$port (data in $workdir)"
"$@"
