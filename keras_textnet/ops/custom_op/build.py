"""Building and caching the native dynamic RoI pooling op.

The op (``custom_ops/``: C++ CPU kernels, CUDA kernels) is compiled on the user's machine,
never shipped as a binary: :func:`build_custom_ops` (``keras-textnet build-ops``) compiles it
with ``tf.sysconfig``'s flags into a cache folder keyed by the TensorFlow version, the compiler
and a hash of the sources, so that a new TF or edited sources get a new build and an old build
is never loaded into the wrong TF.

Environment: ``KERAS_TEXTNET_OPS_CACHE`` (cache folder, default
``$XDG_CACHE_HOME/keras_textnet/custom_ops``), ``CXX`` (the C++ compiler, default ``g++``),
``NVCC`` and ``CUDA_HOME`` (for the CUDA kernels).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import tensorflow as tf

logger = logging.getLogger(__name__)

ENV_CACHE = "KERAS_TEXTNET_OPS_CACHE"
LIBRARY_NAME = "_dynamic_roi_pooling_ops.so"

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


def source_dir() -> Path:
    """The folder with the op's sources: ``custom_ops/`` of a checkout, else the installed copy."""
    package = Path(__file__).resolve().parents[2]          # keras_textnet/
    for candidate in (package.parent / "custom_ops", package / "custom_ops_src"):
        if (candidate / _CXX_SOURCES[1]).is_file():
            return candidate
    raise CustomOpError(f"the custom op's sources are missing (looked for {_CXX_SOURCES[1]} in "
                        f"{package.parent / 'custom_ops'} and "
                        f"{package / 'custom_ops_src'}).")


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
