#!/bin/sh
# Keeps the official redis image's contract, which users' compose files lean on: a command of
# flags or a config file alone runs redis-server with them, the server runs as the redis user
# in /data, and it answers other containers without a password unless it is told otherwise
# (the official image builds redis with protected mode off; Debian's has it on).
set -eu

case "${1:-}" in -* | *.conf) set -- redis-server "$@" ;; esac
if [ "${1:-}" != redis-server ]; then exec "$@"; fi

if [ "$(id -u)" = 0 ]; then
  chown -R redis:redis /data 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

# Protected mode off unless the command or a config file it names says something of it.
says_protected=no
for arg in "$@"; do
  case "$arg" in
  --protected-mode) says_protected=yes ;;
  *.conf) if [ -r "$arg" ] && grep -qiE '^[[:space:]]*protected-mode' "$arg"; then says_protected=yes; fi ;;
  esac
done
if [ "$says_protected" = no ]; then set -- "$@" --protected-mode no; fi
exec "$@"
