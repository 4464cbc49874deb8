"""pytest plugin: podfit's conformance properties as test items, and fixtures for your own.

Registered as the ``pytest11`` entry point ``podfit``; it does nothing unless asked. A test
module of your project runs the properties against your scheduler::

    def test_conformance(podfit_unit):
        podfit_unit.check()

    pytest --podfit-adapter "exec:./my-scheduler" [--podfit-rules taints,resources]
           [--podfit-max-examples 200] [--podfit-seed 1234] [--podfit-kube-version 1.35]
           [--podfit-out DIR]

With ``--podfit-adapter`` that test is parametrized with each property on each rule area
the scheduler claims (and the stateful run): ordinary items with ids such as
``test_conformance[soundness-taints]``, so the header counts them, a node id copied from a
FAILED line re-runs one, and ``-k``, ``-x``, JUnit XML and pytest-xdist all apply (under
xdist every worker uses the controller's seed, so a run repeats from the seed in the
header). A failure carries the shrunk counterexample inline (the manifests), the seed and
the replay command; the counterexample is also written under ``.podfit/counterexamples``.

Fixtures: ``podfit_unit`` (above), ``podfit_scheduler`` (the adapter's scheduler,
session-wide; skips when no adapter is given), ``podfit_cluster_strategy`` and
``podfit_problem_strategy`` (Hypothesis strategies for clusters and for (cluster, pending
pod) pairs over the selected areas), ``podfit_seed``, and ``podfit_control_plane`` (a real
control plane started once per session from the binaries in ``$PODFIT_CONTROL_PLANE``;
skips without them).

Only pytest is imported at load time; podfit and Hypothesis are imported inside the hooks
that need them, so having the plugin installed costs other test runs nothing.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from podfit.cluster import Cluster
    from podfit.conformance.controlplane import ControlPlane
    from podfit.conformance.decisions import Scheduler
    from podfit.conformance.properties import Finding
    from podfit.conformance.runner import Unit
    from podfit.model import Pod

SEED_KEY = pytest.StashKey[int]()
SCHEDULER_KEY = pytest.StashKey["Scheduler"]()
WORKER_SEED = "podfit_seed"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("podfit", "podfit conformance")
    group.addoption(
        "--podfit-adapter",
        dest="podfit_adapter",
        default=None,
        metavar="SPEC",
        help="Check this scheduler (reference, mutant:NAME, python:MOD:FN, exec:CMD, "
        "extender:URL, kube:CTX): its properties are collected as test items.",
    )
    group.addoption(
        "--podfit-max-examples",
        dest="podfit_max_examples",
        type=int,
        default=200,
        metavar="N",
        help="Hypothesis examples per property and rule area (default 200).",
    )
    group.addoption(
        "--podfit-seed",
        dest="podfit_seed",
        type=int,
        default=None,
        metavar="SEED",
        help="Repeat a run: the seed is printed in the report header.",
    )
    group.addoption(
        "--podfit-rules",
        dest="podfit_rules",
        action="append",
        default=[],
        metavar="AREA_OR_ID",
        help="Only these rule areas or the areas of these rule ids (repeatable, or "
        "comma-separated).",
    )
    group.addoption(
        "--podfit-kube-version",
        dest="podfit_kube_version",
        default=None,
        metavar="MAJOR.MINOR",
        help="The Kubernetes release whose rules judge the scheduler (default: the newest "
        "podfit models).",
    )
    group.addoption(
        "--podfit-out",
        dest="podfit_out",
        default=None,
        metavar="DIR",
        help="Where counterexamples are written (default: .podfit/counterexamples under the "
        "rootdir; .podfit ignores itself in git).",
    )


def pytest_configure(config: pytest.Config) -> None:
    seed = config.getoption("podfit_seed")
    if seed is None:
        worker: dict[str, Any] | None = getattr(config, "workerinput", None)
        if worker is not None and WORKER_SEED in worker:
            seed = int(worker[WORKER_SEED])  # pytest-xdist: the controller's seed
        else:
            seed = random.Random().getrandbits(32)
    config.stash[SEED_KEY] = seed
    if config.getoption("podfit_adapter") is not None:
        _scheduler(config)  # a bad spec or an unreachable scheduler: a usage error, at once
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "podfit-xdist")


class _XdistHooks:
    """Registered only when pytest-xdist is there (its hook would be unknown otherwise)."""

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKER_SEED] = node.config.stash[SEED_KEY]


def pytest_unconfigure(config: pytest.Config) -> None:
    scheduler = config.stash.get(SCHEDULER_KEY, None)
    if scheduler is not None:
        scheduler.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    adapter = config.getoption("podfit_adapter")
    if adapter is None and config.getoption("podfit_seed") is None:
        return None
    seed = config.stash[SEED_KEY]
    return f"podfit: adapter {adapter or '(none)'}, using --podfit-seed={seed}"


# --- shared setup ------------------------------------------------------------------------------


def _patterns(config: pytest.Config) -> list[str]:
    raw: list[str] = config.getoption("podfit_rules")
    return [p.strip() for item in raw for p in item.split(",") if p.strip()]


def _selected_areas(config: pytest.Config) -> frozenset[str] | None:
    from podfit.conformance.properties import areas_for_rules

    patterns = _patterns(config)
    if not patterns:
        return None
    try:
        return areas_for_rules(patterns)
    except ValueError as exc:
        raise pytest.UsageError(f"--podfit-rules: {exc}") from None


def _scheduler(config: pytest.Config) -> Scheduler:
    """The adapter's scheduler, started once per process and closed at the end."""
    scheduler = config.stash.get(SCHEDULER_KEY, None)
    if scheduler is None:
        from podfit.adapters import resolve
        from podfit.conformance.decisions import AdapterError
        from podfit.conformance.runner import check_reachable

        spec = config.getoption("podfit_adapter")
        try:
            scheduler = resolve(spec)
            check_reachable(scheduler)
        except AdapterError as exc:
            raise pytest.UsageError(f"--podfit-adapter: {exc}") from None
        config.stash[SCHEDULER_KEY] = scheduler
    return scheduler


def _chosen_areas(config: pytest.Config, scheduler: Scheduler) -> frozenset[str]:
    from podfit.conformance.decisions import ALL_AREAS

    claimed = frozenset(scheduler.areas) & ALL_AREAS
    selected = _selected_areas(config)
    return claimed if selected is None else claimed & selected


# --- the conformance tests -----------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes ``podfit_unit`` runs once per property and rule area (and once for
    the stateful run): ordinary parametrized items, so ``pytest 'path::test[soundness-taints]'``
    re-runs one, and the header counts them."""
    if "podfit_unit" not in metafunc.fixturenames:
        return
    config = metafunc.config
    if config.getoption("podfit_adapter") is None:
        skip = pytest.mark.skip(reason="no --podfit-adapter given")
        metafunc.parametrize("podfit_unit", [pytest.param(None, marks=skip)], ids=["no-adapter"])
        return
    from podfit.conformance.properties import DEFAULT_PROPERTIES
    from podfit.conformance.runner import plan_units

    scheduler = _scheduler(config)
    areas = _chosen_areas(config, scheduler)
    if not areas:
        raise pytest.UsageError(
            f"--podfit-adapter: {scheduler.name} claims none of the selected rule areas"
        )
    units = plan_units(DEFAULT_PROPERTIES, areas, config.stash[SEED_KEY])
    metafunc.parametrize(
        "podfit_unit", units, ids=[f"{u.property}-{u.area}" for u in units], indirect=True
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """``--podfit-adapter`` with no test to run the properties would check nothing: say so."""
    config = session.config
    if config.getoption("podfit_adapter") is None or config.getoption("collectonly"):
        return
    if session.items and not any(
        name.startswith("podfit_")
        for item in session.items
        for name in getattr(item, "fixturenames", ())
    ):
        raise pytest.UsageError(
            "--podfit-adapter: no collected test takes the podfit_unit fixture, so nothing "
            "would be checked; add one to a test module:\n\n"
            "    def test_conformance(podfit_unit):\n"
            "        podfit_unit.check()\n"
        )


class ConformanceFailure(AssertionError):
    """A property failed: the finding, the seed, the replay command and the shrunk example."""

    def __init__(self, text: str, finding: Finding) -> None:
        super().__init__(text)
        self.finding = finding


class ConformanceUnit:
    """One property on one rule area (or the stateful run), run as a Hypothesis test by
    :meth:`check`."""

    def __init__(self, unit: Unit, config: pytest.Config, node: pytest.Item) -> None:
        self.unit = unit
        self.config = config
        self.node = node

    def __repr__(self) -> str:
        return f"<podfit unit {self.unit.name} seed {self.unit.seed}>"

    def check(self) -> None:
        """Run the unit; raise :class:`ConformanceFailure` (an AssertionError) with the
        shrunk counterexample when the scheduler breaks the property."""
        __tracebackhide__ = True
        from podfit.conformance.runner import run_unit, write_counterexample
        from podfit.versions import LATEST, parse_version

        config = self.config
        scheduler = _scheduler(config)
        areas = _chosen_areas(config, scheduler)
        raw_version = config.getoption("podfit_kube_version")
        version = parse_version(raw_version) if raw_version else LATEST
        result = run_unit(
            scheduler,
            self.unit,
            max_examples=config.getoption("podfit_max_examples"),
            judged=frozenset(scheduler.areas),
            generated=areas,
            version=version,
        )
        self.node.user_properties.append(("podfit_examples", result.counts.run))
        self.node.user_properties.append(("podfit_seed", self.unit.seed))
        if result.finding is None:
            return
        out = config.getoption("podfit_out")
        base = Path(out) if out else _default_out(config)
        # One directory per unit: xdist workers never write the same one.
        where = write_counterexample(
            result.finding, base / f"{self.unit.property}-{self.unit.area}"
        )
        finding = replace(result.finding, path=str(where))
        raise ConformanceFailure(self._text(finding, str(version)), finding)

    def _text(self, f: Finding, version: str) -> str:
        from podfit.conformance.runner import counterexample_text, replay_command

        lines = [
            f"{f.property} failed for {f.scheduler} (Kubernetes {version}): {f.message}",
            f"rules: {', '.join(f.rule_ids) or '(none)'}",
            f"reference feasible nodes: {', '.join(f.reference.feasible) or 'none'}",
            f"seed: {self.unit.seed} (run with --podfit-seed={self.config.stash[SEED_KEY]})",
        ]
        if f.path:
            lines += [f"counterexample: {f.path}", f"replay: {replay_command(f.path, f.replay)}"]
        return "\n".join(lines) + "\n\n" + counterexample_text(f)


def _default_out(config: pytest.Config) -> Path:
    from podfit.conformance.runner import state_dir

    return state_dir(config.rootpath / ".podfit") / "counterexamples"


@pytest.fixture
def podfit_unit(request: pytest.FixtureRequest) -> ConformanceUnit:
    """One conformance unit of the scheduler ``--podfit-adapter`` names: a test taking this
    fixture is run once per property and rule area; call ``podfit_unit.check()``."""
    unit: Unit | None = getattr(request, "param", None)
    if unit is None:
        pytest.skip("no --podfit-adapter given")
    item = request.node
    assert isinstance(item, pytest.Item)
    return ConformanceUnit(unit, request.config, item)


# --- fixtures for your own tests ---------------------------------------------------------------


@pytest.fixture(scope="session")
def podfit_seed(pytestconfig: pytest.Config) -> int:
    """The run's seed (``--podfit-seed``, or the one drawn and printed in the header)."""
    return pytestconfig.stash[SEED_KEY]


@pytest.fixture(scope="session")
def podfit_scheduler(pytestconfig: pytest.Config) -> Iterator[Scheduler]:
    """The scheduler ``--podfit-adapter`` names; the test is skipped without one."""
    if pytestconfig.getoption("podfit_adapter") is None:
        pytest.skip("no --podfit-adapter given")
    yield _scheduler(pytestconfig)


def _fixture_areas(config: pytest.Config) -> frozenset[str] | None:
    if config.getoption("podfit_adapter") is not None:
        return _chosen_areas(config, _scheduler(config))
    return _selected_areas(config)


@pytest.fixture(scope="session")
def podfit_cluster_strategy(pytestconfig: pytest.Config) -> SearchStrategy[Cluster]:
    """Clusters with the features of the selected areas (those the adapter claims, cut down
    by ``--podfit-rules``; every area without either). Draw from it with ``st.data()``."""
    from podfit.conformance.strategies import clusters

    return clusters(areas=_fixture_areas(pytestconfig))


@pytest.fixture(scope="session")
def podfit_problem_strategy(pytestconfig: pytest.Config) -> SearchStrategy[tuple[Cluster, Pod]]:
    """(cluster, pending pod) pairs over the selected areas, as the conformance run uses."""
    from podfit.conformance.strategies import scheduling_problems

    return scheduling_problems(areas=_fixture_areas(pytestconfig))


#: The environment variable naming a directory of control-plane binaries.
CONTROL_PLANE_ENV = "PODFIT_CONTROL_PLANE"


@pytest.fixture(scope="session")
def podfit_control_plane() -> Iterator[ControlPlane]:
    """A real control plane (etcd, kube-apiserver, kube-scheduler, kube-controller-manager
    and node-ready, or KWOK's stand-in) on loopback, started once per session from the
    binaries in ``$PODFIT_CONTROL_PLANE`` and stopped at the end; skips, saying why,
    without them. ``.kubeconfig`` and ``.context`` reach it; ``kube:CONTEXT?kubeconfig=...``
    points the kube adapter at it."""
    import os

    from podfit.conformance.controlplane import ControlPlane, missing_binaries

    directory = os.environ.get(CONTROL_PLANE_ENV, "")
    if not directory:
        pytest.skip(f"no control plane: set {CONTROL_PLANE_ENV} to a directory of binaries")
    missing = missing_binaries(directory)
    if missing:
        pytest.skip(f"no control plane: {CONTROL_PLANE_ENV}={directory} lacks {', '.join(missing)}")
    plane = ControlPlane(directory).start()
    try:
        yield plane
    finally:
        plane.stop()
