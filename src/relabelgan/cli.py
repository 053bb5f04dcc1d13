"""The `relabelgan` command: one sub-command per workflow rule, each a thin call into its module.

Every rule in workflow/rules/*.smk runs one of these through ``shell:``, so each step also
runs without Snakemake. A few are for users only: ``extract`` and ``evaluate`` remake a round's
features and metrics (which its phase writes) from any model.pt, ``assign`` labels new data with a
trained round, ``install-profile`` writes the user profile behind ``--profile slurm``. Errors about
inputs exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

# Sub-commands in the order `relabelgan --help` lists them: name -> (function, help, example, arguments).
# Each command's arguments are declared with it (the decorator below), so a reader finds both in one place.
Argument = tuple[tuple[str, ...], dict[str, Any]]
Command = tuple[Callable[[argparse.Namespace], None], str, str, tuple[Argument, ...]]
COMMANDS: dict[str, Command] = {}


def arg(*flags: str, **options: Any) -> Argument:
    """One argparse argument: ``arg("--spec", required=True)``."""
    return flags, options


def command(name: str, help_: str, *arguments: Argument, example: str):
    """Register the decorated function as ``relabelgan NAME`` taking ``arguments``; ``example`` is a
    typical call, shown at the end of ``relabelgan NAME --help``."""

    def register(fn: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], None]:
        COMMANDS[name] = (fn, help_, example, arguments)
        return fn

    return register


def _ranged(convert: Callable[[str], Any], kind: str, in_range: Callable[[Any], bool], want: str):
    """An argparse type: ``convert(text)``, refused unless ``in_range`` (argparse then exits 2 naming the option)."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}") from None
        if not in_range(value):
            raise argparse.ArgumentTypeError(f"{text} is out of range; give {want}")
        return value

    return parse


non_negative_int = _ranged(int, "an integer", lambda v: v >= 0, "an integer >= 0")  # rounds, seeds, indices
share = _ranged(float, "a number", lambda v: 0 < v <= 1, "a number in (0, 1], e.g. 0.2")


SPEC = arg("--spec", required=True, help="run.yaml written by `relabelgan resolve` (or that spec as JSON text)")
ROUND = arg("--round", type=non_negative_int, required=True, help="the round: 0 = untrained, r = after phase r")
EVALUATOR = arg("--evaluator", help="evaluator.pt of the run's dataset (clf_* metrics)")
ROUND_OUTPUTS = (
    arg("--features", help="also write the round's features.h5 here (with --metrics)"),
    arg(
        "--metrics",
        help="also write the round's model metrics here: tidy CSV, or for a .json name the record of values and settings the workflow keeps",
    ),
    EVALUATOR,
)


def _spec(path: str) -> dict:
    from .core.config import read_spec

    return read_spec(path)


def _json_argument(text: str, flag: str) -> dict:
    """A JSON object given on the command line; ConfigError naming the flag when it is not one."""
    import json

    from .core.config import ConfigError

    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{flag} is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} must be a JSON object, got {type(value).__name__}")
    return value


@command(
    "resolve",
    "write one run's resolved spec (run.yaml) from a config",
    arg("--config", help="config.yaml to resolve the run from"),
    arg("--run", help="a run name under the config's runs:"),
    arg("--seed", type=non_negative_int, help="one of the config's seeds"),
    arg("--spec-json", help="an already resolved spec (what the workflow passes)"),
    arg("--out", required=True, help="run.yaml to write"),
    example="relabelgan resolve --config config.yaml --run grid-selfcond --seed 0 --out run.yaml",
)
def cmd_resolve(a: argparse.Namespace) -> None:
    from .core.artifacts import atomic_path
    from .core.config import load_config, run_spec

    if a.spec_json:
        spec = _json_argument(a.spec_json, "--spec-json")
    elif a.config and a.run and a.seed is not None:
        spec = run_spec(load_config(a.config), a.run, a.seed)
    else:
        raise SystemExit("relabelgan resolve: give --spec-json, or --config with --run and --seed")
    with atomic_path(a.out) as tmp:
        tmp.write_text(yaml.safe_dump(spec, sort_keys=True))


def _round_outputs(a: argparse.Namespace):
    """The round's features.h5 / metrics.csv to write beside model.pt (both or neither)."""
    from .training.round_outputs import RoundOutputs

    if (a.features is None) != (a.metrics is None):
        raise SystemExit(f"relabelgan {a.command}: give --features and --metrics together (or neither)")
    return RoundOutputs(a.features, a.metrics, a.evaluator) if a.features else None


@command(
    "init",
    "round 0: freshly initialised networks (and their features and metrics)",
    SPEC,
    arg("--out", required=True, help="model.pt of round 0"),
    *ROUND_OUTPUTS,
    example="relabelgan init --spec results/grid-selfcond/seed0/run.yaml --out /tmp/round_00/model.pt",
)
def cmd_init(a: argparse.Namespace) -> None:
    from .initialise import init_round

    init_round(_spec(a.spec), a.out, _round_outputs(a))


@command(
    "train",
    "one training phase: model r-1 + labels r-1 -> model r (and its features and metrics)",
    SPEC,
    ROUND,
    arg("--model-in", required=True, help="model.pt of round r-1"),
    arg("--labels", required=True, help="labels.h5 of round r-1 (the classes this phase trains on)"),
    arg("--out", required=True, help="model.pt of round r"),
    arg("--log", required=True, help="train_log.csv: losses every log_every iterations"),
    arg("--samples", required=True, help="samples.png of the trained G"),
    *ROUND_OUTPUTS,
    example="relabelgan train --spec RUN/run.yaml --round 2 --model-in RUN/round_01/model.pt "
    "--labels RUN/round_01/labels.h5 --out /tmp/model.pt --log /tmp/train_log.csv --samples /tmp/samples.png",
)
def cmd_train(a: argparse.Namespace) -> None:
    from .training.loop import train_phase

    train_phase(_spec(a.spec), a.round, a.model_in, a.labels, a.out, a.log, a.samples, _round_outputs(a))


@command(
    "extract",
    "discriminator features of every training sample (features.h5)",
    SPEC,
    ROUND,
    arg("--model", required=True, help="the round's model.pt"),
    arg("--out", required=True, help="features.h5 to write"),
    example="relabelgan extract --spec RUN/run.yaml --round 2 --model RUN/round_02/model.pt --out /tmp/features.h5",
)
def cmd_extract(a: argparse.Namespace) -> None:
    from .extract import extract_round

    extract_round(_spec(a.spec), a.round, a.model, a.out)


@command(
    "relabel",
    "labels of a round (labels.h5) from features and the previous labels",
    SPEC,
    ROUND,
    arg("--features", required=True, help="features.h5 of this round (written by its phase)"),
    arg("--previous", help="labels.h5 of the previous round"),
    arg("--out", required=True, help="labels.h5 to write"),
    arg("--metrics", help="also write the labels' NMI/purity/accuracy (tidy CSV) here"),
    example="relabelgan relabel --spec RUN/run.yaml --round 2 --features RUN/round_02/features.h5 "
    "--previous RUN/round_01/labels.h5 --out /tmp/labels.h5",
)
def cmd_relabel(a: argparse.Namespace) -> None:
    from .methods import get_method
    from .relabel import relabel, write_label_quality

    spec = _spec(a.spec)
    result = relabel(spec, a.round, a.out, a.features, a.previous)
    if a.metrics:
        write_label_quality(spec, a.round, a.features, result, a.metrics)
    print(
        f"round {a.round} ({get_method(spec['method']).label_source(spec, a.round)}): "
        f"k={result.k} sizes={result.sizes.tolist()}"
    )


@command(
    "evaluate",
    "one model's round metrics (tidy CSV), as a phase writes them",
    SPEC,
    ROUND,
    arg("--model", required=True, help="the round's model.pt"),
    arg("--labels", help="labels.h5 the model was trained on (real intra-class MS-SSIM)"),
    EVALUATOR,
    arg("--out", required=True, help="metrics.csv to write (a .json name: the record of values and settings)"),
    example="relabelgan evaluate --spec RUN/run.yaml --round 3 --model RUN/round_03/model.pt "
    "--labels RUN/round_02/labels.h5 --out /tmp/metrics.csv",
)
def cmd_evaluate(a: argparse.Namespace) -> None:
    from .evaluate import evaluate_round

    _print_metrics(evaluate_round(_spec(a.spec), a.round, a.model, a.labels, a.out, a.evaluator))


@command(
    "metrics-table",
    "a round's metrics.csv from the metrics record its phase (or `evaluate --out X.json`) wrote",
    SPEC,
    ROUND,
    arg("--record", required=True, help="the metrics record (.json), refused if computed under other metric settings"),
    arg("--out", required=True, help="metrics.csv to write"),
    example="relabelgan metrics-table --spec RUN/run.yaml --round 2 --record RUN/round_02/phase_metrics.json "
    "--out /tmp/metrics.csv",
)
def cmd_metrics_table(a: argparse.Namespace) -> None:
    from .core.metrics_record import metrics_table

    metrics_table(_spec(a.spec), a.round, a.record, a.out)


@command(
    "evaluate-final",
    "the final round's heavier metrics (nearest neighbours, FID/IS)",
    SPEC,
    ROUND,
    arg("--model", required=True, help="the final round's model.pt"),
    arg("--reference-stats", help="the dataset's reference_stats file (`relabelgan reference-stats`), for fid: true"),
    arg("--out", required=True, help="final_metrics.csv to write"),
    example="relabelgan evaluate-final --spec RUN/run.yaml --round 3 --model RUN/round_03/model.pt "
    "--reference-stats results/reference_stats/cifar10/train_inception-v3-compat_pool3.npz --out /tmp/final.csv",
)
def cmd_evaluate_final(a: argparse.Namespace) -> None:
    from .evaluate import evaluate_final

    _print_metrics(evaluate_final(_spec(a.spec), a.round, a.model, a.out, a.reference_stats))


@command(
    "reference-stats",
    "Inception statistics of a dataset's training set, cached for every FID of that dataset",
    arg("--dataset", required=True, help="the dataset's name"),
    arg("--dataset-json", required=True, help="its resolved spec (config datasets.NAME)"),
    arg("--out", required=True, help="the .npz to write (name it by its protocol, as the workflow does)"),
    example="relabelgan reference-stats --dataset cifar10 "
    """--dataset-json '{"kind": "cifar10", "path": "/data/cifar-10-batches-bin"}' """
    "--out /tmp/train_inception-v3-compat_pool3.npz",
)
def cmd_reference_stats(a: argparse.Namespace) -> None:
    from .evaluate import reference_stats

    provenance = reference_stats(a.dataset, _json_argument(a.dataset_json, "--dataset-json"), a.out)
    print(f"{a.out}: Inception ({provenance['extractor']}) statistics of {provenance['n']:,} training images")


def _print_metrics(values: dict[str, float]) -> None:
    width = max((len(k) for k in values), default=0)
    for metric, value in values.items():
        print(f"{metric:<{width}}  {value:.6g}")


@command(
    "train-evaluator",
    "train one dataset's evaluator classifier (evaluator.pt)",
    arg("--dataset", required=True, help="the dataset's name"),
    arg("--dataset-json", required=True, help="its resolved spec (config datasets.NAME)"),
    arg(
        "--settings-json",
        required=True,
        help="resolved `evaluator` block: epochs, test_fraction, seed, batch_size, lr (digit_cnn, triples: optional)",
    ),
    arg("--out", required=True, help="evaluator.pt"),
    arg("--report", required=True, help="CSV with the test accuracy"),
    example="""relabelgan train-evaluator --dataset digits --dataset-json '{"kind": "digits"}' """
    """--settings-json '{"epochs": 20, "test_fraction": 0.2, "seed": 0, "batch_size": 128, "lr": 0.001}' """
    "--out /tmp/evaluator.pt --report /tmp/evaluator.csv",
)
def cmd_train_evaluator(a: argparse.Namespace) -> None:
    from .core.config import ConfigError
    from .metrics.evaluator import train_evaluator

    ev = _json_argument(a.settings_json, "--settings-json")
    missing = [key for key in ("epochs", "test_fraction", "seed", "batch_size", "lr") if key not in ev]
    if missing:
        raise ConfigError(f"--settings-json lacks {', '.join(missing)} (the resolved `evaluator` block of the config)")
    acc = train_evaluator(
        _json_argument(a.dataset_json, "--dataset-json"),
        a.dataset,
        a.out,
        a.report,
        ev["epochs"],
        ev["test_fraction"],
        ev["seed"],
        ev["batch_size"],
        ev["lr"],
        digit_cnn=ev.get("digit_cnn"),  # the rule passes the blocks a dataset's recipe uses; absent: defaults
        triples=ev.get("triples"),
    )
    print(f"evaluator of {a.dataset}: test accuracy {100 * acc:.2f}%")


@command(
    "pipeline",
    "one run and seed's rounds in this process, as the workflow runs them (no Snakemake)",
    arg("--config", required=True, help="config.yaml holding the run"),
    arg("--run", required=True, help="a run name under the config's runs:"),
    arg("--seed", type=non_negative_int, required=True, help="the seed"),
    arg("--results", required=True, help="results folder: files go to RESULTS/RUN/seedS/ as the workflow writes them"),
    arg("--phases", type=non_negative_int, help="stop after this many phases (default: the run's rounds)"),
    example="relabelgan pipeline --config .test/config.yaml --run grid-selfcond --seed 0 --results /tmp/results",
)
def cmd_pipeline(a: argparse.Namespace) -> None:
    from .pipeline import run_pipeline

    files = run_pipeline(a.config, a.run, a.seed, a.results, a.phases)
    print(f"{a.run} seed {a.seed}: rounds written under {files.root}")


@command(
    "audit",
    "where samples went, which moved, which classes split or merged",
    arg("labels", nargs="+", help="labels.h5 files of one run (any order)"),
    arg("--sample", type=non_negative_int, help="dataset index: its class in every round"),
    arg("--moved", type=non_negative_int, metavar="R", help="samples that moved between rounds R and R+1"),
    arg("--events", action="store_true", help="classes that split or merged"),
    arg(
        "--min-share",
        type=share,
        default=0.2,
        help="share of a class, in (0, 1], that counts as a split/merge branch (default 0.2)",
    ),
    arg("--out-dir", help="also write transitions.csv, moves.csv, events.csv here"),
    example="relabelgan audit results/grid-selfcond/seed0/round_0*/labels.h5 --events",
)
def cmd_audit(a: argparse.Namespace) -> None:
    from .audit import audit_run, load_rounds, moved_samples, sample_history, split_merge_events, summary

    rounds = load_rounds(a.labels)
    if a.out_dir:
        audit_run(a.labels, a.out_dir, a.min_share)
    if a.sample is not None:
        print(sample_history(rounds, a.sample).to_string(index=False))
    if a.moved is not None:
        by_round = {int(r.attrs["round"]): r for r in rounds}
        if a.moved not in by_round or a.moved + 1 not in by_round:
            raise SystemExit(
                f"relabelgan audit: --moved {a.moved} needs rounds {a.moved} and {a.moved + 1}; "
                f"given rounds {sorted(by_round)}"
            )
        moved = moved_samples(by_round[a.moved], by_round[a.moved + 1])
        total = len(by_round[a.moved].labels)
        print(moved.to_string(index=False) if len(moved) else f"no sample of {total} changed class")
    if a.events:
        for x, y in zip(rounds, rounds[1:], strict=False):
            print(split_merge_events(x, y, a.min_share).to_string(index=False))
    if a.sample is None and a.moved is None and not a.events:
        print(summary(rounds, a.min_share))


@command(
    "lineage",
    "one run's label-flow, transition, size, split-tree and cluster figures",
    SPEC,
    arg("--model", required=True, help="the final model.pt (real vs generated grid)"),
    arg("--out-dir", required=True, help="folder for the five PNGs"),
    arg("labels", nargs="+", help="labels.h5 files of the run"),
    example="relabelgan lineage --spec RUN/run.yaml --model RUN/round_03/model.pt --out-dir /tmp/lineage "
    "RUN/round_0*/labels.h5",
)
def cmd_lineage(a: argparse.Namespace) -> None:
    from .lineage import lineage_figures

    rounds = lineage_figures(a.labels, a.out_dir)
    # The real-vs-generated grid needs the model: torch is imported only now, after the other four figures.
    from .report.lineage_clusters import clusters_figure, trained_labels

    clusters_figure(_spec(a.spec), trained_labels(rounds, a.model), a.model, str(Path(a.out_dir) / "clusters.png"))


@command(
    "generation",
    "an image model's z interpolations, fixed-z rows across classes and nearest training images",
    SPEC,
    arg("--model", required=True, help="the model.pt (the workflow: the final round's)"),
    arg("--labels", required=True, help="labels.h5 the model was trained on (its classes)"),
    arg("--features", required=True, help="features.h5 of the model's round (the feature-space neighbours)"),
    arg("--out-dir", required=True, help="folder for interpolation.png, fixed_z.png, nearest.png"),
    example="relabelgan generation --spec RUN/run.yaml --model RUN/round_03/model.pt --labels RUN/round_02/labels.h5 "
    "--features RUN/round_03/features.h5 --out-dir /tmp/generation",
)
def cmd_generation(a: argparse.Namespace) -> None:
    from .core.artifacts import read_labels
    from .report.generation import generation_figures

    generation_figures(_spec(a.spec), a.model, read_labels(a.labels), a.features, a.out_dir)


@command(
    "tables",
    "comparison table (CSV, Markdown) and plot of one dataset's runs",
    arg("--metrics", required=True, help="the dataset's gathered metrics CSV"),
    arg("--dataset", required=True, help="the dataset's name"),
    arg("--evaluator-report", help="the dataset's evaluator.csv (test accuracy note)"),
    arg("--out-csv", required=True),
    arg("--out-md", required=True),
    arg("--out-png", required=True),
    example="relabelgan tables --metrics results/metrics/grid.csv --dataset grid --out-csv /tmp/grid.csv "
    "--out-md /tmp/grid.md --out-png /tmp/grid.png",
)
def cmd_tables(a: argparse.Namespace) -> None:
    from .tables import comparison

    summary = comparison(a.metrics, a.dataset, a.out_csv, a.out_md, a.out_png, a.evaluator_report)
    print(summary.to_string(index=False))


@command(
    "gather",
    "concatenate metric CSVs",
    arg("--out", required=True, help="CSV to write"),
    arg("inputs", nargs="*", help="metrics.csv files (tidy rows)"),
    example="relabelgan gather --out /tmp/all.csv results/metrics/*.csv",
)
def cmd_gather(a: argparse.Namespace) -> None:
    from .core.tidy import gather_metrics

    gather_metrics(a.inputs, a.out)


@command(
    "figures",
    "metrics-over-rounds figure of one dataset",
    arg("--metrics", required=True, help="the dataset's gathered metrics CSV"),
    arg("--dataset", required=True, help="the dataset's name"),
    arg("--out", required=True, help="PNG to write"),
    example="relabelgan figures --metrics results/metrics/grid.csv --dataset grid --out /tmp/grid_rounds.png",
)
def cmd_figures(a: argparse.Namespace) -> None:
    from .figures import metrics_over_rounds

    metrics_over_rounds(a.metrics, a.dataset, a.out)


@command(
    "assign",
    "label new data the way a trained round labels its training set",
    arg("--model", required=True, help="a round's model.pt"),
    arg("--labels", help="that round's labels.h5 (selfcond, splitting: its centroids)"),
    arg("--out", required=True, help="CSV: item, label, probability or distance"),
    arg("inputs", nargs="+", help="images, folders of images, .npy/.h5 arrays, or 'train'"),
    example="relabelgan assign --model results/digits-selfcond/seed0/round_03/model.pt "
    "--labels results/digits-selfcond/seed0/round_03/labels.h5 --out assign.csv my_digits.npy",
)
def cmd_assign(a: argparse.Namespace) -> None:
    import numpy as np

    from .assign import assign_labels

    labels = assign_labels(a.model, a.labels, a.inputs, a.out)
    print(f"{len(labels)} inputs labelled, written to {a.out}; inputs per class: {np.bincount(labels).tolist()}")


@command(
    "install-profile",
    "write the user Snakemake profile behind `--profile slurm`",
    arg("name", choices=["slurm"], help="the profile to write"),
    arg("--account", help="SLURM account every job is charged to"),
    arg("--partition", help="SLURM partition every job goes to"),
    arg("--force", action="store_true", help="replace an existing profile"),
    example="relabelgan install-profile slurm --account myaccount --partition gpu",
)
def cmd_install_profile(a: argparse.Namespace) -> None:
    from .install_profile import install_profile

    try:
        path = install_profile(a.name, a.account, a.partition, a.force)
    except (FileExistsError, ValueError) as e:
        print(f"relabelgan install-profile: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"wrote {path}:\n{path.read_text()}")
    print(f"now: snakemake --cores 2 --profile {a.name}")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relabelgan")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="relabelgan",
        description=__doc__.splitlines()[0],
        epilog="example: relabelgan audit results/grid-selfcond/seed0/round_0*/labels.h5 "
        "(the workflow itself runs with `snakemake --cores N`; README.md)",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (fn, help_, example, arguments) in COMMANDS.items():
        sp = sub.add_parser(
            name,
            help=help_,
            description=help_,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sp.set_defaults(func=fn)
        for flags, options in arguments:
            sp.add_argument(*flags, **options)
    return p


def _exit_on_sigterm(signum, frame) -> None:
    # SIGTERM (SLURM's time limit, `kill`) unwinds like an exception, so every open atomic write
    # removes its temporary file; a phase's loop installs its own handler (snapshot, then exit).
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if threading.current_thread() is not threading.main_thread():  # signal handlers live in the main thread
        return _run(args)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


# Set when a write failed for lack of room: console() then exits without the interpreter's clean-up.
_EXIT_AT_ONCE = False


def _run(args: argparse.Namespace) -> int:
    """The command's exit status: 0, or 2 with one line for bad input (UserError, a missing input path)."""
    global _EXIT_AT_ONCE
    from .core.errors import DeviceFullError, UserError

    try:
        args.func(args)
    except UserError as e:
        print(f"relabelgan {args.command}: error: {e}", file=sys.stderr)
        _EXIT_AT_ONCE = isinstance(e, DeviceFullError)
        return 2
    except FileNotFoundError as e:  # an input path the command was given (metrics CSVs, label lists)
        print(
            f"relabelgan {args.command}: error: {e.filename}: not found; check the path or build it with the workflow",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 0
    return 0


def console() -> None:
    """The `relabelgan` console script: :func:`main`, then exit with its status. After a write that ran
    out of room the exit skips the interpreter's clean-up (os._exit): HDF5's, closing a file whose write
    failed, crashed the process with SIGSEGV after the error line was printed."""
    status = main()
    if _EXIT_AT_ONCE:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    console()
