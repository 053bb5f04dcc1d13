"""envs/*.yaml (for `--sdm conda`) agree with pyproject.toml and with the rules that use them."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from packaging.requirements import Requirement

ENVS = sorted((REPO / "envs").glob("*.yaml"))
# Import names that differ from their distribution's name.
DISTRIBUTION_OF = {
    "PIL": "pillow",
    "sklearn": "scikit-learn",
    "yaml": "pyyaml",
    "cuml": "cuml-cu12",
    "cupy": "cupy-cuda12x",
}
# Conda-only packages with no PyPI twin in pyproject (cuML's PyPI twin is the `gpu` extra).
CONDA_ONLY = {"python", "pip", "cuml"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {norm(r.name): r for r in map(Requirement, reqs)}


def lower_bound(req: Requirement) -> str | None:
    return next((s.version for s in req.specifier if s.operator in (">=", "==")), None)


def env_requirements(path: Path) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip dependencies) of an environment file."""
    env = yaml.safe_load(path.read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = [p for d in env["dependencies"] if isinstance(d, dict) for p in d.get("pip", [])]
    return conda, pip


def test_every_rule_env_exists_and_every_env_is_used():
    used = set()
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for rel in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            env = (smk.parent / rel).resolve()
            assert env.exists(), f"{smk.name}: conda env {rel} does not exist"
            used.add(env)
    assert used == {p.resolve() for p in ENVS}, f"unused env files: {set(ENVS) - used}"


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_env_is_pinned_within_pyproject_and_installs_the_package_without_dependencies(env: Path):
    declared = pyproject_requirements()
    conda, pip = env_requirements(env)
    python = next(d for d in conda if d.startswith("python"))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python.split("=")[-1] in Requirement(f"python{requires}").specifier, f"{env}: {python} vs {requires}"
    assert not any(p.startswith("-e") for p in pip), f"{env}: the package comes from the post-deploy script"
    for line in pip:
        req = Requirement(line)
        pins = [s.version for s in req.specifier if s.operator == "=="]
        assert len(pins) == 1, f"{env}: {line} is not pinned (name==version)"
        assert norm(req.name) in declared, f"{env}: {req.name} is not declared in pyproject.toml"
        assert declared[norm(req.name)].specifier.contains(pins[0]), f"{env}: {line} outside pyproject's range"
    deploy = env.with_suffix(".post-deploy.sh")
    assert deploy.exists(), f"{env}: no {deploy.name} to install the package"
    assert "pip install --no-deps -e" in deploy.read_text()


def rule_groups() -> dict[str, set[str]]:
    """env file stem -> the `relabelgan` sub-commands its rules run (from workflow/rules/*.smk)."""
    groups: dict[str, set[str]] = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for rule in re.split(r"^rule ", smk.read_text(), flags=re.M)[1:]:
            env = re.search(r'conda:\s*\n\s*"\.\./\.\./envs/(\w+)\.yaml"', rule)
            command = re.search(r"relabelgan ([a-z-]+)", rule)
            if env and command:
                groups.setdefault(env.group(1), set()).add(command.group(1))
    return groups


def env_closure(env: Path) -> set[str]:
    """Distributions an environment holds: its packages and their dependencies (as installed here)."""
    from importlib.metadata import PackageNotFoundError, distribution

    conda, pip = env_requirements(env)
    todo = [Requirement(p).name for p in pip] + [re.split(r"[<>=! ]", d)[0] for d in conda]
    held: set[str] = set()
    while todo:
        name = norm(todo.pop())
        if name in held:
            continue
        held.add(name)
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:  # conda-only (python, cuml): not installed here
            continue
        todo += [r.name for r in map(Requirement, requires) if not r.marker or r.marker.evaluate({"extra": ""})]
    return held


# The report and relabel steps, run through the real CLI on small real files (test_imports makes them):
# every command of each group, as that group's rules run it.
GROUP_STEPS = {
    "report": [
        ["gather", "--out", "{w}/metrics.csv", "{w}/m0.csv", "{w}/m1.csv"],
        ["audit", "--out-dir", "{w}/audit", "{w}/k1.h5", "{w}/k0.h5"],
        [
            "tables",
            "--metrics",
            "{w}/metrics.csv",
            "--dataset",
            "grid",
            "--out-csv",
            "{w}/t.csv",
            "--out-md",
            "{w}/t.md",
            "--out-png",
            "{w}/t.png",
        ],
        ["figures", "--metrics", "{w}/metrics.csv", "--dataset", "grid", "--out", "{w}/f.png"],
        ["metrics-table", "--spec", "{w}/run.yaml", "--round", "1", "--record", "{w}/r1.json", "--out", "{w}/mt1.csv"],
    ],
    "rapids": [
        ["relabel", "--spec", "{w}/run.yaml", "--round", "0", "--features", "{w}/f0.h5", "--out", "{w}/l0.h5"],
        [
            "relabel",
            "--spec",
            "{w}/run.yaml",
            "--round",
            "1",
            "--features",
            "{w}/f1.h5",
            "--previous",
            "{w}/l0.h5",
            "--out",
            "{w}/l1.h5",
            "--metrics",
            "{w}/q1.csv",
        ],
        [
            "relabel",
            "--spec",
            "{w}/split.yaml",
            "--round",
            "1",
            "--features",
            "{w}/f1.h5",
            "--previous",
            "{w}/one.h5",
            "--out",
            "{w}/s1.h5",
        ],
        ["relabel", "--spec", "{w}/slc.yaml", "--round", "0", "--features", "{w}/f1.h5", "--out", "{w}/c0.h5"],
    ],
}
# Runs the steps as in the lean environment: modules of distributions the env does not hold cannot be
# imported (as there), so a step that needs one fails, and optional imports take their fallback.
CHILD = r"""
import importlib.abc, json, sys
hidden = set(json.loads(sys.argv[2]))

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (not in this rule group's env)", name=name)
        return None

sys.meta_path.insert(0, Absent())
from relabelgan.cli import main
for argv in json.loads(sys.argv[1]):
    assert main(argv) == 0, f"relabelgan {argv[0]} failed"
"""


@pytest.mark.parametrize("group", sorted(GROUP_STEPS))
def test_a_rule_groups_steps_run_with_only_what_its_env_holds(group, tmp_path):
    """Each group's steps, in a fresh process that cannot import any distribution its env file does
    not bring (torch, scikit-learn, seaborn, snakemake, ...), do their work."""
    import json
    import subprocess
    from importlib.metadata import packages_distributions

    from test_imports import _inputs

    from relabelgan.core.config import load_config, run_spec

    steps = GROUP_STEPS[group]
    assert {s[0] for s in steps} == rule_groups()[group], "exercise every command the group's rules run"
    _inputs(tmp_path)
    spec = run_spec(load_config(tmp_path / "config.yaml"), "grid-selfcond", 0)
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(spec))  # as the resolve rule writes it
    held = env_closure(REPO / "envs" / f"{group}.yaml")
    hidden = sorted(
        m
        for m, dists in packages_distributions().items()
        if m not in sys.stdlib_module_names and m != "relabelgan" and not {norm(d) for d in dists} & held
    )
    assert {"torch", "sklearn" if group == "report" else "seaborn", "snakemake"} <= set(hidden)
    argv = [[a.format(w=tmp_path) for a in step] for step in steps]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(argv), json.dumps(hidden)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"{group} steps need more than envs/{group}.yaml holds:\n{proc.stderr[-3000:]}"
    assert (tmp_path / ("t.png" if group == "report" else "c0.h5")).exists()


def test_the_torch_env_holds_every_runtime_dependency_but_the_workflow_and_report_ones():
    """The training group runs most of the package, so its env is pyproject's dependencies minus
    snakemake (the workflow engine, outside the rule envs) and seaborn (report tables only)."""
    _, pip = env_requirements(REPO / "envs" / "torch.yaml")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {norm(Requirement(r).name) for r in project["dependencies"]} - {"snakemake", "seaborn"}
    assert {norm(Requirement(p).name) for p in pip} == runtime


def test_every_imported_package_is_declared_in_pyproject():
    declared = pyproject_requirements()
    stdlib = set(sys.stdlib_module_names)
    missing = {}
    for source in (REPO / "src" / "relabelgan").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for top in {n.split(".")[0] for n in names} - stdlib - {"relabelgan"}:
                if norm(DISTRIBUTION_OF.get(top, top)) not in declared:
                    missing.setdefault(top, []).append(source.name)
    assert not missing, f"imported but not in pyproject.toml dependencies/extras: {missing}"
