"""The reference implementation of the rules in ``podfit.spec``.

One module per kube-scheduler plugin (filter and score), plus the framework that
runs them in kube-scheduler's order, QoS, admission, queue order, preemption and
DaemonSet placement. It is written from upstream source and checked against the
spec's examples and, independently, against the Z3 encoding in ``podfit.solver``.
"""
