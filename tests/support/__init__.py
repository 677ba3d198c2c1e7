"""Helpers shared by the test suites."""

from .phones import (
    CallEvent,
    CallInfo,
    Phone,
    PhoneError,
    PhoneFactory,
    PhoneTimeout,
    SipMessage,
    SipTrace,
)

__all__ = [
    "CallEvent",
    "CallInfo",
    "Phone",
    "PhoneError",
    "PhoneFactory",
    "PhoneTimeout",
    "SipMessage",
    "SipTrace",
]
