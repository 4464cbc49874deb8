"""How podfit reaches a scheduler under test: in-process, subprocess, HTTP extender, live cluster."""
