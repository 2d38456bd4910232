"""The shared core every domain stands on: settings, database scopes, access helpers, the Actor, the
policy table (actions only), errors, clock, passwords, throttle, mailer, Redis, schema tools.

The core imports no domain package (an import-linter contract in pyproject.toml)."""
