"""The layer harness itself (tests/harness.py): a sound layer passes, and each check fails
on a layer broken in the way it looks for, with a message that says what is wrong."""

import keras
import numpy as np
import pytest
from harness import (
    check_config_round_trip,
    check_dtype_argument,
    check_fit_step,
    check_mixed_precision,
    check_saved_model,
    check_serialization,
    check_symbolic_call,
    run_layer_test,
)

INPUTS = (np.random.default_rng(0).normal(size=(2, 5)).astype("float32"),)


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class Scale(keras.layers.Layer):
    """A sound layer: ``Dense(units)`` times ``factor``."""

    def __init__(self, units=3, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.factor = factor

    def build(self, input_shape):
        self.dense = keras.layers.Dense(self.units, dtype=self.dtype_policy, name="dense")
        self.dense.build(input_shape)

    def call(self, x):
        return self.dense(x) * self.factor

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "factor": self.factor}


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class ForgetsFactor(Scale):
    def get_config(self):
        config = super().get_config()
        del config["factor"]
        return config


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class WritesTheDefaultFactor(Scale):
    def get_config(self):
        return {**super().get_config(), "factor": 2.0}


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class KeepsItsInitializer(Scale):
    """Takes ``kernel_initializer`` but always writes Glorot uniform."""

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get("glorot_uniform")

    def get_config(self):
        return {**super().get_config(),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class EatsItsConfig(Scale):
    @classmethod
    def from_config(cls, config):
        return cls(units=config.pop("units"), factor=config.pop("factor"))


class NotRegistered(Scale):
    pass


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class WrongShape(Scale):
    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units + 1)


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class OffsetNotSaved(Scale):
    """Adds a random offset that is not a weight: a loaded copy draws another."""

    def build(self, input_shape):
        super().build(input_shape)
        self.offset = np.random.default_rng().normal(size=self.units).astype("float32")

    def call(self, x):
        return super().call(x) + self.offset


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class UnusedWeight(Scale):
    def build(self, input_shape):
        super().build(input_shape)
        self.unused = self.add_weight(shape=(self.units,), initializer="ones", name="unused")


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class NaNOutput(Scale):
    def call(self, x):
        return super().call(x) * float("nan")


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class Float32Output(Scale):
    def call(self, x):
        return keras.ops.cast(super().call(x), "float32")


@keras.saving.register_keras_serializable(package="keras_textnet_tests")
class IgnoresItsDtype(Scale):
    def build(self, input_shape):
        self.dense = keras.layers.Dense(self.units, name="dense")
        self.dense.build(input_shape)


def _model(layer):
    inputs = keras.Input((5,))
    return keras.Model(inputs, layer(inputs))


def test_a_sound_layer_passes_every_check(tmp_path):
    outputs = run_layer_test(Scale, {"units": 4, "factor": 3.0, "name": "scale"}, INPUTS,
                             tmp_path=tmp_path, expected_output_shape=(2, 4),
                             expected_output_dtype="float32")
    assert tuple(outputs.shape) == (2, 4)
    assert keras.config.dtype_policy().name == "float32"


def test_expected_output_shape_and_dtype_are_checked(tmp_path):
    with pytest.raises(AssertionError, match="output shapes"):
        run_layer_test(Scale, {"units": 4}, INPUTS, tmp_path=tmp_path,
                       expected_output_shape=(2, 5))
    with pytest.raises(AssertionError, match="output dtypes"):
        run_layer_test(Scale, {"units": 4}, INPUTS, tmp_path=tmp_path,
                       expected_output_dtype="float16")


def test_config_check_finds_a_missing_argument():
    with pytest.raises(AssertionError, match="misses the argument 'factor'"):
        check_config_round_trip(ForgetsFactor, {"factor": 3.0})


def test_config_check_finds_an_argument_written_wrong():
    with pytest.raises(AssertionError, match=r"\['factor'\] is 2.0; 3.0 was passed"):
        check_config_round_trip(WritesTheDefaultFactor, {"factor": 3.0})


def test_config_check_finds_a_from_config_that_changes_its_argument():
    with pytest.raises(AssertionError, match="changed the config it was given"):
        check_config_round_trip(EatsItsConfig, {"factor": 3.0})


def test_config_check_compares_a_string_argument_with_the_object_written():
    check_config_round_trip(keras.layers.Dense, {"units": 2, "kernel_initializer": "he_normal"})
    with pytest.raises(AssertionError, match=r"\['kernel_initializer'\] is .*GlorotUniform"):
        check_config_round_trip(KeepsItsInitializer, {"kernel_initializer": "he_normal"})


def test_serialization_check_finds_an_unregistered_layer():
    layer = NotRegistered()
    layer(INPUTS[0])
    with pytest.raises(TypeError, match="NotRegistered"):
        check_serialization(layer)
    check_serialization(Scale())  # unbuilt is fine too


def test_symbolic_check_finds_a_wrong_output_shape():
    eager = WrongShape()(INPUTS[0])
    with pytest.raises(AssertionError, match=r"symbolic shape \(None, 4\), eager shape \(2, 3\)"):
        check_symbolic_call(WrongShape(), INPUTS, eager)


def test_saving_check_finds_state_that_is_not_saved(tmp_path):
    with pytest.raises(AssertionError, match="Not equal to tolerance"):
        check_saved_model(_model(OffsetNotSaved()), INPUTS, tmp_path / "offset.keras")


@pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")
def test_fit_check_finds_a_weight_that_does_not_train():
    layer = UnusedWeight()
    with pytest.raises(AssertionError, match="unchanged: .*unused"):
        check_fit_step(_model(layer), INPUTS, layer)


def test_fit_check_finds_a_loss_that_is_not_finite():
    layer = NaNOutput()
    with pytest.raises(AssertionError, match="fit gave the loss nan"):
        check_fit_step(_model(layer), INPUTS, layer)


def test_mixed_precision_check_finds_a_wrong_dtype_and_restores_the_policy():
    check_mixed_precision(Scale, {}, INPUTS, "float16")
    with pytest.raises(AssertionError, match="mixed_float16 outputs float32, expected float16"):
        check_mixed_precision(Float32Output, {}, INPUTS, "float16")
    assert keras.config.dtype_policy().name == "float32"


def test_dtype_argument_check_finds_a_sublayer_left_in_float32():
    check_dtype_argument(Scale, {}, INPUTS)
    with pytest.raises(AssertionError, match="dense: float32 \\(not mixed_float16\\)"):
        check_dtype_argument(IgnoresItsDtype, {}, INPUTS)
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.parametrize("skip, message", [
    ({"fitting": "no weights"}, "unknown checks \\['fitting'\\]"),
    ({"fit": ""}, "needs the reason"),
    ({"fit": None}, "needs the reason"),
])
def test_a_skipped_check_is_a_known_check_with_a_reason(skip, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_layer_test(Scale, {}, INPUTS, tmp_path=tmp_path, skip=skip)
