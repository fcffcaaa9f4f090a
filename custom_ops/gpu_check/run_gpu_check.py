"""Check the CUDA pooling kernels against the NumPy oracle and time them against the memory floor.

    python custom_ops/gpu_check/run_gpu_check.py [--backend cuda|cpu] [--out DIR] [--reps N]

For a machine with a GPU and nvcc but no TensorFlow. It compiles the TF-free kernels of
``custom_ops/dynamic_roi_pooling_cuda.cuh`` (through ``pooling_check_api.cu``) for sm_90, and
the single-threaded CPU loops of ``dynamic_roi_pooling_cpu.h`` with g++, then:

1. checks the vectorised float64 reference (``reference.py``) against the loop oracle
   (``tests/pooling_oracle.py``);
2. runs forward and backward on small random cases holding every awkward box (rotated, off
   the map, degenerate, widths 1 and Wmax, no box, a NaN box, an out-of-range box index) in
   float32 and float64, against the oracle (forward) and the reference's exact adjoint
   (backward), outputs poisoned with NaN beforehand so that every element must be written;
3. the realistic case (batch 2, 256 x 256 x 64 features, 512 boxes, Hp 8, Wmax 128, s 2):
   CUDA against the float64 reference and against the CPU loops;
4. times that case with CUDA events (median of ``--reps``, rotating over three input sets so
   that L2 does not hold them), measures a device-to-device copy, and reports each kernel's
   time over its floor: the bytes it must move divided by the measured copy bandwidth.

``--backend cpu`` runs everything over the CPU loops instead (no GPU needed): that is how
the driver itself is tested. Logs and ``results.json`` go to ``--out`` ($OUT if set).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCES = HERE.parent
ROOT = SOURCES.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import pooling_cases  # noqa: E402 (after the path insertion)
import reference  # noqa: E402

ATTRIBUTES = ("spatial_scale", "pooled_height", "max_width", "sampling_ratio", "aligned")
# DynamicRoiPoolingKernelOptions as bits (pooling_check_api.cu): 1 merge backward taps,
# 2 float4 atomics, 4 forward 2048 pairs per block, 8 merge forward taps, 16 backward 2048
# pairs per block. The last variant is the launchers' default.
VARIANTS = {"plain (no merge, scalar atomics, 512 per block)": 0,
            "merge fwd + bwd, float4 atomics": 11,
            "fwd 2048/block; bwd merge, float4 atomics, 2048/block": 23,
            "fwd 2048/block; bwd merge, float4 atomics (default)": 7}
DEFAULT_OPTIONS = 7


def _log(line, stream):
    print(line, flush=True)
    stream.write(line + "\n")
    stream.flush()


def build(backend, build_dir: Path, log) -> Path:
    """Compiles pooling_check_api.cu for `backend`; returns the shared library's path."""
    build_dir.mkdir(parents=True, exist_ok=True)
    source = HERE / "pooling_check_api.cu"
    if backend == "cuda":
        nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
        out = build_dir / "libpooling_check_cuda.so"
        # -fmad=false as in the TF build: round like TF's own GPU kernels.
        command = [nvcc, "-O3", "-std=c++17", "-fmad=false", "-Xcompiler", "-fPIC",
                   "-arch=sm_90", "-Xptxas", "-v", "-shared", f"-I{SOURCES}", str(source),
                   "-o", str(out)]
    else:
        out = build_dir / "libpooling_check_cpu.so"
        command = [os.environ.get("CXX", "g++"), "-O3", "-fPIC", "-ffp-contract=off",
                   "-std=c++17", "-shared", "-DKTN_CHECK_CPU", f"-I{SOURCES}", "-x", "c++",
                   str(source), "-o", str(out)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    log.write(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise SystemExit(f"build failed ({backend}):\n{done.stderr[-4000:]}")
    _log(f"built {out.name} in {time.perf_counter() - start:.1f} s", log)
    return out


class Kernels:
    """The C interface of pooling_check_api.cu through ctypes."""

    def __init__(self, path: Path):
        lib = ctypes.CDLL(str(path))
        ptr, i32, i64, f32 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64, ctypes.c_float
        lib.ktn_last_error.restype = ctypes.c_char_p
        lib.ktn_describe.argtypes = [ctypes.c_char_p, i32]
        lib.ktn_forward.argtypes = [i32, ptr, ptr, ptr, ptr, ptr, f32, i32, i32, i32, i32, i32,
                                    ptr, ptr]
        lib.ktn_backward.argtypes = [i32, ptr, ptr, ptr, ptr, ptr, f32, i32, i32, i32, i32, i32,
                                     ptr]
        lib.ktn_time.argtypes = [i32, ptr, ptr, ptr, ptr, ptr, f32, i32, i32, i32, i32, i32, i32,
                                 i32, i32, ptr, ptr]
        lib.ktn_copy_bandwidth.argtypes = [i64, i32, ptr]
        self.lib = lib

    def _check(self, status):
        if status != 0:
            raise RuntimeError(self.lib.ktn_last_error().decode())

    def describe(self):
        buffer = ctypes.create_string_buffer(512)
        self._check(self.lib.ktn_describe(buffer, 512))
        return buffer.value.decode()

    @staticmethod
    def _inputs(case):
        dtype = case["features"].dtype
        arrays = [np.ascontiguousarray(case["features"]),
                  np.ascontiguousarray(case["boxes"], dtype).reshape(-1, 4),
                  np.ascontiguousarray(case["box_indices"], np.int32),
                  np.ascontiguousarray(case["angles"], dtype)]
        sizes = np.array(list(arrays[0].shape) + [arrays[1].shape[0]], np.int64)
        attrs = (float(case["spatial_scale"]), int(case["pooled_height"]),
                 int(case["max_width"]), int(case["sampling_ratio"]), int(bool(case["aligned"])))
        return dtype, arrays, sizes, attrs

    def forward(self, case, options=DEFAULT_OPTIONS):
        dtype, arrays, sizes, attrs = self._inputs(case)
        channels, num = int(sizes[3]), int(sizes[4])
        pooled = np.empty((num, attrs[1], attrs[2], channels), dtype)
        widths = np.empty(num, np.int32)
        self._check(self.lib.ktn_forward(dtype.itemsize, *(a.ctypes.data for a in arrays),
                                         sizes.ctypes.data, *attrs, options,
                                         pooled.ctypes.data, widths.ctypes.data))
        return pooled, widths

    def backward(self, grad_pooled, case, options=DEFAULT_OPTIONS):
        dtype, arrays, sizes, attrs = self._inputs(case)
        grad_pooled = np.ascontiguousarray(grad_pooled, dtype)
        grad = np.empty(arrays[0].shape, dtype)
        self._check(self.lib.ktn_backward(dtype.itemsize, grad_pooled.ctypes.data,
                                          *(a.ctypes.data for a in arrays[1:]),
                                          sizes.ctypes.data, *attrs, options,
                                          grad.ctypes.data))
        return grad

    def time(self, case, copies, warmup, reps, options=DEFAULT_OPTIONS):
        dtype, arrays, sizes, attrs = self._inputs(case)
        forward_ms = np.zeros(reps, np.float32)
        backward_ms = np.zeros(reps, np.float32)
        self._check(self.lib.ktn_time(dtype.itemsize, *(a.ctypes.data for a in arrays),
                                      sizes.ctypes.data, *attrs, options, copies, warmup, reps,
                                      forward_ms.ctypes.data, backward_ms.ctypes.data))
        return forward_ms, backward_ms

    def copy_ms(self, nbytes, reps):
        ms = np.zeros(reps, np.float32)
        self._check(self.lib.ktn_copy_bandwidth(nbytes, reps, ms.ctypes.data))
        return ms


def _attrs(case):
    return {k: case[k] for k in ATTRIBUTES}


def _errors(got, expected):
    """(max abs error, relative L2 error ||got - expected|| / ||expected||)."""
    got = np.asarray(got, np.float64)
    diff = got - expected
    norm = np.linalg.norm(expected)
    return (float(np.abs(diff).max()) if diff.size else 0.0,
            float(np.linalg.norm(diff) / norm) if norm > 0 else float(np.linalg.norm(diff)))


def check_reference(log):
    """The vectorised reference against the loop oracle (float64, forward)."""
    import pooling_oracle as oracle

    worst = 0.0
    for k, shape in enumerate(pooling_cases.EDGE_SHAPES):
        case = pooling_cases.edge_case(shape, seed=100 + k, dtype=np.float64)
        args = (case["features"], case["boxes"], case["box_indices"], case["angles"])
        expected, expected_widths = oracle.dynamic_roi_pooling(*args, **_attrs(case))
        got, got_widths = reference.forward(*args, **_attrs(case))
        assert np.array_equal(got_widths, expected_widths), (shape, got_widths, expected_widths)
        worst = max(worst, _errors(got, expected)[0])
    _log(f"reference vs loop oracle (float64, {len(pooling_cases.EDGE_SHAPES)} cases): "
         f"max abs error {worst:.2e}", log)
    assert worst < 1e-12, worst
    return worst


def check_small_cases(kernels, backend, log, options=DEFAULT_OPTIONS):
    """Forward and backward of every edge case, float32 and float64, against the references."""
    import pooling_oracle as oracle

    limits = {np.float32: (2e-5, 1e-5), np.float64: (1e-10, 1e-12)}  # max abs, rel L2
    rows = []
    for dtype in (np.float32, np.float64):
        for k, shape in enumerate(pooling_cases.EDGE_SHAPES):
            for seed in range(3):
                case = pooling_cases.edge_case(shape, seed=1000 * k + seed, dtype=dtype)
                args = (case["features"], case["boxes"], case["box_indices"], case["angles"])
                expected, expected_widths = oracle.dynamic_roi_pooling(*args, **_attrs(case))
                pooled, widths = kernels.forward(case, options)
                assert not np.isnan(pooled).any(), f"unwritten output in {shape}"
                assert np.array_equal(widths, expected_widths), (shape, widths, expected_widths)
                forward_err = _errors(pooled, expected)
                rng = np.random.default_rng(seed)
                grad_out = rng.standard_normal(pooled.shape).astype(dtype)
                grad = kernels.backward(grad_out, case, options)
                expected_grad = reference.adjoint(grad_out, case["features"].shape, *args[1:],
                                                  **_attrs(case))
                backward_err = _errors(grad, expected_grad)
                rows.append((np.dtype(dtype).name, shape, forward_err, backward_err))
    worst = {}
    for name, _, fwd, bwd in rows:
        w = worst.setdefault(name, [0.0, 0.0, 0.0, 0.0])
        w[:] = [max(w[0], fwd[0]), max(w[1], fwd[1]), max(w[2], bwd[0]), max(w[3], bwd[1])]
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        w = worst[name]
        _log(f"{backend} small cases {name} (options {options}): forward max abs {w[0]:.2e} "
             f"rel {w[1]:.2e}; backward max abs {w[2]:.2e} rel {w[3]:.2e} "
             f"({sum(r[0] == name for r in rows)} cases)", log)
        max_abs, max_rel = limits[dtype]
        assert w[0] <= max_abs and w[1] <= max_rel, (name, "forward", w)
        assert w[2] <= 10 * max_abs and w[3] <= max_rel, (name, "backward", w)
    return worst


def check_special_boxes(kernels, backend, log):
    """A NaN box (width 1, zeros, no gradient) and, on CUDA, an out-of-range box index."""
    rng = np.random.default_rng(7)
    case = dict(features=rng.standard_normal((2, 6, 8, 4)).astype(np.float32),
                boxes=np.array([[np.nan, 1, 5, 9], [1, 1, 9, 20], [2, 2, 6, 14]], np.float32),
                box_indices=np.array([0, 1, 1], np.int32),
                angles=np.array([0.0, 0.2, 0.0], np.float32),
                spatial_scale=0.5, pooled_height=2, max_width=6, sampling_ratio=2, aligned=True)
    pooled, widths = kernels.forward(case)
    assert widths[0] == 1 and np.all(pooled[0] == 0), (widths, pooled[0])
    expected, _ = reference.forward(case["features"], case["boxes"][1:],
                                    case["box_indices"][1:], case["angles"][1:],
                                    **_attrs(case))
    assert _errors(pooled[1:], expected)[0] < 1e-5
    grad = kernels.backward(np.ones_like(pooled), case)
    assert np.isfinite(grad).all()
    message = "NaN box: width 1, zeros, finite gradient"
    if backend == "cuda":
        case["box_indices"] = np.array([0, 5, -1], np.int32)
        pooled, widths = kernels.forward(case)
        assert np.all(pooled[1:] == 0) and not np.isnan(pooled).any()
        grad = kernels.backward(np.ones_like(pooled), case)
        assert np.all(grad == 0), "out-of-range boxes must send no gradient"
        message += "; out-of-range box index: zeros, no gradient"
    _log(f"{backend} special boxes: {message}: OK", log)


def check_realistic(kernels, cpu_kernels, variants, log):
    """The realistic case, for each variant, against the float64 reference and the CPU loops."""
    case = pooling_cases.realistic_case(seed=0)
    args = (case["features"], case["boxes"], case["box_indices"], case["angles"])
    start = time.perf_counter()
    expected, expected_widths = reference.forward(*args, **_attrs(case))
    rng = np.random.default_rng(1)
    grad_out = rng.standard_normal(expected.shape).astype(np.float32)
    expected_grad = reference.adjoint(grad_out, case["features"].shape, *args[1:],
                                      **_attrs(case))
    _log(f"float64 reference of the realistic case in {time.perf_counter() - start:.0f} s", log)
    cpu = None
    if cpu_kernels is not None:
        cpu = (cpu_kernels.forward(case)[0], cpu_kernels.backward(grad_out, case))
    results = {}
    for name, options in variants.items():
        pooled, widths = kernels.forward(case, options)
        assert not np.isnan(pooled).any(), "unwritten output"
        assert np.array_equal(widths, expected_widths)
        grad = kernels.backward(grad_out, case, options)
        forward_err, backward_err = _errors(pooled, expected), _errors(grad, expected_grad)
        result = dict(forward_max_abs=forward_err[0], forward_rel_l2=forward_err[1],
                      backward_max_abs=backward_err[0], backward_rel_l2=backward_err[1],
                      mean_width=float(widths.mean()),
                      widths_at_max=int((widths == case["max_width"]).sum()),
                      widths_at_one=int((widths == 1).sum()))
        line = (f"realistic, {name}: vs float64 forward max abs {forward_err[0]:.2e} "
                f"rel {forward_err[1]:.2e}, backward max abs {backward_err[0]:.2e} "
                f"rel {backward_err[1]:.2e}")
        if cpu is not None:
            result["vs_cpu_forward_max_abs"] = _errors(pooled, cpu[0].astype(np.float64))[0]
            result["vs_cpu_backward_max_abs"] = _errors(grad, cpu[1].astype(np.float64))[0]
            line += (f"; vs CPU loops (float32) forward {result['vs_cpu_forward_max_abs']:.2e}, "
                     f"backward {result['vs_cpu_backward_max_abs']:.2e}")
        _log(line, log)
        # float32 coordinates of a 1024 px page are good to ~3e-5 feature pixels: against
        # float64 coordinates, float32 implementations (the pure-TF one too) differ by ~1e-5.
        assert forward_err[1] < 1e-4 and backward_err[1] < 1e-4, result
        results[name] = result
    return results, case, widths


def time_realistic(kernels, case, widths, variants, reps, log):
    """Median kernel times of each variant, the measured copy bandwidth, and the floors."""
    copy_bytes = 1 << 30
    copy_ms = kernels.copy_ms(copy_bytes, reps=20)
    bandwidth = 2 * copy_bytes / (float(np.median(copy_ms)) * 1e-3)  # bytes read + written / s
    b, h, w, c = case["features"].shape
    item = case["features"].itemsize
    num = case["boxes"].shape[0]
    hp, wmax = case["pooled_height"], case["max_width"]
    small = num * (4 * item + 4 + item + 4)  # boxes, indices, angles, widths
    forward_bytes = b * h * w * c * item + num * hp * wmax * c * item + small
    valid_bins = int(hp * widths.sum())
    backward_bytes = valid_bins * c * item + b * h * w * c * item + small
    result = dict(copy_bandwidth_gb_s=bandwidth / 1e9, forward_bytes=forward_bytes,
                  backward_bytes=backward_bytes, valid_bins=valid_bins,
                  forward_floor_ms=forward_bytes / bandwidth * 1e3,
                  backward_floor_ms=backward_bytes / bandwidth * 1e3, reps=reps, variants={})
    for name, options in variants.items():
        times = {}
        for trial in range(2):  # the same version twice: the spread between runs
            forward_ms, backward_ms = kernels.time(case, copies=3, warmup=10, reps=reps,
                                                   options=options)
            times.setdefault("forward_ms", []).append(float(np.median(forward_ms)))
            times.setdefault("backward_ms", []).append(float(np.median(backward_ms)))
        result["variants"][name] = times
        _log(f"timing {name} ({reps} reps, twice): forward "
             f"{' / '.join(f'{t * 1e3:.1f}' for t in times['forward_ms'])} us, backward "
             f"{' / '.join(f'{t * 1e3:.1f}' for t in times['backward_ms'])} us", log)
    _log(f"copy bandwidth {result['copy_bandwidth_gb_s']:.0f} GB/s (read + write)", log)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--out", default=os.environ.get("OUT", "custom_ops/build/gpu_check"))
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--small-only", action="store_true",
                        help="only the small cases (e.g. under compute-sanitizer)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    build_dir = SOURCES / "build" / "check"
    results = {"backend": args.backend}
    variants = VARIANTS if args.backend == "cuda" else {"cpu loops": DEFAULT_OPTIONS}
    with open(out / "gpu_check.log", "w") as log:
        kernels = Kernels(build(args.backend, build_dir, log))
        cpu_kernels = None if args.backend == "cpu" else Kernels(build("cpu", build_dir, log))
        results["device"] = kernels.describe()
        _log(f"device: {results['device']}", log)
        results["reference_vs_oracle"] = check_reference(log)
        results["small_cases"] = {name: check_small_cases(kernels, args.backend, log, options)
                                  for name, options in variants.items()}
        check_special_boxes(kernels, args.backend, log)
        if args.small_only:
            (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
            return 0
        realistic, case, widths = check_realistic(kernels, cpu_kernels, variants, log)
        results["realistic"] = realistic
        results["timing"] = timing = time_realistic(kernels, case, widths, variants, args.reps,
                                                     log)
        (out / "results.json").write_text(json.dumps(results, indent=1, default=float))
        default = list(variants)[-1]
        f32 = results["small_cases"][default]["float32"]
        best = realistic[default]
        rows = [
            ("device", results["device"][:72]),
            ("small cases f32 fwd / bwd max abs", f"{f32[0]:.1e} / {f32[2]:.1e}"),
            ("realistic fwd / bwd rel L2 vs f64",
             f"{best['forward_rel_l2']:.1e} / {best['backward_rel_l2']:.1e}"),
            ("realistic fwd / bwd max abs vs f64",
             f"{best['forward_max_abs']:.1e} / {best['backward_max_abs']:.1e}"),
        ]
        if "vs_cpu_forward_max_abs" in best:
            rows.append(("realistic fwd / bwd max abs vs CPU loops",
                         f"{best['vs_cpu_forward_max_abs']:.1e} / "
                         f"{best['vs_cpu_backward_max_abs']:.1e}"))
        rows += [
            ("copy bandwidth (read + write)", f"{timing['copy_bandwidth_gb_s']:.0f} GB/s"),
            ("floor fwd / bwd",
             f"{timing['forward_floor_ms'] * 1e3:.1f} us ({timing['forward_bytes'] / 1e6:.1f} MB)"
             f" / {timing['backward_floor_ms'] * 1e3:.1f} us "
             f"({timing['backward_bytes'] / 1e6:.1f} MB)"),
        ]
        for name, times in timing["variants"].items():
            fwd, bwd = min(times["forward_ms"]), min(times["backward_ms"])
            rows.append((f"{name}: fwd / bwd",
                         f"{fwd * 1e3:.1f} us ({fwd / timing['forward_floor_ms']:.2f}x floor) / "
                         f"{bwd * 1e3:.1f} us ({bwd / timing['backward_floor_ms']:.2f}x floor)"))
        width = max(len(k) for k, _ in rows)
        _log("", log)
        for key, value in rows:
            _log(f"{key.ljust(width)}  {value}", log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
