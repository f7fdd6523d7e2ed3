#!/usr/bin/env bash
# Sourced by tests/run.sh: makes DATABASE_URL point at a Postgres the tests may use.
# - DATABASE_URL already set: use it.
# - Otherwise: install Debian's postgresql when its binaries are missing, start a throwaway
#   cluster (initdb into a temporary directory, a free port on 127.0.0.1), and stop and delete
#   it when the calling shell exits, on success or failure.
# Never skips: if no database can be had, it says why and exits non-zero.

pg_fail() {
  echo "error: no Postgres for the tests: $1" >&2
  echo "       install Debian's 'postgresql' package, or set DATABASE_URL to a server where this user may create tables." >&2
  exit 1
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

pg_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( 20000 + RANDOM % 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

pg_stop() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    $PG_RUNAS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}

pg_start() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "tests: using DATABASE_URL from the environment"
    return 0
  fi
  PG_BIN=$(pg_bin)
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
    echo "tests: Postgres not found; installing Debian's postgresql package" >&2
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
      command -v sudo >/dev/null 2>&1 || pg_fail "not root and no sudo to install it"
      sudo="sudo -n"
    fi
    $sudo apt-get update -qq >/dev/null 2>&1 || pg_fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null 2>&1 || pg_fail "apt-get install postgresql failed"
    PG_BIN=$(pg_bin)
    [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || pg_fail "postgresql installed but initdb not found"
  fi
  PG_TMP=$(mktemp -d /tmp/helpdesk-pg.XXXXXX)
  PG_RUNAS=""
  if [ "$(id -u)" = 0 ]; then
    # initdb refuses to run as root: the throwaway cluster runs as the postgres user.
    local user=postgres
    id "$user" >/dev/null 2>&1 || user=nobody
    chown "$user" "$PG_TMP"
    chmod 755 "$PG_TMP"
    PG_RUNAS="runuser -u $user --"
  fi
  local port
  port=$(pg_free_port) || pg_fail "no free local port"
  $PG_RUNAS "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; pg_fail "initdb failed"; }
  trap pg_stop EXIT
  # Durability off: a throwaway cluster for tests. Enough connections for parallel test binaries.
  # Settings go in the cluster's configuration so a stop/start by the outage tests keeps them.
  cat >>"$PG_TMP/data/postgresql.conf" <<EOC
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_TMP'
max_connections = 400
fsync = off
synchronous_commit = off
full_page_writes = off
EOC
  $PG_RUNAS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start >/dev/null \
    || { cat "$PG_TMP/server.log" >&2; pg_fail "the server did not start"; }
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  # Lets the outage tests stop and start this cluster (`$HELPDESK_PG_CTL stop|start`).
  cat >"$PG_TMP/pgctl" <<EOS
#!/usr/bin/env bash
set -e
case "\$1" in
  stop) exec $PG_RUNAS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w -t 60 stop >/dev/null ;;
  start) exec $PG_RUNAS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 start >/dev/null ;;
  *) echo "usage: \$0 stop|start" >&2; exit 2 ;;
esac
EOS
  chmod 755 "$PG_TMP/pgctl"
  export HELPDESK_PG_CTL="$PG_TMP/pgctl"
  echo "tests: throwaway Postgres ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$port"
}

pg_start
