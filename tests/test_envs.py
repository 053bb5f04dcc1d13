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
def test_env_agrees_with_pyproject(env: Path):
    declared = pyproject_requirements()
    conda, pip = env_requirements(env)
    assert "-e ../" in pip, f"{env}: pip section must install the package itself (-e ../)"
    python = next(d for d in conda if d.startswith("python"))
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert python.split("=")[-1] in Requirement(f"python{requires}").specifier, f"{env}: {python} vs {requires}"
    for line in [d for d in conda if re.split(r"[<>=! ]", d)[0] not in CONDA_ONLY] + [p for p in pip if p != "-e ../"]:
        req = Requirement(line.replace("=", "==") if re.fullmatch(r"[\w.-]+=[\w.]+", line) else line)
        assert norm(req.name) in declared, f"{env}: {req.name} is not declared in pyproject.toml"
        want = lower_bound(declared[norm(req.name)])
        assert lower_bound(req) == want, f"{env}: {line} but pyproject.toml asks for {declared[norm(req.name)]}"


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
