"""Callbacks (CB-1..CB-3)."""
