"""Building, caching and loading the native dynamic RoI pooling op, and choosing it or pure TF.

The op (``custom_ops/``: C++ CPU kernels, CUDA kernels, one contract with
:func:`keras_textnet.ops.dynamic_roi_pooling.dynamic_roi_pooling`) is compiled on the user's
machine, never shipped as a binary: :func:`build_custom_ops` (``keras-textnet build-ops``)
compiles it with ``tf.sysconfig``'s flags into a cache folder keyed by the TensorFlow
version, the compiler and a hash of the sources, so that a new TF or edited sources get a new
build and an old build is never loaded into the wrong TF.

Which implementation the pooling uses:

* ``KERAS_TEXTNET_POOLING`` (environment) or :func:`set_pooling_implementation` (which wins):
  ``"auto"`` (default), ``"custom"`` or ``"tf"``.
* ``"auto"``: the custom op if it can be had (loaded from the cache, or built there once, at
  first use, when a C++ compiler is found), else pure TF with one warning per process. Under
  XLA (``jit_compile=True``) always pure TF: the op has no XLA kernel.
* ``"custom"``: the op or an error saying why not. ``"tf"``: pure TF, silently (use it for
  TFLite and ONNX exports, which cannot hold a custom op).

The choice is made when a graph is traced: a ``tf.function`` keeps the implementation it was
traced with. A SavedModel that holds the op loads only after :func:`load_custom_ops`.

Environment: ``KERAS_TEXTNET_OPS_CACHE`` (cache folder, default
``$XDG_CACHE_HOME/keras_textnet/custom_ops``), ``CXX`` (the C++ compiler, default ``g++``),
``NVCC`` and ``CUDA_HOME`` (for the CUDA kernels).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

import tensorflow as tf

logger = logging.getLogger(__name__)

ENV_IMPLEMENTATION = "KERAS_TEXTNET_POOLING"
ENV_CACHE = "KERAS_TEXTNET_OPS_CACHE"
IMPLEMENTATIONS = ("auto", "custom", "tf")
LIBRARY_NAME = "_dynamic_roi_pooling_ops.so"
OP_NAME = "KerasTextnet>DynamicRoiPooling"
GRAD_OP_NAME = "KerasTextnet>DynamicRoiPoolingGrad"

_CXX_SOURCES = ("dynamic_roi_pooling_ops.cc", "dynamic_roi_pooling_kernels.cc")
_CUDA_SOURCE = "dynamic_roi_pooling_kernels.cu.cc"
# -ffp-contract=off: no fused multiply-adds, so the arithmetic rounds as the pure-TF op's does.
_CXX_FLAGS = ("-O3", "-fPIC", "-ffp-contract=off", "-Wno-deprecated-declarations",
              "-Wno-interference-size")
# CUDA 13 builds sm_75 and newer; PTX for 9.0 lets newer GPUs compile at load.
_CUDA_ARCHS = ("75", "80", "86", "89", "90")
_BUILD_FLAGS_VERSION = "2"  # bump when the commands below change


class CustomOpError(RuntimeError):
    """The custom op cannot be built or loaded; the message says why."""


# --- sources, compiler, cache ----------------------------------------------------------------


def source_dir() -> Path:
    """The folder with the op's sources: ``custom_ops/`` of a checkout, else the installed copy."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "custom_ops", here.parents[1] / "custom_ops_src"):
        if (candidate / _CXX_SOURCES[1]).is_file():
            return candidate
    raise CustomOpError(f"the custom op's sources are missing (looked for {_CXX_SOURCES[1]} in "
                        f"{here.parents[2] / 'custom_ops'} and "
                        f"{here.parents[1] / 'custom_ops_src'}).")


def _source_hash(folder: Path) -> str:
    digest = hashlib.sha256(_BUILD_FLAGS_VERSION.encode())
    for path in sorted(folder.glob("*")):
        if path.suffix in (".cc", ".h", ".cuh"):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _compiler() -> str:
    return os.environ.get("CXX") or "g++"


def _tool_version(tool: str) -> str:
    """First line of ``tool --version``, or a CustomOpError when it cannot run."""
    path = shutil.which(tool)
    if path is None:
        raise CustomOpError(f"no C++ compiler: `{tool}` is not on the PATH (set CXX to use "
                            f"another).")
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CustomOpError(f"the compiler `{tool}` does not run: {error}") from error
    if done.returncode != 0:
        raise CustomOpError(f"`{tool} --version` failed: {done.stderr.strip()[:200]}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return lines[0].strip() if lines else tool


def _nvcc() -> str | None:
    for candidate in (os.environ.get("NVCC"), shutil.which("nvcc"),
                      os.path.join(os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin",
                                   "nvcc")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _cuda_home(nvcc: str) -> Path:
    """CUDA_HOME, else the toolkit around nvcc (``bin/..``), else /usr/local/cuda."""
    if os.environ.get("CUDA_HOME"):
        return Path(os.environ["CUDA_HOME"])
    for candidate in (Path(os.path.realpath(nvcc)).parents[1], Path("/usr/local/cuda")):
        if (candidate / "lib64" / "libcudart_static.a").is_file():
            return candidate
    return Path(os.path.realpath(nvcc)).parents[1]


def cuda_build_possible() -> tuple[bool, str]:
    """Whether the CUDA kernels can be compiled here, and why not when they cannot."""
    if not tf.test.is_built_with_cuda():
        return False, "this TensorFlow is not a CUDA build"
    nvcc = _nvcc()
    if nvcc is None:
        return False, "nvcc not found (set NVCC or CUDA_HOME)"
    cudart = _cuda_home(nvcc) / "lib64" / "libcudart_static.a"
    if not cudart.is_file():
        return False, f"{cudart} not found"
    tf_include = Path(tf.sysconfig.get_include()) / "third_party" / "gpus" / "cuda" / "include"
    if not (tf_include / "cuda_runtime_api.h").is_file():
        return False, f"TensorFlow's CUDA headers are missing ({tf_include})"
    return True, ""


def cache_root() -> Path:
    """Where builds go: ``$KERAS_TEXTNET_OPS_CACHE`` or ``~/.cache/keras_textnet/custom_ops``."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "keras_textnet" / "custom_ops"


def build_key(cuda: bool) -> str:
    """The cache key: TF version, compiler (and nvcc), kernels, a hash of the sources."""
    compiler = _tool_version(_compiler())
    parts = [f"tf{tf.__version__}", compiler]
    if cuda:
        parts.append(_tool_version(_nvcc() or "nvcc"))
    name_hash = hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
    compiler_name = Path(_compiler()).name.replace(os.sep, "_")
    kind = "cuda" if cuda else "cpu"
    return f"tf{tf.__version__}-{compiler_name}-{name_hash}-{kind}-{_source_hash(source_dir())}"


def _run(command, log, cwd):
    log.write("$ " + " ".join(str(c) for c in command) + "\n")
    log.flush()
    return subprocess.Popen([str(c) for c in command], stdout=log, stderr=subprocess.STDOUT,
                            cwd=cwd)


def _compile(src: Path, work: Path, cuda: bool, log) -> Path:
    """Compiles the sources into ``work``; returns the library. Raises CustomOpError."""
    cxx = shutil.which(_compiler())
    cflags = list(tf.sysconfig.get_compile_flags())
    lflags = list(tf.sysconfig.get_link_flags())
    extra = []
    if cuda:
        tf_cuda = Path(tf.sysconfig.get_include()) / "third_party" / "gpus" / "cuda" / "include"
        extra = ["-DGOOGLE_CUDA=1", f"-I{tf_cuda}"]
    jobs, objects = [], []
    for name in _CXX_SOURCES:
        obj = work / (name + ".o")
        objects.append(obj)
        jobs.append(_run([cxx, *_CXX_FLAGS, *cflags, *extra, "-c", src / name, "-o", obj], log,
                         src))
    link_extra = []
    if cuda:
        nvcc = _nvcc()
        obj = work / (_CUDA_SOURCE + ".o")
        objects.append(obj)
        gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in _CUDA_ARCHS]
        gencode.append(f"-gencode=arch=compute_{_CUDA_ARCHS[-1]},code=compute_{_CUDA_ARCHS[-1]}")
        # -fmad=false: round like TF's own GPU kernels (one per mul and add, no FMA).
        jobs.append(_run([nvcc, "-O3", "-std=c++17", "-fmad=false", "-Xcompiler", "-fPIC",
                          *gencode, "-x", "cu", "-c", src / _CUDA_SOURCE, "-o", obj], log, src))
        link_extra = [f"-L{_cuda_home(nvcc) / 'lib64'}", "-lcudart_static", "-ldl", "-lrt",
                      "-lpthread"]
    failed = [Path(job.args[-3]).name for job in jobs if job.wait() != 0]
    if failed:
        raise CustomOpError(f"compiling {', '.join(failed)} failed: {_log_tail(log)} "
                            f"(whole log: {log.name})")
    library = work / LIBRARY_NAME
    if _run([cxx, "-shared", *objects, "-o", library, *lflags, *link_extra], log, src).wait():
        raise CustomOpError(f"linking the custom op failed: {_log_tail(log)} "
                            f"(whole log: {log.name})")
    return library


def _log_tail(log, lines: int = 3) -> str:
    log.flush()
    text = Path(log.name).read_text(errors="replace").strip().splitlines()
    errors = [line for line in text if "error" in line.lower()] or text
    return " | ".join(line.strip() for line in errors[-lines:])


def build_custom_ops(*, cuda="auto", force: bool = False, cache_dir=None) -> Path:
    """Compiles the op into the cache (unless already there) and returns the library's path.

    Args:
        cuda: ``True`` builds the CUDA kernels too (error if impossible), ``False`` the CPU
            kernels only, ``"auto"`` the CUDA kernels when nvcc, its static runtime and a CUDA
            build of TensorFlow are all present.
        force: rebuild even if the cache holds a build.
        cache_dir: the cache folder (default :func:`cache_root`).

    Raises:
        CustomOpError: no compiler, missing sources, or a failed build (the message names the
            build log).
    """
    possible, why_not = cuda_build_possible()
    if cuda == "auto":
        cuda = possible
    elif cuda and not possible:
        raise CustomOpError(f"cannot build the CUDA kernels: {why_not}.")
    src = source_dir()
    key = build_key(bool(cuda))
    folder = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    target = folder / key / LIBRARY_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same key
        if target.is_file() and not force:
            return target
        log_path = target.parent / "build.log"
        logger.warning("Building the custom dynamic RoI pooling op (%s kernels) into %s; this "
                       "happens once per TensorFlow version and compiler.",
                       "CPU + CUDA" if cuda else "CPU", target.parent)
        with open(log_path, "w") as log, \
                tempfile.TemporaryDirectory(dir=target.parent, prefix="build-") as work:
            library = _compile(src, Path(work), bool(cuda), log)
            os.replace(library, target)
    return target


def cached_library(cache_dir=None) -> Path | None:
    """The cached library for this TF and compiler (CUDA build preferred), or None."""
    folder = Path(cache_dir).expanduser() if cache_dir is not None else cache_root()
    kinds = [True, False] if cuda_build_possible()[0] else [False]
    for cuda in kinds:
        path = folder / build_key(cuda) / LIBRARY_NAME
        if path.is_file():
            return path
    return None


# --- loading -----------------------------------------------------------------------------------


class _OpLibrary:
    """The process's one copy of the op library: loaded at most once, failures remembered."""

    def __init__(self, *, build: bool = True, cache_dir=None):
        self.build = build
        self.cache_dir = cache_dir
        self.module = None
        self.path = None
        self.error: CustomOpError | None = None
        self.warned = False
        self.lock = threading.RLock()

    def load(self):
        with self.lock:
            if self.module is not None:
                return self.module
            if self.error is not None:
                raise self.error
            try:
                path = cached_library(self.cache_dir)
                if path is None:
                    if not self.build:
                        raise CustomOpError("the op is not built (run `keras-textnet build-ops`).")
                    # At first use the CUDA kernels are only worth minutes of nvcc with a GPU.
                    cuda = cuda_build_possible()[0] and bool(tf.config.list_physical_devices("GPU"))
                    path = build_custom_ops(cuda=cuda, cache_dir=self.cache_dir)
                module = tf.load_op_library(str(path))
            except CustomOpError as error:
                self.error = error
                raise
            except (OSError, tf.errors.OpError, subprocess.SubprocessError) as error:
                self.error = CustomOpError(f"loading the custom op failed: {error}")
                raise self.error from error
            _register_gradients(module)
            self.module, self.path = module, path
            return module


_LIBRARY = _OpLibrary()
_GRADIENTS_REGISTERED = False
_setting: str | None = None


@tf.autograph.experimental.do_not_convert
def load_custom_ops():
    """Loads (building at first use if needed) the op library and returns its module.

    Call it before ``tf.saved_model.load`` of a SavedModel that holds the op.

    Raises:
        CustomOpError: when the op cannot be built or loaded.
    """
    return _LIBRARY.load()


def custom_ops_path() -> Path | None:
    """The path of the loaded library, or None when it is not loaded."""
    return _LIBRARY.path


def _register_gradients(module):
    global _GRADIENTS_REGISTERED
    if _GRADIENTS_REGISTERED:
        return

    def _attrs(op):
        return dict(spatial_scale=op.get_attr("spatial_scale"),
                    pooled_height=op.get_attr("pooled_height"),
                    max_width=op.get_attr("max_width"),
                    sampling_ratio=op.get_attr("sampling_ratio"),
                    aligned=op.get_attr("aligned"))

    @tf.RegisterGradient(OP_NAME)
    def _pooling_grad(op, grad_pooled, _grad_widths):  # widths are integers: no gradient
        features, boxes, box_indices, angles = op.inputs
        grad = module.keras_textnet_dynamic_roi_pooling_grad(
            grad_pooled, boxes, box_indices, angles, tf.shape(features, out_type=tf.int32),
            **_attrs(op))
        return [grad, None, None, None]

    @tf.RegisterGradient(GRAD_OP_NAME)
    def _pooling_grad_grad(op, grad_grad_features):
        # The gradient op is linear in grad_pooled: its own gradient is the forward pooling.
        _, boxes, box_indices, angles, _ = op.inputs
        pooled, _ = module.keras_textnet_dynamic_roi_pooling(
            grad_grad_features, boxes, box_indices, angles, **_attrs(op))
        return [pooled, None, None, None, None]

    _GRADIENTS_REGISTERED = True


# --- choosing the implementation -----------------------------------------------------------


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
        load_custom_ops()
        return True
    if _in_xla_context():
        return False
    try:
        load_custom_ops()
        return True
    except CustomOpError as error:
        library = _LIBRARY
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
    path = _LIBRARY.path
    if path is not None:
        return f"pooling implementation: {setting}; custom op loaded from {path}"
    if _LIBRARY.error is not None:
        return f"pooling implementation: {setting}; custom op unavailable: {_LIBRARY.error}"
    return f"pooling implementation: {setting}; custom op not loaded yet"
