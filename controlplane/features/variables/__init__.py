"""Call-associated data (CAD-1..CAD-7)."""
