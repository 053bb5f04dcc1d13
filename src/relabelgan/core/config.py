"""Config loading: defaults merged into runs, validated against the JSON schema.

The schema (config.schema.yaml in this package, linked from workflow/schemas/ where the
Snakemake catalog keeps schemas) is the one place defaults and allowed
values live. The workflow and the CLI both call :func:`resolve_config`, so a run resolves
the same way with or without Snakemake. A resolved run (one run, one seed, its dataset
spelled out) is saved beside the run's outputs as ``run.yaml``; every rule reads that.
"""

from __future__ import annotations

import copy
import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml

from ..data.registry import dataset_kind, evaluator_recipe, has_evaluator, holds_images
from .errors import ConfigError
from .network_choice import BATCHNORM_DS, resolve_arch

# Package data, so a non-editable install (`pip install .`) validates configs too.
SCHEMA_PATH = Path(__file__).resolve().with_name("config.schema.yaml")


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _validate(config: dict, source: str, given: dict) -> None:
    """Validate the merged ``config``; ``given`` is the config as written, to name where a bad value was set."""
    # Snakemake's validate fills schema defaults into nested objects as it validates.
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(SCHEMA_PATH), set_default=True)
    except WorkflowError as e:
        raise ConfigError(
            f"{source}: {_first_error(config, given) or e}. Allowed keys and values: {SCHEMA_PATH}"
        ) from None


def _holds(tree: Any, keys: list) -> bool:
    """Whether ``tree`` (nested dicts and lists) has a value at the key path ``keys``."""
    for key in keys:
        in_dict = isinstance(tree, dict) and key in tree
        in_list = isinstance(tree, list) and isinstance(key, int) and key < len(tree)
        if not (in_dict or in_list):
            return False
        tree = tree[key]
    return True


def _where_set(path: list, given: dict) -> list:
    """The key path a value was written at: a run's value that came from ``defaults:`` is named there."""
    if len(path) >= 3 and path[0] == "runs":
        run = (given.get("runs") or {}).get(path[1])
        if not _holds(run, path[2:]) and _holds(given.get("defaults") or {}, path[2:]):
            return ["defaults", *path[2:]]
    return path


@functools.cache
def _schema() -> dict:
    """The config schema (config.schema.yaml), read once per process."""
    with open(SCHEMA_PATH) as f:
        return yaml.safe_load(f)


def _name_pattern() -> str:
    """The pattern run and dataset names must match (the schema's ``propertyNames`` of ``runs``)."""
    return _schema()["properties"]["runs"]["propertyNames"]["pattern"]


def _first_error(config: dict, given: dict) -> str | None:
    """The most relevant schema violation, as 'invalid value at <key path>: <reason>'."""
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(_schema()).iter_errors(config))
    if error is None:
        return None
    where = ".".join(str(p) for p in _where_set(list(error.absolute_path), given)) or "(top level)"
    if error.validator == "pattern" and error.schema.get("pattern") == _name_pattern():
        # A run or dataset name: it becomes a path, a wildcard and a shell word.
        return f"invalid name under '{where}': {error.instance!r}; use letters, digits and . _ - (starting with a letter or digit)"
    if error.validator == "pattern":
        return f"invalid value at '{where}': {error.instance!r} is not a plain path; use letters, digits and _ . / + -"
    return f"invalid value at '{where}': {error.message}"


def resolve_config(config: dict, source: str = "config") -> dict:
    """Return a copy of ``config`` with defaults merged into every run and validated.

    Raises :class:`ConfigError` naming the key path of the first bad value.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    if not config:
        raise ConfigError(f"{source}: holds no settings; start from a copy of config.yaml or of a file in configs/")
    cfg = copy.deepcopy(config)
    if isinstance(cfg.get("seeds"), list):
        # `--config seeds=[0,1]` arrives as strings: Snakemake reads list values with YAML's BaseLoader.
        cfg["seeds"] = [int(s) if isinstance(s, str) and s.strip().isdigit() else s for s in cfg["seeds"]]
    shared = cfg.get("defaults") or {}
    if not isinstance(shared, dict):
        raise ConfigError(f"{source}: 'defaults' must be a mapping")
    _check_default_keys(shared, source)
    if isinstance(cfg.get("runs"), dict):
        cfg["runs"] = {
            name: _deep_merge(shared, run) if isinstance(run, dict) else run for name, run in cfg["runs"].items()
        }
    _validate(cfg, source, config)
    for name, run in cfg["runs"].items():
        if run["dataset"] not in cfg["datasets"]:
            raise ConfigError(
                f"{source}: runs.{name}.dataset is {run['dataset']!r}, which is not a key of 'datasets' "
                f"({', '.join(sorted(cfg['datasets']))})"
            )
        if run["fid"] and not holds_images(cfg["datasets"][run["dataset"]]["kind"]):
            raise ConfigError(
                f"{source}: runs.{name}.fid is true, but FID/IS need images and {run['dataset']} is 2D; set it false"
            )
        _check_d_norm(name, run, cfg["datasets"][run["dataset"]], source)
        _check_d_conditioning(name, run, source)
        _check_run_for_method(name, run, cfg["datasets"][run["dataset"]], source)
    return cfg


def _check_d_norm(name: str, run: dict, dataset: dict, source: str) -> None:
    """BatchNorm in D exists for the DCGAN body only, and a WGAN-GP critic's per-sample penalty forbids it."""
    if run["d_norm"] != "batch":
        return
    from ..methods import get_method

    arch = resolve_arch(run["arch"], images=holds_images(dataset["kind"]))
    if arch not in BATCHNORM_DS:
        raise ConfigError(
            f"{source}: runs.{name}.d_norm is 'batch', which only the {' and '.join(BATCHNORM_DS)} D have "
            f"(arch {arch!r}); set it auto or none"
        )
    if get_method(run["method"]).gradient_penalty:
        raise ConfigError(
            f"{source}: runs.{name}.d_norm is 'batch', but method {run['method']!r} trains a WGAN-GP critic, "
            "whose gradient penalty is per sample; set it auto or none"
        )


def _check_d_conditioning(name: str, run: dict, source: str) -> None:
    """d_conditioning chooses among the conditionings the method can train with (cgan: projection or heads)."""
    from ..methods import get_method

    method = get_method(run["method"])
    allowed = (method.conditioning, *method.other_conditionings)
    if run["d_conditioning"] not in ("auto", *allowed):
        raise ConfigError(
            f"{source}: runs.{name}.d_conditioning is {run['d_conditioning']!r}, but method {run['method']!r} "
            f"trains with {' or '.join(repr(c) for c in allowed)}; set it auto"
        )


def _run_properties() -> dict:
    """The schema's run keys and their definitions (``default`` among them)."""
    return _schema()["$defs"]["run"]["properties"]


def _check_default_keys(shared: dict, source: str) -> None:
    """An unknown key under ``defaults`` is reported there, not in whichever run it was merged into."""
    unknown = sorted(set(shared) - set(_run_properties()))
    if unknown:
        raise ConfigError(
            f"{source}: defaults.{unknown[0]} is not a run key; the keys a run (and so `defaults`) takes: {SCHEMA_PATH}"
        )


def _dataset_defaults() -> dict[str, dict]:
    return _schema()["x-dataset-defaults"]


def complete_dataset(dataset: dict) -> dict:
    """A dataset spec with its kind's defaults (the schema's ``x-dataset-defaults``) for the keys it lacks."""
    return {**_dataset_defaults().get(dataset["kind"], {}), **dataset}


def _property_defaults(node: dict) -> dict:
    """The defaults a schema object node gives its properties (nested objects' own defaults filled in)."""
    out = {}
    for key, prop in node.get("properties", {}).items():
        if prop.get("type") == "object" and "properties" in prop:
            out[key] = _property_defaults(prop)
        elif "default" in prop:
            out[key] = prop["default"]
    return out


@functools.cache
def _evaluator_defaults() -> dict:
    return _property_defaults(_schema()["properties"]["evaluator"])


def evaluator_settings(settings: dict | None = None) -> dict:
    """The ``evaluator`` block with the schema's defaults for the keys it lacks (nested blocks too), for
    callers that do not pass a resolved config (the CLI given a partial --settings-json, tests)."""
    return _deep_merge(_evaluator_defaults(), settings or {})


BASIC_EVALUATOR_KEYS = ("epochs", "test_fraction", "seed", "batch_size", "lr")


def evaluator_settings_for(settings: dict, kind: str) -> dict:
    """The keys of a (resolved) ``evaluator`` block that the evaluator of ``kind`` uses: the shared and
    basic-recipe keys, its recipe's block, and ``triples`` for stacked kinds. The rule passes only these,
    so changing one recipe's settings retrains only the evaluators that use it."""
    out = {key: settings[key] for key in BASIC_EVALUATOR_KEYS}
    recipe = evaluator_recipe(kind)
    if recipe != "basic":
        out[recipe] = settings[recipe]
    if dataset_kind(kind).stacked_channels:
        out["triples"] = settings["triples"]
    return out


def _check_run_for_method(name: str, run: dict, dataset: dict, source: str) -> None:
    """What the run's method refuses (e.g. k above the dataset size), caught here rather than a phase later."""
    from ..data.registry import dataset_size
    from ..methods import get_method

    get_method(run["method"]).check_run(name, run, dataset_size(complete_dataset(dataset)), source)


def _read_yaml(path: Path) -> Any:
    """A YAML file's content; a syntax error becomes one line naming file:line:column, not a traceback."""
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if mark is None:
            raise ConfigError(f"{path}: not valid YAML ({problem}); fix the file") from None
        # PyYAML counts lines and columns from 0; editors count from 1.
        raise ConfigError(
            f"{path}:{mark.line + 1}:{mark.column + 1}: not valid YAML ({problem}); fix that line"
        ) from None


def load_config(path: str | Path) -> dict:
    """Read and resolve a config.yaml."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    return resolve_config(_read_yaml(path) or {}, source=str(path))


@functools.cache
def stage_keys(stage: str | None) -> tuple[str, ...]:
    """The run keys the schema tags ``x-stage: STAGE`` (relabel, metrics, fid, bookkeeping, schedule);
    None: the untagged ones, which reach the training phases."""
    return tuple(key for key, prop in _run_properties().items() if prop.get("x-stage") == stage)


# Keys that change how a run reports and checkpoints, never what it computes. The workflow leaves them
# out of run.yaml and hands them to its jobs through the environment, so editing one never reruns a job.
BOOKKEEPING_KEYS = stage_keys("bookkeeping")
BOOKKEEPING_ENV = "RELABELGAN_BOOKKEEPING"
# run.yaml's own keys that no phase computes from: the run's name, its evaluator's recipe (metrics only)
NOT_TRAINING_KEYS = ("name", "evaluator")


def stage_settings(spec: dict, stage: str, rnd: int | None = None) -> dict[str, Any]:
    """The settings of ``spec`` that the jobs of ``stage`` compute from, and nothing else: what the
    workflow gives those jobs as params (so a change reruns them and only them, and Snakemake's reason
    names the key) and what a phase's resume snapshot and its metrics record are checked against.

    - ``train`` (init and the phases; their features too): every key without an ``x-stage`` tag, the
      seed and the dataset's spec; ``rounds`` only under ``lr_decay: linear``, which spreads the decay
      over all phases (so more rounds add phases and retrain none). ``init`` (round 0's networks): the
      same without ``rounds``.
    - ``relabel`` (round ``rnd``'s labels): where they come from (the method's label source) and, when
      they are clustered from features (or grouped from the truth by k-means), the relabel-stage keys
      (k-means, matching, splitting's criteria); labels carried forward or read from the dataset or a
      clusterer network read none of them. The rest a relabel job reads (k, the method) changes the
      model whose features it reads, which reruns it.
    - ``metrics`` (round ``rnd``'s model metrics): the metrics-stage keys, the evaluator recipe, and
      whether ``rnd`` is the final round (final-only metrics).
    - ``fid`` (the final round's FID/IS, rule evaluate_final): ``fid`` and ``fid_samples``.
    """
    tagged = {key: prop.get("x-stage") for key, prop in _run_properties().items()}
    if stage in ("train", "init"):
        keep = {k: v for k, v in spec.items() if tagged.get(k) is None and k not in NOT_TRAINING_KEYS}
        if stage == "train" and spec.get("lr_decay") == "linear":
            keep["rounds"] = spec["rounds"]
        return keep
    if stage == "fid":
        return {k: spec[k] for k in stage_keys("fid")}
    if rnd is None:
        raise ValueError(f"the {stage} stage's settings are a round's: give rnd")
    if stage == "relabel":
        from ..methods import get_method

        source = get_method(spec["method"]).label_source(spec, rnd)
        keep = {"label_source": source}
        if source == "features" or (source == "dataset" and spec.get("init_labels") == "truth"):
            keep.update({k: spec[k] for k in stage_keys("relabel")})
        return keep
    if stage == "metrics":
        keep = {k: spec[k] for k in stage_keys("metrics")}
        keep["evaluator"] = spec.get("evaluator")
        keep["final_round"] = rnd == int(spec["rounds"])
        return keep
    raise ValueError(f"unknown stage {stage!r}; choose init, train, relabel, metrics or fid")


def run_spec(config: dict, run: str, seed: int, bookkeeping: bool = True) -> dict[str, Any]:
    """The resolved spec of one run and seed: the run's keys plus ``name``, ``seed``, ``dataset_spec`` and
    ``evaluator`` (the settings of its dataset's evaluator, None when it has none), without
    :data:`BOOKKEEPING_KEYS` when ``bookkeeping`` is False (the workflow's run.yaml)."""
    if run not in config["runs"]:
        raise ConfigError(f"run {run!r} is not in the config (runs: {', '.join(sorted(config['runs']))})")
    spec = copy.deepcopy(config["runs"][run])
    spec["name"] = run
    spec["seed"] = int(seed)
    spec["dataset_spec"] = copy.deepcopy(config["datasets"][spec["dataset"]])
    kind = spec["dataset_spec"]["kind"]
    # The recipe of the dataset's evaluator, which the clf_* metrics read (None: the kind has none).
    recipe = evaluator_settings(config.get("evaluator"))
    spec["evaluator"] = evaluator_settings_for(recipe, kind) if has_evaluator(kind) else None
    if not bookkeeping:
        for key in BOOKKEEPING_KEYS:
            spec.pop(key, None)
    return spec


def bookkeeping_env(config: dict) -> str:
    """Every run's bookkeeping keys as the JSON the workflow puts in ``$RELABELGAN_BOOKKEEPING``."""
    return json.dumps({run: {k: spec[k] for k in BOOKKEEPING_KEYS} for run, spec in config["runs"].items()})


def _with_bookkeeping(spec: dict) -> dict:
    """Fill the bookkeeping keys a run.yaml lacks: from the workflow's environment, else the schema's defaults."""
    missing = [k for k in BOOKKEEPING_KEYS if k not in spec]
    if missing:
        given = json.loads(os.environ.get(BOOKKEEPING_ENV) or "{}").get(spec["name"], {})
        properties = _run_properties()
        spec.update({k: given.get(k, properties[k].get("default")) for k in missing})
    return spec


def read_spec(path: str | Path) -> dict[str, Any]:
    """Read a run.yaml written by ``relabelgan resolve``, or take the resolved spec as JSON text (starting
    with "{": what the workflow passes, so no job depends on the run.yaml file)."""
    if str(path).lstrip().startswith("{"):
        where = "the --spec JSON"
        try:
            spec = json.loads(str(path))
        except json.JSONDecodeError as e:
            raise ConfigError(f"{where} is not valid JSON ({e})") from None
    else:
        where = str(path)
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: run spec not found; make it with `relabelgan resolve` or the workflow")
        spec = _read_yaml(path)
    for key in ("name", "seed", "method", "dataset_spec"):
        if not isinstance(spec, dict) or key not in spec:
            raise ConfigError(f"{where}: not a resolved run spec (key {key!r} missing)")
    return _with_bookkeeping(spec)
