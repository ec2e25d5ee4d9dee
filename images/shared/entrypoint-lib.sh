# shellcheck shell=bash
# What the database stand-ins' entrypoints (postgres, mariadb) share, sourced after they set
# STAND_IN to their name: their messages, the _FILE forms of settings, and the official images'
# /docker-entrypoint-initdb.d.

say() { echo "stand-in $STAND_IN: $*"; }
fail() {
  echo "stand-in $STAND_IN: $*" >&2
  exit 1
}

# file_env VAR [DEFAULT]: VAR from the environment, or read from the file VAR_FILE names (Docker
# secrets; final newlines dropped), never both; exported, and VAR_FILE unset.
file_env() {
  local var=$1 file_var="${1}_FILE" default=${2:-}
  local value=${!var:-} file=${!file_var:-}
  if [ -n "$value" ] && [ -n "$file" ]; then fail "both $var and $file_var are set: set one of them"; fi
  if [ -n "$file" ]; then
    [ -r "$file" ] || fail "$file_var names $file, which cannot be read in the container"
    value=$(<"$file")
  fi
  export "$var=${value:-$default}"
  unset "$file_var"
}

# run_init_scripts CLIENT [ARGS...]: the scripts in /docker-entrypoint-initdb.d in name order, as
# the official images run them: a .sh file run when it is executable and sourced when not
# (bash-isms and all), SQL plain or compressed given to CLIENT on stdin, anything else named and
# left alone.
run_init_scripts() {
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
    *.sh)
      if [ -x "$f" ]; then
        say "running $f"
        "$f"
      else
        say "sourcing $f"
        # shellcheck disable=SC1090 # the user's script
        . "$f"
      fi
      ;;
    *.sql) say "running $f" && "$@" <"$f" ;;
    *.sql.gz) say "running $f" && gunzip -c "$f" | "$@" ;;
    *.sql.xz) say "running $f" && xzcat "$f" | "$@" ;;
    *.sql.zst) say "running $f" && zstd -dc "$f" | "$@" ;;
    *) say "ignoring $f (not .sh, .sql, .sql.gz, .sql.xz or .sql.zst)" ;;
    esac
  done
}
