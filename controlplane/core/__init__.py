"""The core of the control plane: agents and their states, interactions,
routing, the call path from StasisStart to wrap-up, reconciliation, limits.

It knows no feature: features (`controlplane.features`) register on its
hooks (`controlplane.core.hooks`) and get the core services they need as
named constructor arguments. See README "Architecture".
"""
