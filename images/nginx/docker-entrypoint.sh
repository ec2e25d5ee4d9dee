#!/bin/sh
# Keeps the official nginx image's contract for `nginx` and `nginx-debug` commands: the scripts
# in /docker-entrypoint.d run first (*.envsh sourced, *.sh run), and every
# /etc/nginx/templates/*.template becomes a file in /etc/nginx/conf.d with the environment's
# variables put in (only those set, so that nginx's own $variables stay as written).
set -eu

if [ "${1:-}" = nginx ] || [ "${1:-}" = nginx-debug ]; then
  for f in /docker-entrypoint.d/*; do
    case "$f" in
    *.envsh) if [ -x "$f" ]; then echo "stand-in nginx: sourcing $f"; . "$f"; fi ;;
    *.sh) if [ -x "$f" ]; then echo "stand-in nginx: running $f"; "$f"; fi ;;
    esac
  done

  templates=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
  suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
  output=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
  if [ -d "$templates" ]; then
    defined=$(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/${\1}/p' | tr '\n' ' ')
    find "$templates" -follow -type f -name "*$suffix" -print | while read -r template; do
      relative=${template#"$templates"/}
      target="$output/${relative%"$suffix"}"
      mkdir -p "$(dirname "$target")"
      echo "stand-in nginx: $template -> $target"
      envsubst "$defined" <"$template" >"$target"
    done
  fi
fi

exec "$@"
