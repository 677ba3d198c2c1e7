"""The supervisor console's service side (SUP-1..SUP-6)."""
