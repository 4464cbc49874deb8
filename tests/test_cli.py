"""The command line: exit codes, output formats, no tracebacks for a user's mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml
from click.testing import CliRunner

from podfit.cli import cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and "podfit" in out
    code, out, _ = run("--help")
    assert code == 0 and "explain" in out and "spec" in out


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "podfit", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "podfit" in proc.stdout


def test_validate_example_in_every_format() -> None:
    code, out, _ = run("validate", "-f", str(EXAMPLES / "cluster.yaml"))
    assert code == 0
    assert "5 nodes" in out and "1 Service" in out
    code, out, _ = run("validate", "-f", str(EXAMPLES / "cluster.yaml"), "-o", "json")
    data = json.loads(out)
    assert data["nodes"] == 5 and data["loaded"]["Service"] == 1 and data["skipped"] == {}
    code, out, _ = run("validate", "-f", str(EXAMPLES / "cluster.yaml"), "-o", "yaml")
    assert yaml.safe_load(out)["pods"] == {"bound": 4, "pending": 0}


def test_bad_input_exits_2_without_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {capacity: {cpu: 1.2.3}}\n"
    )
    code, out, err = run("validate", "-f", str(bad))
    assert code == 2
    assert "Traceback" not in err + out
    assert err.startswith("podfit: error: ") and "status.capacity.cpu" in err
    code, _, err = run("validate", "-f", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file" in err


def test_usage_errors_exit_2() -> None:
    code, _, _ = run("validate")
    assert code == 2
    code, _, _ = run("validate", "-f", str(EXAMPLES / "cluster.yaml"), "-o", "xml")
    assert code == 2
    code, _, err = run("spec", "show", "no.such.rule")
    assert code == 2 and "no rule with id" in err


def test_spec_list_show_verify() -> None:
    code, out, _ = run("spec", "list", "-o", "json")
    assert code == 0
    ids = [r["id"] for a in json.loads(out)["areas"] for r in a["rules"]]
    assert ids and all(i.count(".") >= 2 for i in ids)
    code, out, _ = run("spec", "show", ids[0])
    assert code == 0 and ids[0] in out and "upstream:" in out
    code, out, _ = run("spec", "verify", "--rules", "quantity", "-o", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["failures"] == [] and data["backends"]["reference"]["pass"] > 0
    code, _, err = run("spec", "verify", "--backend", "nope")
    assert code == 2 and "cannot read scheduler spec 'nope'" in err
