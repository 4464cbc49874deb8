#!/bin/sh
# soundness failed for mutant:resize-status-ignored: picked node-0, which the reference rejects (NodeResourcesFit: Insufficient cpu)
# The scheduler answered node-0; the reference's feasible nodes: none.
# Replay the pod through podfit's reference:
cd "$(dirname "$0")" || exit 2
exec podfit explain -f cluster.yaml --pod pod.yaml "$@"
