"""Scheduler profiles: the default one, and those a KubeSchedulerConfiguration describes.

Upstream: ``pkg/scheduler/apis/config/v1/default_plugins.go`` (the default plugins,
their order and score weights) and ``pkg/scheduler/apis/config/v1/defaults.go``
(merging user-enabled and disabled plugins into the defaults).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podfit.errors import PodfitError
from podfit.fields import Field
from podfit.model import DEFAULT_SCHEDULER
from podfit.spec.versions import change_holds
from podfit.versions import LATEST, KubeVersion

from .framework import Plugin, Profile

# Plugin name -> module in podfit.reference that defines it (class attribute `name`).
# Only plugins podfit implements are listed here.
PLUGIN_MODULES: dict[str, str] = {
    "NodeUnschedulable": "nodeunschedulable",
    "NodeName": "nodename",
    "TaintToleration": "tainttoleration",
    "NodeAffinity": "nodeaffinity",
    "NodePorts": "nodeports",
    "NodeResourcesFit": "noderesources",
    "PodTopologySpread": "podtopologyspread",
    "InterPodAffinity": "interpodaffinity",
    "NodeResourcesBalancedAllocation": "balancedallocation",
    "ImageLocality": "imagelocality",
    "DynamicResources": "dynamicresources",
    "NodeDeclaredFeatures": "nodedeclaredfeatures",
}

# Upstream's default profile in order (MultiPoint in default_plugins.go), with score weights
# (0: the plugin does not score). The queue, preemption and binding plugins are elsewhere.
UPSTREAM_DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    ("NodeUnschedulable", 0),
    ("NodeName", 0),
    ("TaintToleration", 3),
    ("NodeAffinity", 2),
    ("NodePorts", 0),
    ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0),
    ("NodeVolumeLimits", 0),
    ("VolumeBinding", 0),
    ("VolumeZone", 0),
    ("PodTopologySpread", 2),
    ("InterPodAffinity", 2),
    ("DynamicResources", 2),
    ("NodeResourcesBalancedAllocation", 1),
    ("ImageLocality", 1),
    # Appended to MultiPoint when its gate is on (applyFeatureGates).
    ("NodeDeclaredFeatures", 0),
)
#: The spec's version changes that put DynamicResources in the default profile, and make
#: it score (with weight 2).
DRA_IN_DEFAULT_PROFILE = "dynamic-resources-in-default-profile"
DRA_SCORES = "dynamic-resources-scores"
NODE_DECLARED_FEATURES = "node-declared-features-in-default-profile"


def upstream_default_plugins(version: KubeVersion = LATEST) -> tuple[tuple[str, int], ...]:
    """Upstream's default plugins and weights for a release (feature gates applied)."""
    out = []
    for name, weight in UPSTREAM_DEFAULT_PLUGINS:
        if name == "DynamicResources":
            if not change_holds(DRA_IN_DEFAULT_PROFILE, version):
                continue
            weight = weight if change_holds(DRA_SCORES, version) else 0
        if name == "NodeDeclaredFeatures" and not change_holds(NODE_DECLARED_FEATURES, version):
            continue
        out.append((name, weight))
    return tuple(out)


def default_plugins(version: KubeVersion = LATEST) -> tuple[tuple[str, int], ...]:
    """The default plugins podfit models, in upstream's order, with their weights."""
    return tuple(p for p in upstream_default_plugins(version) if p[0] in PLUGIN_MODULES)


def not_modelled(version: KubeVersion = LATEST) -> tuple[str, ...]:
    """Upstream default plugins podfit does not model (volume plugins need PVs and PVCs)."""
    return tuple(n for n, _ in upstream_default_plugins(version) if n not in PLUGIN_MODULES)


DEFAULT_PLUGINS = default_plugins()
NOT_MODELLED = not_modelled()


class ConfigError(PodfitError):
    pass


def plugin_class(name: str) -> type[Plugin]:
    module = PLUGIN_MODULES.get(name)
    if module is None:
        known = ", ".join(PLUGIN_MODULES)
        raise ConfigError(f"unknown plugin {name!r} (podfit models: {known})")
    mod = importlib.import_module(f"podfit.reference.{module}")
    for value in vars(mod).values():
        if isinstance(value, type) and issubclass(value, Plugin) and value.name == name:
            return value
    raise ConfigError(f"plugin {name!r} is not defined in podfit.reference.{module}")


@dataclass(frozen=True)
class PluginSet:
    filters: tuple[str, ...]
    scores: tuple[tuple[str, int], ...]


def _default_set(version: KubeVersion = LATEST) -> PluginSet:
    plugins = default_plugins(version)
    classes = {name: plugin_class(name) for name, _ in plugins}
    return PluginSet(
        filters=tuple(n for n, _ in plugins if classes[n].filters),
        scores=tuple((n, w) for n, w in plugins if classes[n].scores and w > 0),
    )


def build_profile(
    scheduler_name: str = DEFAULT_SCHEDULER,
    plugins: PluginSet | None = None,
    args: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    version: KubeVersion = LATEST,
) -> Profile:
    chosen = plugins or _default_set(version)
    args = args or {}
    instances: dict[str, Plugin] = {}

    def instance(name: str) -> Plugin:
        if name not in instances:
            instances[name] = plugin_class(name)(args.get(name), version=version)
        return instances[name]

    filters = tuple(instance(n) for n in chosen.filters)
    # DynamicResources' PostFilter runs before DefaultPreemption when the plugin is enabled.
    dra = any(p.name == "DynamicResources" for p in filters)
    return Profile(
        scheduler_name=scheduler_name,
        filter_plugins=filters,
        score_plugins=tuple((instance(n), w) for n, w in chosen.scores),
        version=version,
        post_filters=(("DynamicResources",) if dra else ()) + ("DefaultPreemption",),
    )


_DEFAULT_PROFILES: dict[KubeVersion, Profile] = {}


def default_profile(version: KubeVersion = LATEST) -> Profile:
    """The default profile of ``version`` (built once per release: profiles hold no state
    between cycles)."""
    profile = _DEFAULT_PROFILES.get(version)
    if profile is None:
        profile = _DEFAULT_PROFILES[version] = build_profile(version=version)
    return profile


# --- KubeSchedulerConfiguration ----------------------------------------------------------------


def _names(f: Field) -> list[tuple[str, int | None]]:
    out = []
    for item in f.items():
        name = item.at("name").text(required=True)
        weight = item.at("weight").optional_integer(minimum=0)
        out.append((name, weight))
    return out


def _merge(defaults: list[tuple[str, int]], section: Field, point: str) -> list[tuple[str, int]]:
    """Upstream's merge: drop disabled defaults ('*' drops all), re-enabled defaults keep
    their place with the new weight, other enabled plugins are appended."""
    disabled = {n for n, _ in _names(section.at("disabled"))}
    enabled = _names(section.at("enabled"))
    for name, _ in enabled:
        plugin_class(name)
    for name in disabled - {"*"}:
        plugin_class(name)
    enabled_map = {n: w for n, w in enabled}
    out: list[tuple[str, int]] = []
    if "*" not in disabled:
        for name, weight in defaults:
            if name in disabled:
                continue
            if name in enabled_map:
                new = enabled_map.pop(name)
                if new is not None:
                    weight = new
            out.append((name, weight))
    for name, maybe_weight in enabled:
        if name in enabled_map:
            cls = plugin_class(name)
            if point == "filter" and not cls.filters:
                raise section.error(f"plugin {name!r} has no filter extension point")
            if point == "score" and not cls.scores:
                raise section.error(f"plugin {name!r} has no score extension point")
            default_weight = dict(UPSTREAM_DEFAULT_PLUGINS).get(name) or 1
            out.append((name, maybe_weight if maybe_weight is not None else default_weight))
    return out


def profiles_from_config(
    config: Mapping[str, Any], version: KubeVersion = LATEST
) -> dict[str, Profile]:
    """Profiles by schedulerName from a KubeSchedulerConfiguration manifest, on top of the
    default plugins of ``version``."""
    f = Field(config)
    f.mapping()
    kind = f.at("kind").text(required=True)
    if kind != "KubeSchedulerConfiguration":
        raise f.at("kind").error(f"expected KubeSchedulerConfiguration, got {kind!r}")
    api_version = f.at("apiVersion").text(required=True)
    if api_version != "kubescheduler.config.k8s.io/v1":
        raise f.at("apiVersion").error(
            f"unsupported apiVersion {api_version!r} (expected kubescheduler.config.k8s.io/v1)"
        )
    defaults = _default_set(version)
    out: dict[str, Profile] = {}
    items = f.at("profiles").items() or [Field({}, "profiles[0]")]
    for item in items:
        name = item.at("schedulerName").text(DEFAULT_SCHEDULER)
        if name in out:
            raise item.at("schedulerName").error(f"duplicate profile {name!r}")
        plugins = item.at("plugins")
        multi = plugins.at("multiPoint")
        filters = _merge([(n, 0) for n in defaults.filters], multi, "multiPoint")
        filters = [(n, w) for n, w in filters if plugin_class(n).filters]
        filters = _merge(filters, plugins.at("filter"), "filter")
        scores = _merge(list(defaults.scores), multi, "multiPoint")
        scores = [(n, w) for n, w in scores if plugin_class(n).scores]
        scores = _merge(scores, plugins.at("score"), "score")
        args: dict[str, Mapping[str, Any]] = {}
        for pc in item.at("pluginConfig").items():
            plugin = pc.at("name").text(required=True)
            plugin_class(plugin)
            args[plugin] = pc.at("args").mapping()
        try:
            out[name] = build_profile(
                name,
                PluginSet(
                    filters=tuple(n for n, _ in filters),
                    scores=tuple((n, w) for n, w in scores if w > 0),
                ),
                args,
                version=version,
            )
        except PodfitError as exc:
            raise ConfigError(f"profiles: {name}: {exc}") from None
    return out
