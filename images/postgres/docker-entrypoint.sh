#!/bin/bash
# realstack's stand-in keeps the official postgres image's contract, because users' compose files
# lean on all of it: POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB and their _FILE forms (Docker
# secrets), POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, PGDATA, a
# command of flags only (`command: -c fsync=off`), and the scripts in /docker-entrypoint-initdb.d.
# bash, as in the official image: a script there that is not executable is sourced, bash-isms and all.
set -Eeo pipefail

case "${1:-}" in -*) set -- postgres "$@" ;; esac
if [ "${1:-}" != postgres ]; then exec "$@"; fi

STAND_IN=postgres
# shellcheck source=../shared/entrypoint-lib.sh
. /usr/local/lib/realstack/entrypoint-lib.sh

if [ "$(id -u)" = 0 ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  mkdir -p "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"}
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
# Run as another user (compose's `user:`), or back here as postgres: the settings, once more for the former.
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
# The server wants its directory private; a new volume comes open to all (see the Dockerfile).
if [ -O "$PGDATA" ]; then chmod 700 "$PGDATA"; fi

# sql_literal VALUE, sql_ident NAME: quoted for SQL.
sql_literal() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

# The image's ready-made cluster serves when it is what initdb would make now: no initdb settings,
# the zone it was made in, a data directory this user can fill and that is empty (initdb refuses
# one that is not, and should say so), names single-user mode can take as one line each.
template=/usr/local/share/realstack/pgdata-template
# The same cluster with one database more, made from template1 as CREATE DATABASE makes one:
# renamed to POSTGRES_DB, it spares the setup the creation of its 300 files.
template_db=/usr/local/share/realstack/pgdata-template-db
spare_db=realstack_database
# copy_template FROM: the copy is mostly the creation of its files, which is slow on a disk whose
# metadata waits on the device (ext4 mounted with discard, in a VM): a copy per database and per
# folder, side by side, takes 0.45 s there where one takes 0.75 s (docs/performance.md).
copy_template() {
  local from=$1 entry db pid pids=()
  for entry in "$from"/*; do
    if [ "$entry" = "$from/base" ]; then
      mkdir -m 700 "$PGDATA/base"
      for db in "$entry"/*; do
        cp -R --preserve=mode "$db" "$PGDATA/base/" &
        pids+=($!)
      done
    else
      cp -R --preserve=mode "$entry" "$PGDATA/" &
      pids+=($!)
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
template_serves() {
  [ -r "$template/PG_VERSION" ] && [ -z "$POSTGRES_INITDB_ARGS" ] && [ -z "${POSTGRES_INITDB_WALDIR:-}" ] &&
    [ -z "${TZ:-}" ] && cmp -s /etc/localtime "$template.localtime" && [ -d "$PGDATA" ] && [ -z "$(ls -A "$PGDATA")" ] &&
    [[ $POSTGRES_USER$POSTGRES_PASSWORD$POSTGRES_DB != *$'\n'* ]]
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  # A `user:` this image has no account for (`user: "1000:1000"`): initdb and single-user mode
  # look the user up, so the setup gets one through nss_wrapper, as in the official image.
  if ! getent passwd "$(id -u)" >/dev/null; then
    wrapper=$(echo /usr/lib/*/libnss_wrapper.so)
    NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
    export LD_PRELOAD=$wrapper NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$auth" != trust ]; then
    fail "POSTGRES_PASSWORD is not set, and connections from other containers need one ($auth). Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust for a database that asks for none."
  fi
  # Statements for single-user mode, one per line: no server to start and stop.
  setup=()
  if template_serves; then
    if [ "$POSTGRES_DB" = postgres ]; then copy_template "$template"; else copy_template "$template_db"; fi
    # initdb names the bootstrap superuser (OID 10), which ALTER ROLE may not rename while it is
    # the session user, as it is in single-user mode: its catalog row gets the name initdb would
    # have written.
    if [ "$POSTGRES_USER" != postgres ]; then
      setup+=("UPDATE pg_authid SET rolname = $(sql_literal "$POSTGRES_USER") WHERE oid = 10")
    fi
    if [ -n "$POSTGRES_PASSWORD" ]; then
      setup+=("ALTER ROLE $(sql_ident "$POSTGRES_USER") PASSWORD $(sql_literal "$POSTGRES_PASSWORD")")
    fi
    if [ "$POSTGRES_DB" != postgres ] && [ "$POSTGRES_DB" != "$spare_db" ]; then
      setup+=("ALTER DATABASE $spare_db RENAME TO $(sql_ident "$POSTGRES_DB")")
    fi
  else
    # --no-sync: a test database is thrown away with its run (initdb 0.8 s instead of 1.0 s).
    args=(-D "$PGDATA" --username="$POSTGRES_USER" -E UTF8 --no-locale --auth=trust --no-sync)
    if [ -n "$POSTGRES_PASSWORD" ]; then
      pwfile=$(mktemp)
      printf '%s' "$POSTGRES_PASSWORD" >"$pwfile"
      args+=(--pwfile="$pwfile")
    fi
    if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then args+=(--waldir="$POSTGRES_INITDB_WALDIR"); fi
    # The user's arguments last, so that theirs win (a --locale of their own over --no-locale).
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of arguments, as in the official image.
    initdb "${args[@]}" $POSTGRES_INITDB_ARGS >/dev/null
    rm -f "${pwfile:-}"
    if [ "$POSTGRES_DB" != postgres ]; then setup+=("CREATE DATABASE $(sql_ident "$POSTGRES_DB")"); fi
  fi
  if [ ${#setup[@]} -gt 0 ]; then
    # A failed statement is not echoed to the log: one of them may hold the password.
    if ! out=$(printf '%s\n' "${setup[@]}" |
      postgres --single -D "$PGDATA" -c fsync=off -c log_min_error_statement=panic postgres 2>&1) ||
      [[ $out == *ERROR:* ]]; then
      fail "setting up user $POSTGRES_USER and database $POSTGRES_DB failed: $out"
    fi
  fi
  # Inside the container (its socket, its loopback) nobody needs a password, as in the official
  # image; from anywhere else the method asked for.
  echo "host all all all $auth" >>"$PGDATA/pg_hba.conf"

  scripts=(/docker-entrypoint-initdb.d/*)
  if [ -e "${scripts[0]}" ]; then
    # The setup server listens on a socket of its own, no TCP: a health check (pg_isready on the
    # usual socket) and other containers see nothing until the scripts are done.
    export PGHOST
    PGHOST=$(mktemp -d)
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k $PGHOST" start >/dev/null
    export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
    run_init_scripts psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname "$POSTGRES_DB"
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    rm -rf "$PGHOST"
    unset PGHOST PGPASSWORD
  fi
  say "initialised $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
  if [ -n "${NSS_WRAPPER_PASSWD:-}" ]; then
    rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
    unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  fi
fi

# Other containers reach it over the network: listen on every address unless the command says otherwise.
shift
exec postgres -c listen_addresses='*' "$@"
