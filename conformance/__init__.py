"""Checking schedulers against the spec: example runner, Hypothesis strategies and properties."""
