#!/bin/sh
# completeness failed for mutant:resize-status-ignored: answered unschedulable, but 1 node(s) pass every filter of its areas: node-0 (the scheduler's reasons: node-0: Insufficient example.com/gpu)
# The scheduler answered unschedulable; the reference's feasible nodes: node-0.
# Replay the pod through podfit's reference:
cd "$(dirname "$0")" || exit 2
exec podfit explain -f cluster.yaml --pod pod.yaml "$@"
