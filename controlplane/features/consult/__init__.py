"""Consult and conference (CO-1..CO-6, CF-1..CF-7, HOLD-3)."""
