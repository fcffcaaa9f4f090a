"""Which implementation the dynamic RoI pooling runs: the native op or pure TF.

* ``KERAS_TEXTNET_POOLING`` (environment) or :func:`set_pooling_implementation` (which wins):
  ``"auto"`` (default), ``"custom"`` or ``"tf"``.
* ``"auto"``: the custom op if it can be had (loaded from the cache, or built there once, at
  first use, when a C++ compiler is found), else pure TF with one warning per process. Under
  XLA (``jit_compile=True``) always pure TF: the op has no XLA kernel.
* ``"custom"``: the op or an error saying why not. ``"tf"``: pure TF, silently (use it for
  TFLite and ONNX exports, which cannot hold a custom op).

The choice is made when a graph is traced: a ``tf.function`` keeps the implementation it was
traced with.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import tensorflow as tf

from keras_textnet.ops.custom_op import load
from keras_textnet.ops.custom_op.build import CustomOpError

ENV_IMPLEMENTATION = "KERAS_TEXTNET_POOLING"
IMPLEMENTATIONS = ("auto", "custom", "tf")

_setting: str | None = None


def _check_name(name, source):
    if name not in IMPLEMENTATIONS:
        raise ValueError(f"{source} must be one of {', '.join(IMPLEMENTATIONS)}; got {name!r}.")
    return name


@tf.autograph.experimental.do_not_convert
def get_pooling_implementation() -> str:
    """The setting in force: :func:`set_pooling_implementation`'s, else the environment's."""
    if _setting is not None:
        return _setting
    value = os.environ.get(ENV_IMPLEMENTATION, "auto").strip().lower() or "auto"
    return _check_name(value, f"the environment variable {ENV_IMPLEMENTATION}")


def set_pooling_implementation(name: str | None) -> str | None:
    """Forces ``"custom"`` or ``"tf"`` (or ``"auto"``); ``None`` returns to the environment's.

    Returns the previous setting (``None`` when none was set), for restoring it.
    """
    global _setting
    if name is not None:
        _check_name(name, "the pooling implementation")
    previous, _setting = _setting, name
    return previous


@contextlib.contextmanager
def pooling_implementation(name: str):
    """``with pooling_implementation("tf"): ...`` uses ``name`` inside the block only."""
    previous = set_pooling_implementation(name)
    try:
        yield
    finally:
        set_pooling_implementation(previous)


def _in_xla_context() -> bool:
    """Whether the graph being traced will be compiled by XLA (TF-internal API; False if gone)."""
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util

        return bool(control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()))
    except (ImportError, AttributeError):
        return False


@tf.autograph.experimental.do_not_convert
def use_custom_op() -> bool:
    """Whether the pooling traced now runs the custom op (loading it if needed).

    ``"auto"`` falls back to pure TF (warning once per process) when the op is unavailable,
    and uses pure TF under XLA. ``"custom"`` raises CustomOpError when the op is unavailable.
    """
    setting = get_pooling_implementation()
    if setting == "tf":
        return False
    if setting == "custom":
        load.load_custom_ops()
        return True
    if _in_xla_context():
        return False
    try:
        load.load_custom_ops()
        return True
    except CustomOpError as error:
        library = load._LIBRARY
        with library.lock:
            if not library.warned:
                library.warned = True
                warnings.warn(
                    f"keras_textnet: the custom dynamic RoI pooling op is unavailable ({error}); "
                    f"using the pure-TF implementation (same results, slower). Build it with "
                    f"`keras-textnet build-ops`, or set {ENV_IMPLEMENTATION}=tf to silence this.",
                    RuntimeWarning, stacklevel=3)
        return False


@tf.autograph.experimental.do_not_convert
def active_pooling_implementation() -> str:
    """``"custom"`` or ``"tf"``: what the pooling traced now would run."""
    return "custom" if use_custom_op() else "tf"


def describe() -> str:
    """One line for logs and the CLI: the setting, the library, or why there is none."""
    setting = get_pooling_implementation()
    library = load._LIBRARY
    path = library.path
    if path is not None:
        return f"pooling implementation: {setting}; custom op loaded from {path}"
    if library.error is not None:
        return f"pooling implementation: {setting}; custom op unavailable: {library.error}"
    return f"pooling implementation: {setting}; custom op not loaded yet"
