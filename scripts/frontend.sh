#!/usr/bin/env bash
# Project-local JavaScript toolchain for Reflex (bun from the npm registry; nothing else downloaded).
#
# Usage:
#   scripts/frontend.sh install     install bun@1.4.5 into .tools/ (idempotent; needs npm)
#   scripts/frontend.sh env         print `export ...` lines:  eval "$(scripts/frontend.sh env)"
#   source scripts/frontend.sh      export the variables into the current shell (no install)
#   scripts/frontend.sh run CMD...  install if needed, then run CMD with the variables set
#
# Everything lives under <project>/.tools (git-ignored): bun, Reflex's own dir (REFLEX_DIR),
# bun's and npm's caches. The built frontend goes to <project>/.web (git-ignored).
# Nothing is written to ~/.bun, ~/.cache, ~/.local or ~/.npm.

_wd_frontend_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WD_BUN_VERSION="1.4.5"

_wd_frontend_vars() {
  local root="$_wd_frontend_root" tools="$_wd_frontend_root/.tools"
  cat <<VARS
export PATH="$tools/node_modules/.bin:\${PATH}"
export REFLEX_BUN_PATH="$tools/node_modules/.bin/bun"
export REFLEX_USE_SYSTEM_BUN=true
export REFLEX_DIR="$tools/reflex"
export REFLEX_CHECK_LATEST_VERSION=false
export REFLEX_TELEMETRY_ENABLED=false
export BUN_INSTALL="$tools/bun"
export BUN_INSTALL_CACHE_DIR="$tools/bun-cache"
export BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
export DO_NOT_TRACK=1
export npm_config_cache="$tools/npm-cache"
export npm_config_update_notifier=false
export npm_config_fund=false
export npm_config_audit=false
export XDG_CACHE_HOME="$tools/cache"
export XDG_DATA_HOME="$tools/share"
export XDG_CONFIG_HOME="$tools/config"
VARS
}

_wd_frontend_install() {
  local tools="$_wd_frontend_root/.tools"
  eval "$(_wd_frontend_vars)"
  if [ -x "$tools/node_modules/.bin/bun" ] && [ "$("$tools/node_modules/.bin/bun" --version 2>/dev/null)" = "$WD_BUN_VERSION" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "npm is required to install bun (apt-get install npm)" >&2; return 1; }
  mkdir -p "$tools"
  npm install --prefix "$tools" --no-save --no-audit --no-fund --loglevel=error "bun@$WD_BUN_VERSION" >&2
  "$tools/node_modules/.bin/bun" --version >/dev/null
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
  # Sourced: export the variables.
  eval "$(_wd_frontend_vars)"
else
  set -euo pipefail
  case "${1:-env}" in
    env) _wd_frontend_vars ;;
    install) _wd_frontend_install ;;
    run) shift; _wd_frontend_install; eval "$(_wd_frontend_vars)"; cd "$_wd_frontend_root"; exec "$@" ;;
    *) echo "usage: $0 {install|env|run CMD...}" >&2; exit 2 ;;
  esac
fi
