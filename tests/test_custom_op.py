"""The native pooling op: every case through both implementations, gradients, graphs, errors.

The op is built (or found in the cache) once per session by the ``custom_ops`` fixture of
conftest.py, which the contract tests of test_dynamic_roi_pooling.py share. Its tests are
skipped only when there is no C++ compiler at all; a failed build is an error. The dispatch
tests at the end (fallback, forcing, warnings) never need the op.
"""

import os
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pooling_oracle as oracle
import pytest
import tensorflow as tf

from keras_textnet.ops import custom_op
from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling

pooling_cases = oracle.pooling_cases
ATTRIBUTES = ("spatial_scale", "pooled_height", "max_width", "sampling_ratio", "aligned")


def _attrs(case):
    return {k: case[k] for k in ATTRIBUTES}


def _pool(implementation, case, features=None, angles=True):
    with custom_op.pooling_implementation(implementation):
        return dynamic_roi_pooling(case["features"] if features is None else features,
                                   case["boxes"], case["box_indices"],
                                   case["angles"] if angles else None, **_attrs(case))


def _pool_and_grad(implementation, case, upstream, angles=True):
    features = tf.constant(case["features"])
    with tf.GradientTape() as tape:
        tape.watch(features)
        pooled, widths = _pool(implementation, case, features, angles)
        loss = tf.reduce_sum(pooled * upstream)
    return pooled.numpy(), widths.numpy(), tape.gradient(loss, features).numpy()


def _random_case(seed, dtype=np.float32):
    """A random shape with random boxes, or (every fourth) a case full of awkward boxes."""
    rng = np.random.default_rng(seed)
    if seed % 4 == 0:
        shapes = pooling_cases.EDGE_SHAPES
        return pooling_cases.edge_case(shapes[(seed // 4) % len(shapes)], seed, dtype)
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 13)), int(rng.integers(1, 13)),
             int(rng.integers(1, 10)), int(rng.integers(0, 13)), int(rng.integers(1, 6)),
             int(rng.integers(1, 21)), int(rng.integers(1, 4)),
             float(rng.choice([0.125, 0.25, 0.5, 1.0])), bool(rng.integers(0, 2)))
    return pooling_cases.edge_case(shape, seed, dtype)


def _assert_parity(case, dtype=np.float32, angles=True, seed=0):
    upstream = np.random.default_rng(seed).standard_normal(
        (case["boxes"].shape[0], case["pooled_height"], case["max_width"],
         case["features"].shape[3])).astype(dtype)
    custom = _pool_and_grad("custom", case, upstream, angles)
    pure = _pool_and_grad("tf", case, upstream, angles)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_array_equal(custom[1], pure[1])
    np.testing.assert_allclose(custom[0], pure[0], atol=tol, rtol=tol, err_msg="forward")
    np.testing.assert_allclose(custom[2], pure[2], atol=tol, rtol=tol, err_msg="gradient")
    assert custom[0].dtype == pure[0].dtype == dtype
    return custom, pure


# --- parity with the pure-TF implementation and the oracle ---------------------------------


@pytest.mark.parametrize("seed", range(16))
def test_forward_and_gradient_match_pure_tf(custom_ops, seed):
    case = _random_case(seed)
    _assert_parity(case, angles=seed % 3 != 1, seed=seed)


@pytest.mark.parametrize("shape", pooling_cases.EDGE_SHAPES)
def test_float64_matches_oracle_and_pure_tf(custom_ops, shape):
    case = pooling_cases.edge_case(shape, seed=5, dtype=np.float64)
    custom, _ = _assert_parity(case, dtype=np.float64)
    expected, widths = oracle.dynamic_roi_pooling(case["features"], case["boxes"],
                                                  case["box_indices"], case["angles"],
                                                  **_attrs(case))
    np.testing.assert_array_equal(custom[1], widths)
    np.testing.assert_allclose(custom[0], expected, atol=1e-12)


def test_widths_of_one_and_max_width(custom_ops):
    case = pooling_cases.edge_case((1, 8, 8, 3, 9, 4, 8, 2, 0.5, True), seed=3)
    custom, _ = _assert_parity(case)
    widths = custom[1]
    assert 1 in widths and 8 in widths
    assert np.all(custom[0][widths == 1][:, :, 1:] == 0)


def test_empty_rois(custom_ops):
    case = pooling_cases.edge_case(pooling_cases.EDGE_SHAPES[-1], seed=0)
    assert case["boxes"].shape == (0, 4)
    pooled, widths, grad = _pool_and_grad("custom", case, np.zeros((0, 3, 8, 5), np.float32))
    assert pooled.shape == (0, 3, 8, 5) and widths.shape == (0,)
    np.testing.assert_array_equal(grad, 0.0)


def test_nan_box_gives_width_one_and_zeros(custom_ops):
    case = dict(features=np.ones((1, 6, 6, 2), np.float32),
                boxes=np.array([[np.nan, 0, 4, 8], [0, 0, 8, 16]], np.float32),
                box_indices=np.array([0, 0], np.int32), angles=np.zeros(2, np.float32),
                spatial_scale=0.5, pooled_height=2, max_width=6, sampling_ratio=2,
                aligned=True)
    custom, _ = _assert_parity(case)
    assert custom[1].tolist() == [1, 4]
    assert np.all(custom[0][0] == 0)


def test_half_precision_features_pool_in_float32(custom_ops):
    case = pooling_cases.edge_case((1, 10, 12, 4, 6, 3, 10, 2, 0.5, True), seed=2)
    for dtype in (tf.float16, tf.bfloat16):
        features = tf.cast(case["features"], dtype)
        custom, _ = _pool("custom", case, features)
        pure, _ = _pool("tf", case, features)
        assert custom.dtype == pure.dtype == dtype
        expected, _ = oracle.dynamic_roi_pooling(tf.cast(features, tf.float64).numpy(),
                                                 case["boxes"], case["box_indices"],
                                                 case["angles"], **_attrs(case))
        tol = 1e-2 if dtype == tf.float16 else 5e-2
        np.testing.assert_allclose(tf.cast(custom, tf.float64).numpy(), expected, atol=tol)


def test_realistic_case_parity(custom_ops):
    """The benchmark workload (512 text lines, Wmax 128) at 16 channels."""
    case = pooling_cases.realistic_case(seed=3)
    case["features"] = case["features"][..., :16].copy()
    custom, _ = _assert_parity(case)
    assert (custom[1] == 128).sum() > 50 and custom[1].min() < 20


# --- gradients --------------------------------------------------------------------------------


def test_gradient_check_float64(custom_ops):
    rng = np.random.default_rng(11)
    features = tf.constant(rng.normal(size=(2, 3, 4, 2)))
    boxes = tf.constant([[0.5, 0.2, 5.0, 7.0], [-1.0, 1.0, 4.0, 10.0], [2.0, 3.0, 2.5, 3.2]],
                        tf.float64)
    indices = tf.constant([0, 1, 1])
    angles = tf.constant([0.3, -0.5, 1.0], tf.float64)

    @tf.function
    def pool(features):
        with custom_op.pooling_implementation("custom"):
            return dynamic_roi_pooling(features, boxes, indices, angles, spatial_scale=0.5,
                                       pooled_height=2, max_width=3, sampling_ratio=2)[0]

    assert any(op.type == custom_op.OP_NAME
               for op in pool.get_concrete_function(features).graph.get_operations())
    theoretical, numerical = tf.test.compute_gradient(pool, [features])
    np.testing.assert_allclose(theoretical[0], numerical[0], atol=1e-7)
    assert np.abs(theoretical[0]).sum() > 0


def test_second_order_gradient_is_the_pooling(custom_ops):
    """The gradient op is linear in its upstream: its own gradient is the forward pooling."""
    case = pooling_cases.edge_case((1, 6, 7, 3, 5, 2, 6, 2, 0.5, True), seed=9)
    features = tf.constant(case["features"])
    upstream = tf.constant(np.random.default_rng(1).standard_normal((5, 2, 6, 3)), tf.float32)
    probe = tf.constant(np.random.default_rng(2).standard_normal(case["features"].shape),
                        tf.float32)
    with tf.GradientTape() as outer:
        outer.watch(upstream)
        with tf.GradientTape() as inner:
            inner.watch(features)
            pooled, _ = _pool("custom", case, features)
            loss = tf.reduce_sum(pooled * upstream)
        grad = inner.gradient(loss, features)
        projected = tf.reduce_sum(grad * probe)
    second = outer.gradient(projected, upstream)
    expected, _ = _pool("tf", case, probe)
    np.testing.assert_allclose(second.numpy(), expected.numpy(), atol=1e-5)


class _Pooling(keras.layers.Layer):
    """The op in a functional model, as TextNet calls it (boxes not autocast)."""

    def __init__(self, **kwargs):
        super().__init__()
        self.kwargs = kwargs
        self._convert_input_args = False

    def call(self, features, boxes, box_indices):
        return dynamic_roi_pooling(features, boxes, box_indices, **self.kwargs)


def test_model_fit_trains_through_the_op(custom_ops, monkeypatch):
    """A conv whose only path to the loss is the op learns under model.fit."""
    import keras_textnet.ops.dynamic_roi_pooling as pooling_module

    traced = []
    custom = pooling_module._dynamic_roi_pooling_custom
    monkeypatch.setattr(pooling_module, "_dynamic_roi_pooling_custom",
                        lambda *a, **k: traced.append(1) or custom(*a, **k))
    keras.utils.set_random_seed(0)  # fixed initial weights: the same descent every run
    rng = np.random.default_rng(0)
    images = keras.Input((16, 16, 3), name="images")
    boxes = keras.Input((4,), name="boxes")
    indices = keras.Input((), dtype="int32", name="box_indices")
    conv = keras.layers.Conv2D(4, 3, padding="same", name="conv")
    with custom_op.pooling_implementation("custom"):
        pooled, _ = _Pooling(spatial_scale=0.25, pooled_height=2, max_width=8)(
            conv(images), boxes, indices)
        out = keras.layers.Dense(1)(keras.layers.Flatten()(pooled))
        model = keras.Model([images, boxes, indices], out)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", jit_compile=False)
        x = [rng.normal(size=(4, 16, 16, 3)).astype(np.float32),
             np.tile([[4.0, 4.0, 36.0, 60.0]], (4, 1)).astype(np.float32),
             np.arange(4, dtype=np.int32)]
        y = rng.normal(size=(4, 1)).astype(np.float32)
        before = conv.kernel.numpy().copy()
        traced.clear()
        history = model.fit(x, y, batch_size=4, epochs=5, verbose=0)
    assert traced, "model.fit did not trace the custom op"
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.allclose(conv.kernel.numpy(), before)


def test_tf_function_with_unknown_num_rois(custom_ops):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 4], tf.float32),
                                  tf.TensorSpec([None, 4], tf.float32),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32)])
    def pool(features, boxes, box_indices, angles):
        with custom_op.pooling_implementation("custom"):
            return dynamic_roi_pooling(features, boxes, box_indices, angles, spatial_scale=0.5,
                                       pooled_height=3, max_width=9)

    concrete = pool.get_concrete_function()
    assert concrete.structured_outputs[0].shape.as_list() == [None, 3, 9, 4]
    for num in (0, 1, 6):
        case = pooling_cases.edge_case((2, 7, 9, 4, num, 3, 9, 2, 0.5, True), seed=num)
        pooled, widths = pool(case["features"], case["boxes"], case["box_indices"],
                              case["angles"])
        expected, expected_widths = _pool("tf", case)
        assert pooled.shape == (num, 3, 9, 4)
        np.testing.assert_array_equal(widths.numpy(), expected_widths.numpy())
        np.testing.assert_allclose(pooled.numpy(), expected.numpy(), atol=1e-5)


# --- SavedModel -------------------------------------------------------------------------------


class _PoolModule(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None, 12, 16, 3], tf.float32),
                                  tf.TensorSpec([None, 4], tf.float32),
                                  tf.TensorSpec([None], tf.int32),
                                  tf.TensorSpec([None], tf.float32)])
    def serve(self, features, boxes, box_indices, angles):
        pooled, widths = dynamic_roi_pooling(features, boxes, box_indices, angles,
                                             spatial_scale=0.25, pooled_height=4, max_width=16)
        return {"pooled": pooled, "widths": widths}


def _save_with_op(path):
    module = _PoolModule()
    with custom_op.pooling_implementation("custom"):
        tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    assert custom_op.OP_NAME.encode() in (path / "saved_model.pb").read_bytes()
    return module


def test_saved_model_round_trip(custom_ops, tmp_path):
    _save_with_op(tmp_path)
    loaded = tf.saved_model.load(str(tmp_path))
    case = pooling_cases.edge_case((2, 12, 16, 3, 7, 4, 16, 2, 0.25, True), seed=4)
    got = loaded.signatures["serving_default"](
        features=tf.constant(case["features"]), boxes=tf.constant(case["boxes"]),
        box_indices=tf.constant(case["box_indices"]), angles=tf.constant(case["angles"]))
    expected, widths = _pool("tf", case)
    np.testing.assert_array_equal(got["widths"].numpy(), widths.numpy())
    np.testing.assert_allclose(got["pooled"].numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.slow
def test_saved_model_loads_in_a_new_process_after_the_library(custom_ops, tmp_path):
    _save_with_op(tmp_path)
    script = f"""
import tensorflow as tf
try:
    tf.saved_model.load({str(tmp_path)!r})
    print("LOADED WITHOUT LIBRARY")
except Exception as error:
    print("WITHOUT LIBRARY:", type(error).__name__, "KerasTextnet" in str(error))
from keras_textnet.ops.custom_op import load_custom_ops
load_custom_ops()
model = tf.saved_model.load({str(tmp_path)!r})
out = model.signatures["serving_default"](features=tf.ones([1, 12, 16, 3]),
    boxes=tf.constant([[0.0, 0.0, 16.0, 40.0]]), box_indices=tf.constant([0]),
    angles=tf.constant([0.0]))
print("WITH LIBRARY:", out["widths"].numpy().tolist())
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
                          check=False)
    assert "WITHOUT LIBRARY:" in done.stdout and "True" in done.stdout, done.stdout + done.stderr
    assert "WITH LIBRARY: [10]" in done.stdout, done.stdout + done.stderr  # 4 * 40 / 16


# --- the op's own input checks ----------------------------------------------------------------

GOOD = dict(features=np.zeros((2, 4, 4, 3), np.float32),
            boxes=np.array([[0, 0, 4, 8], [1, 1, 3, 3]], np.float32),
            box_indices=np.array([0, 1], np.int32), angles=np.zeros(2, np.float32))
ATTRS = dict(spatial_scale=1.0, pooled_height=2, max_width=4, sampling_ratio=2, aligned=True)


@pytest.mark.parametrize("change, message", [
    (dict(features=np.zeros((4, 4, 3), np.float32)), r"`features` must have rank 4.*\[4,4,3\]"),
    (dict(boxes=np.zeros((2, 5), np.float32)), r"`boxes` must have shape \(num_rois, 4\)"),
    (dict(boxes=np.zeros((8,), np.float32)), r"`boxes` must have shape \(num_rois, 4\)"),
    (dict(box_indices=np.zeros(3, np.int32)),
     r"`box_indices` must have shape \(num_rois,\) = \(2,\).*\[3\]"),
    (dict(angles=np.zeros((2, 1), np.float32)), r"`angles` must have shape \(num_rois,\)"),
    (dict(box_indices=np.array([0, 2], np.int32)),
     r"`box_indices`\[1\] = 2 is outside \[0, 2\)"),
    (dict(box_indices=np.array([-1, 0], np.int32)),
     r"`box_indices`\[0\] = -1 is outside \[0, 2\)"),
    (dict(features=np.zeros((2, 0, 4, 3), np.float32)), "height and a width >= 1"),
    (dict(pooled_height=-3), r"`pooled_height` must be an integer >= 1, got -3"),
    (dict(max_width=0), r"`max_width` must be an integer >= 1, got 0"),
    (dict(sampling_ratio=-1), r"`sampling_ratio` must be an integer >= 1, got -1"),
    (dict(spatial_scale=-0.25), r"`spatial_scale` must be a finite number > 0, got -0.25"),
    (dict(spatial_scale=float("inf")), r"`spatial_scale` must be a finite number > 0"),
])
def test_op_input_errors(custom_ops, change, message):
    kwargs = {**GOOD, **ATTRS, **change}
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError), match=message):
        custom_ops.keras_textnet_dynamic_roi_pooling(**kwargs)


def test_op_dtype_errors(custom_ops):
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError),
                       match="int32|half"):
        custom_ops.keras_textnet_dynamic_roi_pooling(
            **{**GOOD, "features": np.zeros((2, 4, 4, 3), np.int32),
               "boxes": GOOD["boxes"].astype(np.int32), "angles": np.zeros(2, np.int32)},
            **ATTRS)
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError),
                       match="float64|double"):
        custom_ops.keras_textnet_dynamic_roi_pooling(
            **{**GOOD, "features": tf.constant(GOOD["features"]),
               "boxes": tf.constant(GOOD["boxes"], tf.float64)}, **ATTRS)


def test_grad_op_checks_its_upstream_shape(custom_ops):
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"`grad_pooled` must have shape \[2,2,4,3\]"):
        custom_ops.keras_textnet_dynamic_roi_pooling_grad(
            np.zeros((2, 2, 5, 3), np.float32), GOOD["boxes"], GOOD["box_indices"],
            GOOD["angles"], [2, 4, 4, 3], **ATTRS)


def test_graph_shape_function_errors(custom_ops):
    @tf.function
    def bad(features):
        return custom_ops.keras_textnet_dynamic_roi_pooling(features, GOOD["boxes"],
                                                             GOOD["box_indices"],
                                                             GOOD["angles"], **ATTRS)

    with pytest.raises(ValueError, match="rank 4"):
        bad.get_concrete_function(tf.TensorSpec([4, 4, 3], tf.float32))


# --- the build and the CLI --------------------------------------------------------------------


def test_build_ops_command_uses_the_cache(custom_ops, capsys):
    from keras_textnet.cli import main

    assert main(["build-ops", "--cuda", "no"]) == 0
    out = capsys.readouterr().out
    assert "built:" in out and "max abs difference" in out


def test_a_failed_build_names_its_log(tmp_path, monkeypatch):
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler")
    broken = tmp_path / "src"
    shutil.copytree(custom_op.source_dir(), broken,
                    ignore=shutil.ignore_patterns("build", "gpu_check"))
    # Every source breaks at its first line, so no compiler spends seconds on TF's headers.
    for source in custom_op.build._CXX_SOURCES:
        (broken / source).write_text('#include "no_such_header.h"\n' +
                                     (broken / source).read_text())
    monkeypatch.setattr(custom_op.build, "source_dir", lambda: broken)
    with pytest.raises(custom_op.CustomOpError, match=r"no_such_header.*build\.log"):
        custom_op.build_custom_ops(cuda=False, cache_dir=tmp_path / "cache")


# --- choosing the implementation (no op needed) -------------------------------------------


@pytest.fixture
def unavailable_op(tmp_path, monkeypatch):
    """A fresh op library state whose build cannot work (no compiler), and no setting forced."""
    monkeypatch.setenv("CXX", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(custom_op.load, "_LIBRARY",
                        custom_op.load._OpLibrary(cache_dir=tmp_path / "cache"))
    monkeypatch.setattr(custom_op.options, "_setting", None)
    monkeypatch.delenv(custom_op.ENV_IMPLEMENTATION, raising=False)


def _small_case():
    return pooling_cases.edge_case((2, 6, 8, 3, 5, 2, 8, 2, 0.5, True), seed=1)


def test_auto_falls_back_to_pure_tf_and_warns_once(unavailable_op):
    case = _small_case()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, _ = dynamic_roi_pooling(case["features"], case["boxes"], case["box_indices"],
                                       case["angles"], **_attrs(case))
        dynamic_roi_pooling(case["features"], case["boxes"], case["box_indices"],
                            case["angles"], **_attrs(case))
    fallbacks = [w for w in caught if "custom dynamic RoI pooling op is unavailable" in
                 str(w.message)]
    assert len(fallbacks) == 1
    assert "no C++ compiler" in str(fallbacks[0].message)
    assert custom_op.active_pooling_implementation() == "tf"
    expected, _ = oracle.dynamic_roi_pooling(case["features"], case["boxes"],
                                             case["box_indices"], case["angles"],
                                             **_attrs(case))
    np.testing.assert_allclose(first.numpy(), expected, atol=1e-5)


def test_forcing_custom_without_the_op_is_an_error(unavailable_op):
    case = _small_case()
    with custom_op.pooling_implementation("custom"):
        with pytest.raises(custom_op.CustomOpError, match=r"no C\+\+ compiler"):
            dynamic_roi_pooling(case["features"], case["boxes"], case["box_indices"],
                                **_attrs(case))


def test_forcing_tf_never_touches_the_op(unavailable_op, monkeypatch):
    monkeypatch.setenv(custom_op.ENV_IMPLEMENTATION, "tf")
    case = _small_case()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dynamic_roi_pooling(case["features"], case["boxes"], case["box_indices"],
                            **_attrs(case))
    assert custom_op.load._LIBRARY.error is None and custom_op.load._LIBRARY.module is None


def test_setting_wins_over_environment_and_restores(monkeypatch):
    monkeypatch.setattr(custom_op.options, "_setting", None)
    monkeypatch.setenv(custom_op.ENV_IMPLEMENTATION, "custom")
    assert custom_op.get_pooling_implementation() == "custom"
    with custom_op.pooling_implementation("tf"):
        assert custom_op.get_pooling_implementation() == "tf"
        assert custom_op.active_pooling_implementation() == "tf"
    assert custom_op.get_pooling_implementation() == "custom"
    assert custom_op.set_pooling_implementation("auto") is None
    assert custom_op.set_pooling_implementation(None) == "auto"


def test_bad_implementation_names(monkeypatch):
    monkeypatch.setattr(custom_op.options, "_setting", None)
    for name in ("TF ", "cuda", "", None.__class__.__name__):
        with pytest.raises(ValueError, match="one of auto, custom, tf; got"):
            custom_op.set_pooling_implementation(name)
    monkeypatch.setenv(custom_op.ENV_IMPLEMENTATION, "cuda")
    with pytest.raises(ValueError, match=f"variable {custom_op.ENV_IMPLEMENTATION} must be one of "
                                         f"auto, custom, tf; got 'cuda'"):
        custom_op.get_pooling_implementation()
    monkeypatch.setenv(custom_op.ENV_IMPLEMENTATION, " TF ")  # the environment is read leniently
    assert custom_op.get_pooling_implementation() == "tf"
    monkeypatch.setenv(custom_op.ENV_IMPLEMENTATION, "")
    assert custom_op.get_pooling_implementation() == "auto"


def test_xla_uses_pure_tf_even_with_the_op(monkeypatch):
    monkeypatch.setattr(custom_op.options, "_setting", None)
    monkeypatch.delenv(custom_op.ENV_IMPLEMENTATION, raising=False)
    case = _small_case()

    @tf.function(jit_compile=True)
    def pool(features):
        return dynamic_roi_pooling(features, case["boxes"], case["box_indices"],
                                   case["angles"], **_attrs(case))[0]

    ops = {op.type for op in pool.get_concrete_function(
        tf.TensorSpec(case["features"].shape, tf.float32)).graph.get_operations()}
    assert custom_op.OP_NAME not in ops
    expected, _ = _pool("tf", case)
    np.testing.assert_allclose(pool(case["features"]).numpy(), expected.numpy(), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(16, 80))
def test_many_more_random_shapes(custom_ops, seed):
    dtype = np.float64 if seed % 5 == 0 else np.float32
    _assert_parity(_random_case(seed, dtype), dtype=dtype, angles=seed % 3 != 1, seed=seed)


@pytest.mark.slow
def test_realistic_case_full_channels(custom_ops):
    _assert_parity(pooling_cases.realistic_case(seed=4))
