"""Config loading: defaults merged into runs, validated against the JSON schema.

The schema (workflow/schemas/config.schema.yaml) is the one place defaults and allowed
values live. The workflow and the CLI both call :func:`resolve_config`, so a run resolves
the same way with or without Snakemake. A resolved run (one run, one seed, its dataset
spelled out) is saved beside the run's outputs as ``run.yaml``; every rule reads that.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """The config has a bad key or value; the message names it."""


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(config: dict, source: str) -> None:
    # Snakemake's validate fills schema defaults into nested objects as it validates.
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(SCHEMA_PATH), set_default=True)
    except WorkflowError as e:
        raise ConfigError(f"{source}: {_first_error(config) or e}. Allowed keys and values: {SCHEMA_PATH}") from None


def _first_error(config: dict) -> str | None:
    """The most relevant schema violation, as 'invalid value at <key path>: <reason>'."""
    import jsonschema

    with open(SCHEMA_PATH) as f:
        schema = yaml.safe_load(f)
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(config))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    return f"invalid value at '{where}': {error.message}"


def resolve_config(config: dict, source: str = "config") -> dict:
    """Return a copy of ``config`` with defaults merged into every run and validated.

    Raises :class:`ConfigError` naming the key path of the first bad value.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    cfg = copy.deepcopy(config)
    shared = cfg.get("defaults") or {}
    if not isinstance(shared, dict):
        raise ConfigError(f"{source}: 'defaults' must be a mapping")
    if isinstance(cfg.get("runs"), dict):
        cfg["runs"] = {
            name: _deep_merge(shared, run) if isinstance(run, dict) else run for name, run in cfg["runs"].items()
        }
    _validate(cfg, source)
    for name, run in cfg["runs"].items():
        if run["dataset"] not in cfg["datasets"]:
            raise ConfigError(
                f"{source}: runs.{name}.dataset is {run['dataset']!r}, which is not a key of 'datasets' "
                f"({', '.join(sorted(cfg['datasets']))})"
            )
    return cfg


def load_config(path: str | Path) -> dict:
    """Read and resolve a config.yaml."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    with open(path) as f:
        return resolve_config(yaml.safe_load(f) or {}, source=str(path))


def run_spec(config: dict, run: str, seed: int) -> dict[str, Any]:
    """The resolved spec of one run and seed: the run's keys plus ``name``, ``seed``, ``dataset_spec``."""
    if run not in config["runs"]:
        raise ConfigError(f"run {run!r} is not in the config (runs: {', '.join(sorted(config['runs']))})")
    spec = copy.deepcopy(config["runs"][run])
    spec["name"] = run
    spec["seed"] = int(seed)
    spec["dataset_spec"] = copy.deepcopy(config["datasets"][spec["dataset"]])
    return spec


def read_spec(path: str | Path) -> dict[str, Any]:
    """Read a run.yaml written by ``relabelgan resolve``."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: run spec not found; make it with `relabelgan resolve` or the workflow")
    with open(path) as f:
        spec = yaml.safe_load(f)
    for key in ("name", "seed", "method", "dataset_spec"):
        if not isinstance(spec, dict) or key not in spec:
            raise ConfigError(f"{path}: not a resolved run spec (key {key!r} missing)")
    return spec
