"""The features of the control plane, one package each: a service module
with the feature's orchestration and a `plugin.py` that builds it from the
core's parts (and the features it needs) and registers it on the core's
hooks. The core imports no feature."""
