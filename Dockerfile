# syntax=docker/dockerfile:1
#
# Production image of the work dashboard: one process tree serving the built pages, the Reflex
# websocket, /ping and the HTTP API on port 8000. The same image runs the background worker
# (docker-compose.yml overrides the command).
#
#   docker build -t workdash .
#   docker compose up -d            (see docker-compose.yml and docs/configuration.md)
#
# The builder installs like a developer machine does, `make install`, but with the runtime lock only
# (LOCKS=requirements.lock: no pytest, Playwright, linters or embedded dev servers in the image),
# plus bun from the npm registry into .tools/; then it builds the frontend once so that its packages
# are already in .web/ when the container starts.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# Node 20 and npm (only to install bun from the npm registry; Debian bookworm ships Node 18).
FROM ${NODE_IMAGE} AS node

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy

RUN apt-get update \
    && apt-get install -y --no-install-recommends make ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && node --version && npm --version

WORKDIR /app

# Dependencies first: this layer is rebuilt only when the runtime lock or the install recipe changes.
COPY Makefile pyproject.toml requirements.lock ./
COPY scripts/frontend.sh scripts/frontend.sh
RUN make install PYTHON=python3 LOCKS=requirements.lock

# Then the sources, and one frontend build (bun installs the page's packages into .web/ here, so
# the container never needs the npm registry at run time).
COPY . .
RUN eval "$(bash scripts/frontend.sh env)" \
    && .venv/bin/reflex export --env prod --frontend-only --no-zip --loglevel warning \
    && rm -rf .tools/npm-cache .tools/bun-cache .tools/cache

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    ENV=production \
    APP_HOST=0.0.0.0 \
    APP_PORT=8000

# make: the container runs `make serve`, the same entry point as documented for every machine.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app

WORKDIR /app

# The code and the virtualenv belong to root (the app cannot rewrite itself); only what Reflex
# writes at start (the frontend rebuild in .web, its lock files, caches in .tools) and the data
# folders belong to the app user.
COPY --from=builder /app/.venv /app/.venv
COPY . .
COPY --from=builder --chown=10001:10001 /app/.tools /app/.tools
COPY --from=builder --chown=10001:10001 /app/.web /app/.web
COPY --from=builder --chown=10001:10001 /app/reflex.lock /app/reflex.lock
RUN mkdir -p .data .states uploaded_files assets/external \
    && chown 10001:10001 .web .tools reflex.lock .data .states uploaded_files assets assets/external

USER 10001:10001

EXPOSE 8000

# /ping is Reflex's own liveness endpoint on the app port. The first start rebuilds the frontend
# and applies migrations, hence the start period.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ping', timeout=4)"]

# Applies the migrations, then serves the app in production mode (no demo data).
CMD ["make", "serve"]
