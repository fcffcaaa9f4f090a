"""The shared test harness for layers and models, after KerasHub's ``run_layer_test``.

:func:`run_layer_test` puts a layer class, its ``__init__`` arguments and tiny inputs
through every check a layer of the library owes its users; :func:`run_model_test` does the
checks that make sense for a whole model. Each check is also a function of its own, so a
test can run one (``tests/test_layers_harness.py`` shows that each of them can fail):

* ``config``: ``get_config()`` holds every argument passed in, is JSON, and
  ``from_config(get_config())`` has the same config and leaves the one it is given alone
  (:func:`check_config_round_trip`);
* ``serialization``: ``keras.saving.serialize_keras_object`` / ``deserialize_keras_object``
  give the same class, config and weight count (:func:`check_serialization`);
* ``symbolic``: the layer called on ``keras.Input``\\ s gives the shapes and dtypes of the
  eager call, batch dimension aside (:func:`check_symbolic_call`);
* ``saving``: a tiny model around the layer, saved to ``.keras`` and loaded, gives identical
  outputs (:func:`check_saved_model`);
* ``fit``: one ``fit`` step of that model (MSE to fixed random targets on every float
  output) has a finite loss and changes every trainable weight (:func:`check_fit_step`;
  run eagerly, :func:`run_graph_fit_test` traces it as training does, for the slow tests);
* ``mixed_precision``: under the global ``mixed_float16`` policy the layer builds and runs,
  keeps float32 weights, and its outputs have the expected dtypes (float16 unless said);
  the global policy is restored whatever happens (:func:`check_mixed_precision`);
* ``dtype_argument``: ``dtype="mixed_float16"`` given to the layer alone acts as the global
  policy does, down to every sublayer (:func:`check_dtype_argument`).

A check that cannot apply to a layer is named in ``skip`` with the reason, e.g.
``skip={"fit": "no weights"}``; the reason is required. A check that finds a known bug
that this change may not fix is skipped with the bug as its reason, and a strict ``xfail``
test runs the check alone, so that the fix has to drop both.

:func:`tflite_and_onnx` converts a ``tf.Module``'s ``serve`` function for the tests that
compare an op's TFLite and ONNX conversions with TensorFlow.

Inputs are tiny NumPy arrays: ``call_args`` is the tuple of the call's positional arguments,
each an array or a dict of arrays (``(pooled, widths)``, ``({"C2": ..., "C3": ...},)``).
Outputs may be a tensor, a tuple or a dict of tensors; an expected shape or dtype is written
in the same structure, with a tuple (shapes) or a dtype name (dtypes) at each leaf.
"""

from __future__ import annotations

import copy
import json

import keras
import numpy as np
import pytest

CHECKS = ("config", "serialization", "symbolic", "saving", "fit", "mixed_precision",
          "dtype_argument")
MODEL_CHECKS = ("config", "config_argument", "serialization", "saving")


# --- structures --------------------------------------------------------------------------------


def _map(fn, structure):
    """``fn`` over the leaves of nested dicts, lists and tuples (tuples stay tuples)."""
    if isinstance(structure, dict):
        return {key: _map(fn, value) for key, value in structure.items()}
    if isinstance(structure, (list, tuple)):
        return tuple(_map(fn, value) for value in structure)
    return fn(structure)


def _leaves(structure, path=""):
    """``[(path, leaf)]`` of nested dicts, lists and tuples, dict keys in sorted order."""
    if isinstance(structure, dict):
        return [item for key in sorted(structure)
                for item in _leaves(structure[key], f"{path}[{key!r}]")]
    if isinstance(structure, (list, tuple)):
        return [item for i, value in enumerate(structure)
                for item in _leaves(value, f"{path}[{i}]")]
    return [(path or "output", structure)]


def _shapes(structure):
    return _map(lambda tensor: tuple(tensor.shape), structure)


def _dtypes(structure):
    return _map(lambda tensor: keras.backend.standardize_dtype(tensor.dtype), structure)


def _is_float(tensor) -> bool:
    return "float" in keras.backend.standardize_dtype(tensor.dtype)


def _numpy(structure):
    return _map(keras.ops.convert_to_numpy, structure)


def _model_inputs(args):
    """What a functional model takes for the call's positional ``args``."""
    return args[0] if len(args) == 1 else list(args)


def _symbolic_inputs(call_args, input_shapes=None):
    """A ``keras.Input`` per input array, named after its dict key or ``input_{i}``.

    Shapes: ``input_shapes`` (the arrays' structure, a shape without the batch dimension at
    each leaf, None for a free size) where given, else the arrays' own; batch always free.
    """
    def make(array, shape, name):
        array = np.asarray(array)
        return keras.Input(shape=array.shape[1:] if shape is None else shape,
                           dtype=str(array.dtype), name=name)

    inputs = []
    for i, arg in enumerate(call_args):
        shapes = None if input_shapes is None else input_shapes[i]
        if isinstance(arg, dict):
            inputs.append({key: make(value, None if shapes is None else shapes[key], key)
                           for key, value in arg.items()})
        else:
            inputs.append(make(arg, shapes, f"input_{i}"))
    return tuple(inputs)


# --- the checks --------------------------------------------------------------------------------

# What turns a string argument (``"he_normal"``) into the Keras object a config holds.
_GETTERS = (keras.initializers.get, keras.regularizers.get, keras.constraints.get,
            keras.dtype_policies.get)


def _config_value(value, written=None):
    """``value`` as ``get_config`` writes it: Keras objects serialized, tuples as lists.

    A string where the config holds a serialized object (``"he_normal"``) is looked up
    as an initializer, regularizer, constraint or dtype policy of that class.
    """
    if hasattr(value, "get_config"):
        return keras.saving.serialize_keras_object(value)
    if isinstance(value, str) and isinstance(written, dict) and "class_name" in written:
        for get in _GETTERS:
            try:
                serialized = keras.saving.serialize_keras_object(get(value))
            except (ValueError, TypeError):
                continue
            if isinstance(serialized, dict) and \
                    serialized.get("class_name") == written["class_name"]:
                return serialized
        return value
    if isinstance(value, (list, tuple)):
        return [_config_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _config_value(v) for k, v in value.items()}
    return value


def check_config_round_trip(cls, init_kwargs):
    """``get_config()`` holds every kwarg as passed, is JSON; ``from_config`` gives it back.

    ``from_config`` must also leave the config it is given as it was.
    """
    layer = cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert key in config, f"{cls.__name__}.get_config() misses the argument {key!r}"
        written = config[key]
        assert _config_value(written) == _config_value(value, written), (
            f"{cls.__name__}.get_config()[{key!r}] is {written!r}; {value!r} was passed")
    json.dumps(config)
    given = copy.deepcopy(config)
    clone = cls.from_config(given)
    assert given == config, f"{cls.__name__}.from_config changed the config it was given"
    assert type(clone) is cls
    assert clone.get_config() == config, (
        f"{cls.__name__}.from_config(get_config()) has another config:\n"
        f"{clone.get_config()}\n!=\n{config}")
    return layer


def check_serialization(obj):
    """``serialize_keras_object`` (JSON) and back: same class, same config, same weights.

    Run it on a built layer: the build config travels too and the revived one is built.
    """
    serialized = keras.saving.serialize_keras_object(obj)
    json.dumps(serialized)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is type(obj), f"deserialized as {type(revived)}, not {type(obj)}"
    assert revived.get_config() == obj.get_config()
    assert revived.built == obj.built
    assert len(revived.weights) == len(obj.weights), (
        f"{len(revived.weights)} weights after deserialization, {len(obj.weights)} before")
    return revived


def check_symbolic_call(layer, call_args, eager_outputs, input_shapes=None):
    """Calls ``layer`` on ``keras.Input``\\ s; returns ``(inputs, outputs)``.

    Each output has the eager output's dtype and shape; only the batch dimension may be None,
    and, when ``input_shapes`` leaves input sizes free, any size the eager call gives.
    """
    inputs = _symbolic_inputs(call_args, input_shapes)
    outputs = layer(*inputs)
    assert _dtypes(outputs) == _dtypes(eager_outputs), (
        f"symbolic dtypes {_dtypes(outputs)} != eager {_dtypes(eager_outputs)}")
    free = any(None in tuple(tensor.shape)[1:] for _, tensor in _leaves(inputs))
    symbolic_leaves, eager_leaves = _leaves(outputs), _leaves(eager_outputs)
    assert [p for p, _ in symbolic_leaves] == [p for p, _ in eager_leaves]
    for (path, symbolic), (_, eager) in zip(symbolic_leaves, eager_leaves):
        want, got = tuple(eager.shape), tuple(symbolic.shape)
        same = [g == w or (g is None and (i == 0 or free))
                for i, (g, w) in enumerate(zip(got, want))]
        assert len(got) == len(want) and all(same), (
            f"{path}: symbolic shape {got}, eager shape {want}")
    return inputs, outputs


def check_saved_model(model, call_args, path, atol=1e-6):
    """Saves ``model`` to ``path`` (``.keras``) and loads it: identical outputs; returns it."""
    x = _model_inputs(call_args)
    before = _numpy(model(x))
    model.save(path)
    loaded = keras.saving.load_model(path)
    after = _numpy(loaded(x))
    before_leaves, after_leaves = _leaves(before), _leaves(after)
    assert [p for p, _ in after_leaves] == [p for p, _ in before_leaves]
    for (name, want), (_, got) in zip(before_leaves, after_leaves):
        assert got.dtype == want.dtype and got.shape == want.shape, name
        if np.issubdtype(want.dtype, np.floating):
            np.testing.assert_allclose(got, want, rtol=0, atol=atol, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
    return loaded


def check_fit_step(model, call_args, layer, run_eagerly=True, seed=0):
    """One ``fit`` step of ``model`` (Adam, MSE to random targets on its float outputs).

    The loss is finite and every trainable weight of ``layer`` changes. ``run_eagerly``
    (the default) skips tracing the train step, which costs 2-12 s a layer on two cores;
    the slow tests run it in a graph.
    """
    outputs = [tensor for _, tensor in _leaves(model.outputs) if _is_float(tensor)]
    assert outputs, "the model has no float output to train"
    assert layer.trainable_weights, f"{layer.name} has no trainable weight to fit"
    trainer = keras.Model(model.input, outputs)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss=["mse"] * len(outputs),
                    jit_compile=False, run_eagerly=run_eagerly)
    x = _model_inputs(call_args)
    batch = len(_leaves(call_args)[0][1])
    rng = np.random.default_rng(seed)
    targets = [rng.normal(size=tuple(tensor.shape)).astype("float32")
               for _, tensor in _leaves(trainer(x))]
    before = [np.array(w.numpy()) for w in layer.trainable_weights]
    history = trainer.fit(x, targets, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    loss = history.history["loss"][-1]
    assert np.isfinite(loss), f"fit gave the loss {loss}"
    unchanged = [w.path for w, old in zip(layer.trainable_weights, before)
                 if np.array_equal(old, w.numpy())]
    assert not unchanged, f"one fit step left these trainable weights unchanged: {unchanged}"
    return loss


class _GlobalPolicy:
    """Sets the global dtype policy for a ``with`` block; restores it whatever happens."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.saved = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.name)

    def __exit__(self, *exc):
        keras.config.set_dtype_policy(self.saved)


def check_mixed_precision(cls, init_kwargs, call_args, expected_dtypes):
    """Under the global ``mixed_float16`` policy: builds, runs, float32 weights, the dtypes.

    ``expected_dtypes``: the outputs' dtypes, in the outputs' structure. The global policy
    is restored afterwards, whether the check passes or not.
    """
    with _GlobalPolicy("mixed_float16"):
        layer = cls(**init_kwargs)
        assert layer.compute_dtype == "float16" and layer.variable_dtype == "float32"
        outputs = layer(*call_args)
        for weight in layer.weights:
            assert keras.backend.standardize_dtype(weight.dtype) == "float32", weight.path
        assert _dtypes(outputs) == expected_dtypes, (
            f"mixed_float16 outputs {_dtypes(outputs)}, expected {expected_dtypes}")
        for name, value in _leaves(_numpy(outputs)):
            assert np.all(np.isfinite(value)), f"{name}: not finite under mixed_float16"
    return layer, outputs


def _sublayer_policies(layer):
    """``{attribute path: dtype policy name}`` of every layer held by ``layer``'s attributes."""
    found, seen = {}, {id(layer)}

    def walk(value, path):
        if isinstance(value, keras.layers.Layer):
            if id(value) in seen:
                return
            seen.add(id(value))
            found[path] = value.dtype_policy.name
            children = vars(value)
        elif isinstance(value, dict):
            children = value
        elif isinstance(value, (list, tuple)):
            children = dict(enumerate(value))
        else:
            return
        for key in sorted(children, key=_public_first):
            walk(children[key], f"{path}.{key}")

    attributes = vars(layer)
    for key in sorted(attributes, key=_public_first):
        walk(attributes[key], key)
    return found


def _public_first(key):
    """Sort key: public attribute names before private ones (paths name what the code names)."""
    return str(key).startswith("_"), str(key)


def check_dtype_argument(cls, init_kwargs, call_args):
    """``cls(..., dtype="mixed_float16")`` acts as the global policy does.

    Under the float32 global policy, the layer given ``dtype="mixed_float16"`` has the
    output dtypes, and every sublayer the dtype policy, of the same layer built under the
    global ``mixed_float16`` policy: the layer passes its policy on to the sublayers it
    creates (``dtype=self.dtype_policy``), as KerasHub's layers do.
    """
    with _GlobalPolicy("mixed_float16"):
        reference = cls(**init_kwargs)
        reference_dtypes = _dtypes(reference(*call_args))
    with _GlobalPolicy("float32"):
        layer = cls(**{**init_kwargs, "dtype": "mixed_float16"})
        dtypes = _dtypes(layer(*call_args))
    want, got = _sublayer_policies(reference), _sublayer_policies(layer)
    differ = sorted(path for path in want if got.get(path) != want[path])
    assert not differ, (
        f"{cls.__name__}(dtype='mixed_float16'): {len(differ)} sublayers keep another policy "
        f"than under the global mixed_float16 policy, e.g. "
        + ", ".join(f"{p}: {got.get(p)} (not {want[p]})" for p in differ[:4]))
    assert dtypes == reference_dtypes, (
        f"outputs {dtypes} with dtype='mixed_float16', {reference_dtypes} under the global policy")
    return layer


# --- all of them -------------------------------------------------------------------------------


def _check_skip(skip, checks=CHECKS):
    skip = dict(skip or {})
    unknown = set(skip) - set(checks)
    if unknown:
        raise ValueError(f"skip names unknown checks {sorted(unknown)}; the checks are {checks}")
    for name, reason in skip.items():
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"skip[{name!r}] needs the reason the check cannot apply; "
                             f"received {reason!r}")
    return skip


def run_layer_test(cls, init_kwargs, call_args, *, tmp_path, input_shapes=None,
                   expected_output_shape=None, expected_output_dtype=None,
                   expected_mixed_dtype=None, skip=None):
    """Runs every check of this module on layer class ``cls``; returns the eager outputs.

    Args:
        cls: the layer class.
        init_kwargs: its arguments; each must come back from ``get_config()``.
        call_args: tuple of the call's positional inputs (arrays or dicts of arrays).
        tmp_path: a folder for the ``.keras`` file.
        input_shapes: shapes of the ``keras.Input``\\ s of the symbolic call and the saved
            model, without the batch dimension, in ``call_args``' structure (None: free);
            by default the arrays' shapes.
        expected_output_shape, expected_output_dtype: of the eager call, in the outputs'
            structure (checked when given).
        expected_mixed_dtype: the outputs' dtypes under ``mixed_float16``; by default
            float16 where the float32 call gives a float, else that call's dtype.
        skip: ``{check: reason}`` for the checks that cannot apply (see ``CHECKS``).
    """
    skip = _check_skip(skip)
    call_args = tuple(call_args)
    if "config" not in skip:
        check_config_round_trip(cls, init_kwargs)

    layer = cls(**init_kwargs)
    outputs = layer(*call_args)
    if expected_output_shape is not None:
        assert _shapes(outputs) == expected_output_shape, (
            f"output shapes {_shapes(outputs)}, expected {expected_output_shape}")
    if expected_output_dtype is not None:
        assert _dtypes(outputs) == expected_output_dtype, (
            f"output dtypes {_dtypes(outputs)}, expected {expected_output_dtype}")
    for name, value in _leaves(_numpy(outputs)):
        assert np.all(np.isfinite(value)), f"{name}: not finite"

    if "serialization" not in skip:
        check_serialization(layer)

    if {"symbolic", "saving", "fit"} - set(skip):
        fresh = cls(**init_kwargs)
        inputs, symbolic = check_symbolic_call(fresh, call_args, outputs, input_shapes)
        model = keras.Model(_model_inputs(inputs), symbolic)
        if "saving" not in skip:
            check_saved_model(model, call_args, tmp_path / f"{cls.__name__}.keras")
        if "fit" not in skip:
            check_fit_step(model, call_args, fresh)

    if "mixed_precision" not in skip:
        if expected_mixed_dtype is None:
            expected_mixed_dtype = _map(
                lambda tensor: "float16" if _is_float(tensor)
                else keras.backend.standardize_dtype(tensor.dtype), outputs)
        check_mixed_precision(cls, init_kwargs, call_args, expected_mixed_dtype)
    if "dtype_argument" not in skip:
        check_dtype_argument(cls, init_kwargs, call_args)
    return outputs


def run_graph_fit_test(cls, init_kwargs, call_args):
    """The ``fit`` check with the train step traced into a graph, as training runs (slow)."""
    layer = cls(**init_kwargs)
    inputs = _symbolic_inputs(tuple(call_args))
    model = keras.Model(_model_inputs(inputs), layer(*inputs))
    return check_fit_step(model, tuple(call_args), layer, run_eagerly=False)


def run_model_test(model, call_args, *, tmp_path, atol=1e-6, skip=None):
    """The checks that make sense for a whole (subclassed) model; returns the loaded model.

    ``config``: ``from_config(get_config())`` has the same config (JSON);
    ``config_argument``: ``from_config`` leaves the config it is given as it was;
    ``serialization``: ``serialize_keras_object`` and back give the same class and config;
    ``saving``: a ``.keras`` save and load gives identical outputs on ``call_args``.
    ``skip``: ``{check: reason}`` as for :func:`run_layer_test`.
    """
    skip = _check_skip(skip, MODEL_CHECKS)
    config = model.get_config()
    json.dumps(config)
    if "config" not in skip:
        given = copy.deepcopy(config)
        clone = type(model).from_config(given)
        assert clone.get_config() == config, (
            f"{type(model).__name__}.from_config(get_config()) has another config")
        if "config_argument" not in skip:
            assert given == config, (
                f"{type(model).__name__}.from_config changed the config it was given")
    if "serialization" not in skip:
        serialized = keras.saving.serialize_keras_object(model)
        json.dumps(serialized)
        revived = keras.saving.deserialize_keras_object(serialized)
        assert type(revived) is type(model) and revived.get_config() == config
    if "saving" not in skip:
        return check_saved_model(model, tuple(call_args),
                                 tmp_path / f"{type(model).__name__}.keras", atol=atol)
    return None


def tflite_and_onnx(module, folder):
    """Converts ``module.serve`` to TFLite (built-in ops only, no Flex) and ONNX (opset 17).

    Saves ``module`` to ``folder`` as a SavedModel first. Returns ``(TFLite signature runner,
    onnxruntime session)``; skips the test when ai_edge_litert, tf2onnx or onnxruntime is
    missing.
    """
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    tf2onnx = pytest.importorskip("tf2onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    import tensorflow as tf

    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    converter = tf.lite.TFLiteConverter.from_saved_model(str(folder))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex
    runner = litert.Interpreter(model_content=converter.convert()).get_signature_runner()
    onnx_model, _ = tf2onnx.convert.from_function(
        module.serve, input_signature=module.serve.input_signature, opset=17)
    return runner, onnxruntime.InferenceSession(onnx_model.SerializeToString())
