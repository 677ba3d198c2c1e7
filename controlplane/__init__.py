"""Contact-center voice control plane for Asterisk."""

__version__ = "0.1.0"
