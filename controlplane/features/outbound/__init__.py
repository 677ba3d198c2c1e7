"""Outdial and the call history's calls (OD-1..OD-8, HI-2, CB-4)."""
