#!/bin/sh
# Writes .env beside compose.yaml with fresh random secrets (mode 0600), unless it exists.
# compose.yaml refuses to start without them: nothing here ships a fixed password or token.
set -eu
cd "$(dirname "$0")"
if [ -e .env ]; then echo ".env exists; not overwriting it" >&2; exit 0; fi
rand() { openssl rand -hex "$1"; }
umask 077
cat > .env <<EOF
TRIBUTARY_ADMIN_TOKEN=adm_$(rand 24)
TRIBUTARY_CATALOG_PASSWORD=$(rand 24)
TRIBUTARY_LAKE_SECRET=$(rand 24)
EOF
echo "wrote $(pwd)/.env (admin token: grep TRIBUTARY_ADMIN_TOKEN .env)" >&2
