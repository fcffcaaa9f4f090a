"""``keras-textnet train``: train a TextNet preset, resumably, on one or many devices.

Hooked into the main parser by :func:`add_train_parser`. TensorFlow is
imported only when the command runs, so ``--help`` stays instant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_textnet.cli.args import size_type
from keras_textnet.cli.errors import CommandError, reading

STRATEGIES = ("default", "mirrored", "multi_worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")


_size = size_type(minimum=32, example="512x512")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def cli_overrides(args) -> dict:
    """The ``{dotted.key: value}`` settings the command-line flags give."""
    flags = {
        "model.preset": args.preset,
        "data.batch_size": args.batch_size,
        "data.image_size": list(args.image_size) if args.image_size else None,
        "data.seed": args.seed,
        "schedule.steps": args.steps,
        "schedule.learning_rate": args.learning_rate,
        "checkpoint.every_steps": args.checkpoint_every,
        "precision": args.precision,
        "distribution.strategy": args.strategy,
        "distribution.logical_cpus": args.logical_cpus,
    }
    out = {k: v for k, v in flags.items() if v is not None}
    if args.synthetic_workers is not None:
        out["data.synthetic_workers"] = args.synthetic_workers
    return out


def _check_config_file(path) -> None:
    """``--config``: an existing, non-empty regular file (a FIFO would block the read)."""
    import os
    import stat

    try:
        st = os.stat(path)
    except OSError as e:
        raise CommandError(f"--config {path}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise CommandError(f"--config {path}: is a folder, not a YAML file")
    if not stat.S_ISREG(st.st_mode):
        raise CommandError(f"--config {path}: is not a regular file")
    if st.st_size == 0:
        raise CommandError(f"--config {path}: the file is empty (for the defaults, leave "
                           f"--config out)")


_INT64_MAX = 2 ** 63 - 1


def _check_int_sizes(value, where: str, key: str = "") -> None:
    """Every integer of the resolved config fits int64 (TensorFlow's counters and seeds)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _check_int_sizes(v, where, f"{key}.{k}" if key else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_int_sizes(v, where, f"{key}[{i}]")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _INT64_MAX:
        digits = len(str(abs(value)))
        raise CommandError(f"{where}, key {key!r}: a {digits}-digit integer is too large (at "
                           f"most 2**63 - 1)")


def _check_config_numbers(path) -> None:
    """Refuses integers too large for int64 in the file, before the config is built.

    (Building it imports TensorFlow: seconds, for a file that a glance refuses.)
    Syntax errors are left to :meth:`TrainingConfig.load`, which names them.
    """
    import yaml

    with reading(path):
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError:
            return
    _check_int_sizes(raw, str(path))


def cmd_train(args):
    from keras_textnet.training.config import ConfigError, TrainingConfig, parse_assignment

    overrides = cli_overrides(args)
    if args.config is not None:
        _check_config_file(args.config)
        _check_config_numbers(args.config)
    try:
        for text in args.set or ():
            key, value = parse_assignment(text)
            overrides[key] = value
        with reading(args.config or "--set"):
            config = TrainingConfig.load(args.config, overrides=overrides)
    except ConfigError as e:
        raise CommandError(str(e)) from None
    _check_int_sizes(config.to_dict(), args.config or "the command line")
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    from keras_textnet.training.trainer import Trainer, TrainingError

    try:
        result = Trainer(config, args.out, minutes=args.minutes, verbose=args.verbose).run()
    except (ConfigError, TrainingError) as e:
        raise CommandError(str(e)) from None
    return result.exit_status


def add_train_parser(sub) -> argparse.ArgumentParser:
    """Adds ``train`` to the ``keras-textnet`` subcommands ``sub``."""
    p = sub.add_parser(
        "train", help="train a model (presets, YAML config, resumable, tf.distribute)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a TextNet preset with model.fit: progress bar, TensorBoard logs, "
                    "atomic periodic checkpoints, best-model export, learning-rate schedule, "
                    "optional mixed precision, tf.distribute strategies.\n\n"
                    "Interrupted at any moment (even with SIGKILL), the same command resumes "
                    "from the last checkpoint in --out: step count, optimizer state and data "
                    "position carry on. Flags override the --config file; --set overrides any "
                    "key of it (data.batch_size=8). See docs/training.md.",
        epilog="examples:\n"
               "  keras-textnet train --preset tiny --steps 200 --out runs/tiny\n"
               "  keras-textnet train --config training/configs/synthetic_mobilenet.yaml "
               "--out runs/m --minutes 60\n"
               "  keras-textnet train --config cfg.yaml --out runs/m --strategy mirrored\n"
               "  TF_CONFIG='{...}' keras-textnet train --config cfg.yaml --out /shared/runs/m "
               "--strategy multi_worker")
    p.add_argument("--config", metavar="FILE.yaml", help="training configuration (YAML); "
                   "default: the preset's defaults on synthetic pages")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="run folder: checkpoints, logs, model.keras, best.keras; rerun the same "
                        "command to resume")
    p.add_argument("--preset", help="model preset (tiny, mobilenet, densenet_shallow, resnet50)")
    p.add_argument("--steps", type=_positive_int, help="total training steps")
    p.add_argument("--batch-size", type=_positive_int,
                   help="global batch size (over all replicas and workers)")
    p.add_argument("--image-size", type=_size, metavar="HxW", help="training input size")
    p.add_argument("--learning-rate", type=float, help="peak learning rate")
    p.add_argument("--seed", type=int, help="data seed")
    p.add_argument("--checkpoint-every", type=_positive_int, metavar="N",
                   help="checkpoint every N steps")
    p.add_argument("--synthetic-workers", type=int, metavar="N",
                   help="processes rendering synthetic pages (0: in the input thread)")
    p.add_argument("--precision", choices=PRECISIONS,
                   help="float32 (default), or mixed precision (float16 with loss scaling, "
                        "for GPUs; bfloat16)")
    p.add_argument("--strategy", choices=STRATEGIES,
                   help="default: one device; mirrored: every local GPU (or --logical-cpus); "
                        "multi_worker: the cluster in TF_CONFIG")
    p.add_argument("--logical-cpus", type=int, metavar="N",
                   help="split the CPU into N logical devices (mirrored training without GPUs, "
                        "for tests)")
    p.add_argument("--minutes", type=float, metavar="M",
                   help="stop (with a checkpoint) after M minutes of this invocation; rerun "
                        "to go on")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a config key, e.g. --set schedule.warmup_steps=100 "
                        "(VALUE is YAML); repeatable")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="0 silent, 1 progress bar (default), 2 one line per epoch")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration as YAML and exit")
    p.set_defaults(func=cmd_train)
    return p
