#!/bin/bash
# Keeps the contract of the official mariadb and mysql images, which users' compose files lean
# on: the root password (MARIADB_ROOT_PASSWORD or MYSQL_ROOT_PASSWORD, an empty one allowed, or a
# random one), MARIADB_/MYSQL_ DATABASE, USER, PASSWORD and ROOT_HOST, the _FILE forms of all of
# them (Docker secrets), a command of flags only (`command: --max-connections=200`), and the
# scripts in /docker-entrypoint-initdb.d (.sh run or sourced, .sql, .sql.gz, .sql.xz, .sql.zst).
set -Eeo pipefail

case "${1:-}" in -*) set -- mariadbd "$@" ;; esac
case "${1:-}" in mariadbd | mysqld) ;; *) exec "$@" ;; esac

STAND_IN=mariadb
# shellcheck source=../shared/entrypoint-lib.sh
. /usr/local/lib/realstack/entrypoint-lib.sh

# MARIADB_X, else MYSQL_X, as the two images name it.
setting() {
  file_env "MARIADB_$1"
  file_env "MYSQL_$2"
  local m="MARIADB_$1" y="MYSQL_$2"
  printf '%s' "${!m:-${!y:-}}"
}

if [ "$(id -u)" = 0 ]; then
  for name in ROOT_PASSWORD:ROOT_PASSWORD DATABASE:DATABASE USER:USER PASSWORD:PASSWORD ROOT_HOST:ROOT_HOST; do
    file_env "MARIADB_${name%%:*}"
    file_env "MYSQL_${name#*:}"
  done
  chown -R mysql:mysql /var/lib/mysql /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

root_password=$(setting ROOT_PASSWORD ROOT_PASSWORD)
database=$(setting DATABASE DATABASE)
user=$(setting USER USER)
password=$(setting PASSWORD PASSWORD)
root_host=$(setting ROOT_HOST ROOT_HOST)
root_host=${root_host:-%}
allow_empty=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}
random=${MARIADB_RANDOM_ROOT_PASSWORD:-${MYSQL_RANDOM_ROOT_PASSWORD:-}}

# A string in single quotes, and a name in backticks, as SQL reads them.
quoted() { local v=${1//\\/\\\\}; printf "'%s'" "${v//\'/\\\'}"; }
named() { printf '`%s`' "${1//\`/\`\`}"; }

if [ ! -d /var/lib/mysql/mysql ]; then
  if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random" ]; then
    fail "the database is new and no root password is set: set MYSQL_ROOT_PASSWORD (or MARIADB_ROOT_PASSWORD, or their _FILE), MYSQL_ALLOW_EMPTY_PASSWORD=yes, or MYSQL_RANDOM_ROOT_PASSWORD=yes."
  fi
  if [ -n "$user" ] && [ "$user" = root ]; then fail "MYSQL_USER=root: root exists already; set its password with MYSQL_ROOT_PASSWORD."; fi
  if [ -n "$random" ]; then
    root_password=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi
  mariadb-install-db --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve --default-time-zone=SYSTEM >/dev/null

  # The setup server listens on a socket of its own, no TCP: a health check (mysqladmin ping on
  # the usual socket) and other containers see nothing until the scripts are done. The clients
  # of the scripts find it through MYSQL_UNIX_PORT.
  export MYSQL_UNIX_PORT
  MYSQL_UNIX_PORT=$(mktemp -d)/setup.sock
  "$@" --skip-networking --socket="$MYSQL_UNIX_PORT" --skip-log-bin &
  setup=$!
  for _ in $(seq 300); do
    mariadb-admin --user=root --silent ping >/dev/null 2>&1 && break
    kill -0 "$setup" 2>/dev/null || fail "the setup server ended before it answered (see above)"
    sleep 0.1
  done
  sql=(mariadb --protocol=socket --user=root --batch --skip-column-names)
  {
    echo "DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)', 'root'@'$(hostname)';"
    if [ "$root_host" != localhost ]; then
      echo "CREATE USER 'root'@$(quoted "$root_host") IDENTIFIED BY $(quoted "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@$(quoted "$root_host") WITH GRANT OPTION;"
    fi
    if [ -n "$database" ]; then echo "CREATE DATABASE IF NOT EXISTS $(named "$database");"; fi
    if [ -n "$user" ]; then
      echo "CREATE USER $(quoted "$user")@'%' IDENTIFIED BY $(quoted "$password");"
      if [ -n "$database" ]; then echo "GRANT ALL ON $(named "$database").* TO $(quoted "$user")@'%';"; fi
    fi
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(quoted "$root_password");"
  } | "${sql[@]}"
  # From here on root has its password, as the scripts expect (mysql -uroot -p"$MYSQL_ROOT_PASSWORD").
  export MYSQL_PWD=$root_password
  sql+=(${database:+--database="$database"})
  run_init_scripts "${sql[@]}"
  kill "$setup"
  wait "$setup" || true
  rm -rf "$(dirname "$MYSQL_UNIX_PORT")"
  unset MYSQL_UNIX_PORT MYSQL_PWD
  say "initialised /var/lib/mysql${database:+, database $database}${user:+, user $user}"
fi

exec "$@"
