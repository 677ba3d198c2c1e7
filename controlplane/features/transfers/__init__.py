"""Blind transfer (TR-1..TR-7) and the target lists."""
