"""Errors raised by the contact-center rules.

Each names the rule it enforces (an ID of shared/spec/voice-calls.md) so that
the API can tell the caller exactly why an action was refused.
"""

from __future__ import annotations


class RuleViolation(Exception):
    """An action the rules do not allow in the current state; nothing changed."""

    status = 409
    error_id = "rule-violation"

    def __init__(self, message: str, *, rule: str | None = None, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.details: dict[str, object] = dict(details)
        if rule is not None:
            self.details["rule"] = rule


class InvalidTransition(RuleViolation):
    error_id = "invalid-state-transition"


class NotFound(RuleViolation):
    status = 404
    error_id = "not-found"


class InvalidInput(RuleViolation):
    status = 400
    error_id = "invalid-input"


class Unavailable(RuleViolation):
    """A dependency (Asterisk, a phone) cannot do what was asked right now."""

    status = 503
    error_id = "unavailable"
