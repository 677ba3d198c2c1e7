"""Benchmarks: scripts that print figures (not tests; pytest never collects them).

Run from the repository root, for example ``.venv/bin/python -m bench.latency``.
Every script takes the machine-wide integration lock for its whole run, starts
its own stack (Asterisk from the cached rootfs, Redis, the service) on the
integration tests' fixed ports, and stops everything it started at the end.
"""
