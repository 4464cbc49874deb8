"""Synthetic clusters for the benchmarks: realistic label, taint and pod mixes, seeded."""

from __future__ import annotations

import random
from typing import Any

ZONES = ["zone-a", "zone-b", "zone-c"]
APPS = [f"app-{i}" for i in range(40)]


def node_manifest(i: int, rng: random.Random, labels_per_node: int = 20) -> dict[str, Any]:
    labels = {
        "kubernetes.io/hostname": f"node-{i}",
        "topology.kubernetes.io/zone": ZONES[i % len(ZONES)],
        "disktype": rng.choice(["ssd", "hdd"]),
        "pool": rng.choice(["general", "batch", "memory"]),
    }
    for j in range(labels_per_node - len(labels)):
        labels[f"example.com/label-{j}"] = f"v{rng.randrange(5)}"
    taints = [
        {
            "key": f"dedicated-{t}",
            "value": rng.choice(["a", "b"]),
            "effect": rng.choice(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
        }
        for t in range(rng.randrange(4))
    ]
    cpu = rng.choice([8, 16, 32, 64])
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": f"node-{i}", "labels": labels},
        "spec": {"taints": taints},
        "status": {
            "allocatable": {
                "cpu": str(cpu),
                "memory": f"{cpu * 4}Gi",
                "pods": "110",
                "ephemeral-storage": "100Gi",
            },
            "images": [
                {"names": [f"registry.example.com/{a}:1.0"], "sizeBytes": 200_000_000}
                for a in rng.sample(APPS, 3)
            ],
        },
    }


def pod_manifest(name: str, rng: random.Random, node: str | None = None) -> dict[str, Any]:
    app = rng.choice(APPS)
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": f"registry.example.com/{app}:1.0",
                "resources": {
                    "requests": {
                        "cpu": f"{rng.choice([50, 100, 250, 500])}m",
                        "memory": f"{rng.choice([64, 128, 256, 512])}Mi",
                    }
                },
            }
        ],
        "tolerations": [{"key": "dedicated-0", "operator": "Exists"}] if rng.random() < 0.3 else [],
    }
    if node is not None:
        spec["nodeName"] = node
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "bench", "labels": {"app": app}},
        "spec": spec,
        "status": {"phase": "Running"} if node else {},
    }


def cluster_manifests(nodes: int, pods_per_node: int = 10, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = [node_manifest(i, rng) for i in range(nodes)]
    for i in range(nodes * pods_per_node):
        out.append(pod_manifest(f"running-{i}", rng, node=f"node-{rng.randrange(nodes)}"))
    return out


def pending_pod(seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    pod = pod_manifest("pending", rng)
    pod["spec"]["nodeSelector"] = {"disktype": "ssd"}
    pod["spec"]["affinity"] = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 10,
                    "preference": {
                        "matchExpressions": [
                            {"key": "pool", "operator": "In", "values": ["general"]}
                        ]
                    },
                }
            ]
        }
    }
    pod["spec"]["tolerations"] = [
        {"key": "dedicated-0", "operator": "Exists"},
        {"key": "dedicated-1", "operator": "Equal", "value": "a"},
    ]
    return pod


def spread_pods(count: int, apps: int = 100) -> list[dict[str, object]]:
    """Replicas of ``apps`` apps: hostname anti-affinity within an app, zone spread."""
    out: list[dict[str, object]] = []
    for i in range(count):
        app = f"svc-{i % apps}"
        selector = {"matchLabels": {"app": app}}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"pending-{i}", "namespace": "bench", "labels": {"app": app}},
                "spec": {
                    "containers": [
                        {"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}
                    ],
                    "tolerations": [{"operator": "Exists"}],
                    "affinity": {
                        "podAntiAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": [
                                {"topologyKey": "kubernetes.io/hostname", "labelSelector": selector}
                            ]
                        }
                    },
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": selector,
                        }
                    ],
                },
            }
        )
    return out
