"""The `relabelgan` command: one sub-command per workflow rule, each a thin call into its module.

Every rule in workflow/rules/*.smk runs one of these through ``shell:``, so each step also
runs without Snakemake. Errors about inputs exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

import yaml


def _spec(path: str) -> dict:
    from .config import read_spec

    return read_spec(path)


def cmd_resolve(a: argparse.Namespace) -> None:
    import json

    from .artifacts import atomic_path
    from .config import load_config, run_spec

    if a.spec_json:
        spec = json.loads(a.spec_json)
    elif a.config and a.run and a.seed is not None:
        spec = run_spec(load_config(a.config), a.run, a.seed)
    else:
        raise SystemExit("relabelgan resolve: give --spec-json, or --config with --run and --seed")
    with atomic_path(a.out) as tmp:
        tmp.write_text(yaml.safe_dump(spec, sort_keys=True))


def cmd_init(a: argparse.Namespace) -> None:
    from .init import init_model

    init_model(_spec(a.spec), a.out)


def cmd_train(a: argparse.Namespace) -> None:
    from .train import train_phase

    train_phase(_spec(a.spec), a.round, a.model_in, a.labels, a.out, a.log, a.samples)


def cmd_extract(a: argparse.Namespace) -> None:
    from .extract import extract_features

    extract_features(_spec(a.spec), a.round, a.model, a.out)


def cmd_relabel(a: argparse.Namespace) -> None:
    from .relabel import relabel

    result = relabel(_spec(a.spec), a.round, a.out, a.features, a.previous, a.model)
    print(f"round {a.round}: k={result.k} sizes={result.sizes.tolist()}")


def cmd_evaluate(a: argparse.Namespace) -> None:
    from .evaluate import evaluate_round

    frame = evaluate_round(_spec(a.spec), a.round, a.model, a.labels, a.out)
    print(frame.to_string(index=False))


def cmd_gather(a: argparse.Namespace) -> None:
    from .evaluate import gather_metrics

    gather_metrics(a.inputs, a.out)


def cmd_figures(a: argparse.Namespace) -> None:
    from .figures import metrics_over_rounds

    metrics_over_rounds(a.metrics, a.dataset, a.out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="relabelgan", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[Callable, str]] = {
        "resolve": (cmd_resolve, "write one run's resolved spec (run.yaml) from a config"),
        "init": (cmd_init, "round 0: freshly initialised networks"),
        "train": (cmd_train, "one training phase: model r-1 + labels r-1 -> model r"),
        "extract": (cmd_extract, "discriminator features of every training sample (features.h5)"),
        "relabel": (cmd_relabel, "labels of a round (labels.h5) from features and the previous labels"),
        "evaluate": (cmd_evaluate, "one round's metrics (tidy CSV)"),
        "gather": (cmd_gather, "concatenate metric CSVs"),
        "figures": (cmd_figures, "metrics-over-rounds figure of one dataset"),
    }
    parsers = {}
    for name, (fn, help_) in commands.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(func=fn)
        parsers[name] = sp
    parsers["resolve"].add_argument("--config", help="config.yaml to resolve the run from")
    parsers["resolve"].add_argument("--run")
    parsers["resolve"].add_argument("--seed", type=int)
    parsers["resolve"].add_argument("--spec-json", help="an already resolved spec (what the workflow passes)")
    parsers["resolve"].add_argument("--out", required=True)
    for name in ("init", "train", "extract", "relabel", "evaluate"):
        parsers[name].add_argument("--spec", required=True, help="run.yaml written by `relabelgan resolve`")
        parsers[name].add_argument("--out", required=True)
    for name in ("train", "extract", "relabel", "evaluate"):
        parsers[name].add_argument("--round", type=int, required=True)
    parsers["train"].add_argument("--model-in", required=True)
    parsers["train"].add_argument("--labels", required=True)
    parsers["train"].add_argument("--log", required=True)
    parsers["train"].add_argument("--samples", required=True)
    parsers["extract"].add_argument("--model", required=True)
    parsers["relabel"].add_argument("--features", help="features.h5 of this round (methods that relabel)")
    parsers["relabel"].add_argument("--previous", help="labels.h5 of the previous round")
    parsers["relabel"].add_argument("--model", help="model.pt of this round (slcgan: labels = argmax of its clustering net)")
    parsers["evaluate"].add_argument("--model", required=True)
    parsers["evaluate"].add_argument("--labels", help="labels.h5 of this round (clustering metrics)")
    parsers["gather"].add_argument("--out", required=True)
    parsers["gather"].add_argument("inputs", nargs="*")
    parsers["figures"].add_argument("--metrics", required=True)
    parsers["figures"].add_argument("--dataset", required=True)
    parsers["figures"].add_argument("--out", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    from .artifacts import ArtifactError
    from .config import ConfigError
    from .datasets import DatasetError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (ArtifactError, ConfigError, DatasetError) as e:
        print(f"relabelgan {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
