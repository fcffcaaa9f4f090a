"""The settings of a training run: a model preset plus an optional YAML file.

:class:`TrainingConfig` holds every setting in sections (``model``, ``data``,
``validation``, ``schedule``, ``checkpoint``, ``logging``, ``distribution``,
``finish``, and ``precision``). :meth:`TrainingConfig.load` reads a YAML file
(any key left out keeps its default), applies ``{dotted.key: value}``
overrides from the command line, and validates everything. A mistake is a
:class:`ConfigError` naming the file, the key and the value::

    run.yaml, key 'data.batch_size': expected a positive integer; received 'eight'
    run.yaml, key 'data.sourcs': unknown key (did you mean 'sources'?)

Relative paths in a file are relative to the file's folder.

>>> config = TrainingConfig.load("training/configs/synthetic_mobilenet.yaml")  # doctest: +SKIP
>>> config = TrainingConfig.load(None, overrides={"model.preset": "tiny"})    # doctest: +SKIP
>>> print(config.to_yaml())                                                  # doctest: +SKIP

YAML stays at this edge: everything past the config is plain
keyword arguments.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A bad training configuration; the message names the file, the key and the value."""


# ---------------------------------------------------------------------------
# value checks: each returns the normalised value or raises ValueError("expected ...")
# ---------------------------------------------------------------------------

def _int(minimum=None):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int) or (minimum is not None and v < minimum):
            what = {None: "an integer", 0: "an integer >= 0", 1: "a positive integer"}.get(
                minimum, f"an integer >= {minimum}")
            raise ValueError(f"expected {what}")
        return v
    return check


def _optional(check):
    def wrapped(v):
        return None if v is None else check(v)
    return wrapped


def _float(minimum=None, maximum=None, positive=False):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or (
                positive and v <= 0) or (minimum is not None and v < minimum) or (
                maximum is not None and v > maximum):
            if positive:
                raise ValueError("expected a number > 0")
            bounds = [f">= {minimum}" if minimum is not None else "",
                      f"<= {maximum}" if maximum is not None else ""]
            raise ValueError("expected a number " + " and ".join(b for b in bounds if b)
                             if any(bounds) else "expected a number")
        return float(v)
    return check


def _choice(*choices):
    def check(v):
        if v not in choices:
            raise ValueError(f"expected one of {', '.join(map(repr, choices))}")
        return v
    return check


def _target(v):
    from keras_textnet.data.pipeline import parse_target

    parse_target(v)
    return v


def _string(v):
    if not isinstance(v, str) or not v:
        raise ValueError("expected a non-empty string")
    return v


def _pair(kind="int", minimum=1):
    def check(v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = [v, v]
        ok = isinstance(v, (list, tuple)) and len(v) == 2 and all(
            not isinstance(x, bool) and isinstance(x, int if kind == "int" else (int, float))
            and x >= minimum for x in v)
        if not ok:
            raise ValueError(f"expected [height, width] (or one number), each "
                             f"{'an integer ' if kind == 'int' else ''}>= {minimum}")
        return [int(x) if kind == "int" else float(x) for x in v]
    return check


def _scale_range(v):
    if not (isinstance(v, (list, tuple)) and len(v) == 2 and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
            and 0 < v[0] <= v[1]):
        raise ValueError("expected [low, high] with 0 < low <= high")
    return [float(v[0]), float(v[1])]


def _mapping(value_check=None):
    def check(v):
        if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
            raise ValueError("expected a mapping of names to values")
        if value_check is not None:
            for k, x in v.items():
                try:
                    value_check(x)
                except ValueError as e:
                    raise ValueError(f"{e} for {k!r}") from None
        return dict(v)
    return check


def _paths(v):
    if isinstance(v, str) and v:
        return v
    if isinstance(v, list) and v and all(isinstance(x, str) and x for x in v):
        return list(v)
    raise ValueError("expected a path (or glob, or folder) or a non-empty list of paths")


def _page_size(v):
    # (height, width), or ((hmin, hmax), (wmin, wmax)) to draw a size per page.
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(
            isinstance(x, (list, tuple)) and len(x) == 2 for x in v):
        return [_pair("int", 32)(list(x)) for x in v]
    return _pair("int", 32)(v)


def _spec(default, check, help_text: str = ""):
    """A dataclass field with its check and its one-line documentation."""
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default),
                     metadata={"check": check, "help": help_text})
    return field(default=default, metadata={"check": check, "help": help_text})


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------

@dataclass
class SyntheticSourceConfig:
    """Synthetic pages rendered on the fly (``SyntheticDocumentGenerator``)."""

    kind: str = "synthetic"
    weight: float = _spec(1.0, _float(positive=True), "sampling weight in the mix")
    page_size: list = _spec([1024, 768], _page_size, "[height, width] of a page, or "
                            "[[hmin, hmax], [wmin, wmax]]")
    layouts: dict | None = _spec(None, _optional(_mapping(_float(minimum=0))),
                                 "{layout: weight}; null = all layouts")
    degrade: float = _spec(1.0, _float(minimum=0), "degradation strength (0 = clean pages)")
    max_rotation: float = _spec(0.0, _float(minimum=0, maximum=45), "page rotation, degrees")
    workers: int | None = _spec(None, _optional(_int(0)), "render processes; null = "
                                "data.synthetic_workers")
    seed_offset: int | None = _spec(None, _optional(_int(0)), "first page seed; null = "
                                    "derived from data.seed (validation: 1e9)")


@dataclass
class AnnotationSourceConfig:
    """An annotation file (docs/FORMATS.md), e.g. from ``keras-textnet data synth/from-icdar``."""

    kind: str = "annotations"
    path: str = _spec("", _string, "the annotation .json file")
    weight: float = _spec(1.0, _float(positive=True), "sampling weight in the mix")


@dataclass
class TFRecordSourceConfig:
    """TFRecord shards written by ``keras-textnet data to-tfrecord``."""

    kind: str = "tfrecords"
    path: Any = _spec("", _paths, "a glob, a folder or a list of .tfrecord files")
    weight: float = _spec(1.0, _float(positive=True), "sampling weight in the mix")
    shuffle_buffer: int = _spec(64, _int(1), "records shuffled together")


@dataclass
class PDFSourceConfig:
    """Pages of PDFs with a text layer, rendered once (poppler) into ``cache_dir``."""

    kind: str = "pdf"
    pdfs: Any = _spec("", _paths, "PDF files (a glob or a list)")
    dpi: float = _spec(150.0, _float(positive=True), "rendering resolution")
    pages: str | None = _spec(None, _optional(_string), "pages of every PDF, e.g. '1-5,8'")
    max_pages_per_pdf: int | None = _spec(None, _optional(_int(1)), "at most this many pages")
    cache_dir: str | None = _spec(None, _optional(_string), "where the rendered pages go; "
                                  "null = OUT/pdf_pages/<name>")
    weight: float = _spec(1.0, _float(positive=True), "sampling weight in the mix")


SOURCE_KINDS = {"synthetic": SyntheticSourceConfig, "annotations": AnnotationSourceConfig,
                "tfrecords": TFRecordSourceConfig, "pdf": PDFSourceConfig}
PATH_KEYS = {"path", "pdfs", "cache_dir", "init_from"}


@dataclass
class ModelConfig:
    preset: str = _spec("mobilenet", _string, "tiny, mobilenet, densenet_shallow, resnet50")
    settings: dict = _spec({}, _mapping(), "preset overrides: fpn_channels, recognizer: {...}, "
                           "or any TextNet argument (max_width, ...)")
    loss_weights: dict = _spec({}, _mapping(_float(minimum=0)),
                               "{loss: weight}, e.g. {ctc: 2.0}; others stay 1.0")
    seed: int = _spec(0, _int(), "keys the model's initialisation and target sampling")
    init_from: str | None = _spec(None, _optional(_string),
                                  "a .keras model (or 'shipped') whose weights start a new run: "
                                  "variables matched by path and shape; not used when resuming")


@dataclass
class DataConfig:
    image_size: list = _spec([512, 512], _pair("int", 32), "[height, width] of the inputs")
    batch_size: int = _spec(2, _int(1), "global batch size, over all replicas and workers")
    target: str = _spec("lines", _target, "what a box is: lines, words, or segments[:W] (lines "
                        "split at word gaps into pieces at most W px wide, default 448)")
    max_boxes: int = _spec(128, _int(1), "boxes per image (padded)")
    max_text_length: int = _spec(96, _int(1), "characters per box (padded)")
    scale_range: list = _spec([0.75, 1.25], _scale_range, "scale jitter, log-uniform")
    augment_strength: float = _spec(1.0, _float(minimum=0, maximum=1),
                                    "photometric augmentation, 0..1")
    seed: int = _spec(0, _int(0), "keys every random draw of the input")
    synthetic_workers: int = _spec(1, _int(0), "render processes per synthetic source "
                                   "(0: render in the input thread)")
    sources: list = _spec([{"kind": "synthetic"}], None, "the sources and their mix weights")


@dataclass
class ValidationConfig:
    source: Any = _spec(None, None, "one source (as in data.sources), or null: no validation")
    batches: int = _spec(10, _int(1), "batches scored at the end of every epoch")


@dataclass
class ScheduleConfig:
    steps: int = _spec(10_000, _int(1), "total training steps")
    steps_per_epoch: int = _spec(500, _int(1), "an epoch: validation and best-model check")
    optimizer: str = _spec("adamw", _choice("adamw", "adam", "sgd"), "the optimizer")
    learning_rate: float = _spec(1e-3, _float(positive=True), "peak learning rate")
    warmup_steps: int | None = _spec(None, _optional(_int(0)), "linear warm-up from 0; "
                                     "null = min(300, steps // 10)")
    decay: str = _spec("cosine", _choice("cosine", "constant"), "after the warm-up")
    final_learning_rate_fraction: float = _spec(0.05, _float(minimum=0, maximum=1),
                                                "cosine decay ends at this fraction of the peak")
    weight_decay: float = _spec(1e-4, _float(minimum=0), "AdamW weight decay")
    clipnorm: float | None = _spec(5.0, _optional(_float(positive=True)),
                                   "clip each gradient's norm; null = no clipping")
    momentum: float = _spec(0.9, _float(minimum=0, maximum=1), "SGD momentum")
    weight_average: float | None = _spec(
        None, _optional(_float(minimum=0.5, maximum=0.99999)),
        "decay of an exponential moving average of the trainable weights, updated every "
        "step (0.998: about the last 500 steps); checkpoints keep it and model.keras is "
        "written with it; null = none")


@dataclass
class CheckpointConfig:
    every_steps: int = _spec(200, _int(1), "a checkpoint every N steps (and at every stop)")
    keep: int = _spec(3, _int(1), "checkpoints kept (the newest)")


@dataclass
class LoggingConfig:
    every_steps: int = _spec(25, _int(1), "history.csv / TensorBoard row every N steps")
    tensorboard: bool = _spec(True, _choice(True, False), "write TensorBoard logs")


@dataclass
class DistributionConfig:
    strategy: str = _spec("default", _choice("default", "mirrored", "multi_worker"),
                          "default: one device; mirrored: all local GPUs (or logical CPUs); "
                          "multi_worker: the cluster of TF_CONFIG")
    logical_cpus: int = _spec(0, _int(0), "split the CPU into N logical devices (0: no)")


@dataclass
class FinishConfig:
    bn_recalibration_steps: int = _spec(50, _int(0), "re-estimate BatchNorm statistics over "
                                        "N batches after the last step (0: no)")


@dataclass
class TrainingConfig:
    """Every setting of a training run (see the module docstring and docs/training.md)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    distribution: DistributionConfig = field(default_factory=DistributionConfig)
    finish: FinishConfig = field(default_factory=FinishConfig)
    precision: str = _spec("float32", _choice("float32", "mixed_float16", "mixed_bfloat16"),
                           "mixed_float16 (GPUs, with loss scaling) or mixed_bfloat16")

    # -------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | os.PathLike | None = None,
             overrides: dict[str, Any] | None = None) -> TrainingConfig:
        """Reads ``path`` (YAML; ``None``: all defaults), applies ``overrides``, validates.

        Raises:
            ConfigError: naming the file (or the command line), the key and the value.
        """
        raw: dict = {}
        where = "defaults"
        base = Path.cwd()
        if path is not None:
            path = Path(path)
            where = str(path)
            base = path.resolve().parent
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as e:
                raise ConfigError(f"{path}: cannot read the config file ({e.strerror})") from None
            try:
                raw = yaml.safe_load(text)
            except yaml.YAMLError as e:
                raise ConfigError(f"{path}: not valid YAML: {e}") from None
            if raw is None:
                raw = {}
            if not isinstance(raw, dict):
                raise ConfigError(f"{path}: expected a mapping of sections (model, data, ...) at "
                                  f"the top; received {type(raw).__name__}")
            raw = _resolve_paths(raw, base)
        origins: dict[str, str] = {}
        for key, value in (overrides or {}).items():
            _set_dotted(raw, key, value, "the command line")
            origins[key] = "the command line"
        return cls.from_dict(raw, where=where, origins=origins, base=base)

    @classmethod
    def from_dict(cls, raw: dict, where: str = "config", origins: dict | None = None,
                  base: Path | None = None) -> TrainingConfig:
        """Validates a plain dict (as in the YAML file); paths relative to ``base`` (cwd)."""
        raw = _resolve_paths(copy.deepcopy(raw), base or Path.cwd())
        return _build(cls, raw, _Where(where, origins or {}), "")

    # ------------------------------------------------------------- writing
    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        return yaml.dump(self.to_dict(), Dumper=_Dumper, sort_keys=False)

    def differences(self, other: TrainingConfig) -> dict[str, tuple]:
        """``{dotted key: (self's value, other's value)}`` of every key that differs."""
        out = {}
        _diff(self.to_dict(), other.to_dict(), "", out)
        return out


def parse_assignment(text: str) -> tuple[str, Any]:
    """``'data.batch_size=8'`` -> ``('data.batch_size', 8)`` (the value is read as YAML)."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set {text!r}: expected KEY=VALUE, e.g. data.batch_size=8")
    try:
        return key, yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as e:
        raise ConfigError(f"--set {text!r}: the value is not valid YAML: {e}") from None


# ---------------------------------------------------------------------------
# the machinery
# ---------------------------------------------------------------------------

@dataclass
class _Where:
    file: str
    origins: dict

    def error(self, key: str, message: str, value=dataclasses.MISSING) -> ConfigError:
        origin = self.origins.get(key, self.file)
        received = "" if value is dataclasses.MISSING else f"; received {value!r}"
        return ConfigError(f"{origin}, key {key!r}: {message}{received}")


def _set_dotted(raw: dict, key: str, value, origin: str):
    parts = key.split(".")
    node = raw
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            try:
                node = node[int(part)]
            except (ValueError, IndexError):
                raise ConfigError(f"{origin}, key {key!r}: {'.'.join(parts[:i])!r} is a "
                                  f"list of {len(node)}; give an index 0..{len(node) - 1}") \
                    from None
            continue
        if not isinstance(node, dict):
            raise ConfigError(f"{origin}, key {key!r}: {'.'.join(parts[:i])!r} is not a section")
        if part == "sources" and part not in node and parts[i - 1:i] == ["data"]:
            node[part] = copy.deepcopy(DataConfig().sources)
        node = node.setdefault(part, {})
    if isinstance(node, list):
        try:
            node[int(parts[-1])] = value
        except (ValueError, IndexError):
            raise ConfigError(f"{origin}, key {key!r}: no such list index") from None
    elif isinstance(node, dict):
        node[parts[-1]] = value
    else:
        raise ConfigError(f"{origin}, key {key!r}: {'.'.join(parts[:-1])!r} is not a section")


def _resolve_paths(raw, base: Path):
    """Relative ``path`` / ``pdfs`` / ``cache_dir`` values of sources become absolute."""
    def fix(value):
        if isinstance(value, str) and value and not os.path.isabs(value) and "://" not in value \
                and value != "shipped":
            return str(base / value)
        if isinstance(value, list):
            return [fix(v) for v in value]
        return value

    def walk(node):
        if isinstance(node, dict):
            return {k: fix(v) if k in PATH_KEYS else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return walk(raw)


def _suggest(name, options):
    close = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(options)}"


def _build(cls, raw, where: _Where, prefix: str):
    if not isinstance(raw, dict):
        raise where.error(prefix.rstrip(".") or "(top)", "expected a mapping of keys to values",
                          raw)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            raise where.error(f"{prefix}{key}", "unknown key" + _suggest(str(key), names))
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        section = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if dataclasses.is_dataclass(section):
            kwargs[f.name] = _build(section, raw.get(f.name, {}), where, key + ".")
            continue
        if f.name not in raw and not (cls is DataConfig and f.name == "sources"):
            continue
        value = raw.get(f.name, f.default_factory() if section else f.default)
        if cls is DataConfig and f.name == "sources":
            if not isinstance(value, list) or not value:
                raise where.error(key, "expected a non-empty list of sources", value)
            kwargs[f.name] = [_source(v, where, f"{key}.{i}") for i, v in enumerate(value)]
        elif cls is ValidationConfig and f.name == "source":
            kwargs[f.name] = None if value is None else _source(value, where, key)
        elif f.name == "kind":
            kwargs[f.name] = value
        else:
            try:
                kwargs[f.name] = f.metadata["check"](value)
            except ValueError as e:
                raise where.error(key, str(e), value) from None
    config = cls(**kwargs)
    if cls is TrainingConfig:
        _check_whole(config, where)
    return config


def _source(raw, where: _Where, key: str):
    if not isinstance(raw, dict):
        raise where.error(key, "expected a source mapping such as {kind: synthetic}", raw)
    kind = raw.get("kind")
    if kind not in SOURCE_KINDS:
        raise where.error(f"{key}.kind", f"expected one of {', '.join(map(repr, SOURCE_KINDS))}",
                          kind)
    source = _build(SOURCE_KINDS[kind], raw, where, key + ".")
    for name in ("path", "pdfs"):
        if hasattr(source, name) and getattr(source, name) == "":
            raise where.error(f"{key}.{name}", f"the {kind!r} source needs {name!r}")
    return source


def _check_whole(config: TrainingConfig, where: _Where):
    """Checks that involve more than one key."""
    from keras_textnet.models.presets import PRESETS
    from keras_textnet.models.text_net import DEFAULT_LOSS_WEIGHTS

    if config.model.preset not in PRESETS:
        raise where.error("model.preset", f"expected one of {', '.join(PRESETS)}",
                          config.model.preset)
    unknown = sorted(set(config.model.loss_weights) - set(DEFAULT_LOSS_WEIGHTS))
    if unknown:
        raise where.error("model.loss_weights", f"unknown loss(es) {unknown}; the losses are "
                          f"{', '.join(DEFAULT_LOSS_WEIGHTS)}")
    for name in ("loss_weights", "seed"):
        if name in config.model.settings:
            raise where.error(f"model.settings.{name}", f"give it as model.{name}")
    warmup = config.schedule.warmup_steps
    if warmup is not None and warmup >= config.schedule.steps and warmup:
        raise where.error("schedule.warmup_steps", f"must be below schedule.steps "
                          f"({config.schedule.steps})", warmup)


class _Dumper(yaml.SafeDumper):
    """Sections as blocks, short lists of numbers or strings inline."""


def _represent_list(dumper, data):
    flow = all(isinstance(v, (int, float, str)) for v in data) or all(
        isinstance(v, list) and all(isinstance(x, (int, float)) for x in v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _diff(a, b, prefix, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in dict.fromkeys([*a, *b]):
            _diff(a.get(key), b.get(key), f"{prefix}{key}.", out)
    elif a != b:
        out[prefix.rstrip(".")] = (a, b)


__all__ = ["AnnotationSourceConfig", "CheckpointConfig", "ConfigError", "DataConfig",
           "DistributionConfig", "FinishConfig", "LoggingConfig", "ModelConfig",
           "PDFSourceConfig", "ScheduleConfig", "SyntheticSourceConfig", "TFRecordSourceConfig",
           "TrainingConfig", "ValidationConfig", "parse_assignment"]
