#!/bin/sh
# soundness failed for examples/schedulers/good.py: picked node-0, which the reference rejects (NodeResourcesFit: Insufficient memory)
# The scheduler answered node-0; the reference's feasible nodes: none.
# Replay the pod through podfit's reference:
cd "$(dirname "$0")" || exit 2
exec podfit explain -f cluster.yaml --pod pod.yaml "$@"
