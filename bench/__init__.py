"""Benchmarks for the portal (`make bench`): scoped list pages and the Excel export
on a database of BENCH_ROWS relief applications, on SQLite and PostgreSQL.

See bench/README.md. Nothing in here is imported by the application."""
