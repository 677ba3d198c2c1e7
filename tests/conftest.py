"""Shared test set-up: the spec-coverage plugin and the integration stack."""

pytest_plugins = ["tests.spec_coverage"]
