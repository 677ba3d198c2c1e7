"""Preview campaigns (PC-1..PC-4)."""
