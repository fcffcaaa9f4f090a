"""Loading the native dynamic RoI pooling op, once per process, and its gradients.

:func:`load_custom_ops` loads the library from the cache, building it there at first use when a
C++ compiler is found (:mod:`keras_textnet.ops.custom_op.build`); a failure is remembered, so
the process does not try again. A SavedModel that holds the op loads only after it.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import tensorflow as tf

from keras_textnet.ops.custom_op.build import (CustomOpError, build_custom_ops, cached_library,
                                               cuda_build_possible)

OP_NAME = "KerasTextnet>DynamicRoiPooling"
GRAD_OP_NAME = "KerasTextnet>DynamicRoiPoolingGrad"


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
