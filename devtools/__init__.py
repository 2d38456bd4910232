"""Developer tooling: the embedded PostgreSQL, Redis and S3 servers and the demo data.

Used by `make run`, the tests and the benchmarks; the running app never imports it (import-linter)."""
