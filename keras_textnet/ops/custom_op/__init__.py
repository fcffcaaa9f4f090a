"""The native dynamic RoI pooling op: building it, loading it, and choosing it or pure TF.

The op (``custom_ops/``: C++ CPU kernels, CUDA kernels, one contract with
:func:`keras_textnet.ops.dynamic_roi_pooling.dynamic_roi_pooling`) is compiled on the user's
machine, never shipped as a binary. Three modules:

* :mod:`~keras_textnet.ops.custom_op.build`: :func:`build_custom_ops` (``keras-textnet
  build-ops``) compiles it with ``tf.sysconfig``'s flags into a cache folder keyed by the
  TensorFlow version, the compiler and a hash of the sources;
* :mod:`~keras_textnet.ops.custom_op.load`: :func:`load_custom_ops` loads it once per process
  (building it at first use when a compiler is found) and registers its gradients;
* :mod:`~keras_textnet.ops.custom_op.options`: which implementation the pooling runs,
  ``KERAS_TEXTNET_POOLING=auto|custom|tf`` or :func:`set_pooling_implementation` (which
  wins); ``"auto"`` falls back to pure TF with one warning per process, and uses pure TF
  under XLA.

The choice is made when a graph is traced: a ``tf.function`` keeps the implementation it was
traced with. A SavedModel that holds the op loads only after :func:`load_custom_ops`.

Environment: ``KERAS_TEXTNET_POOLING``, ``KERAS_TEXTNET_OPS_CACHE`` (cache folder, default
``$XDG_CACHE_HOME/keras_textnet/custom_ops``), ``CXX`` (the C++ compiler, default ``g++``),
``NVCC`` and ``CUDA_HOME`` (for the CUDA kernels).
"""

from keras_textnet.ops.custom_op.build import (ENV_CACHE, LIBRARY_NAME, CustomOpError,
                                               build_custom_ops, build_key, cache_root,
                                               cached_library, cuda_build_possible,
                                               source_dir)
from keras_textnet.ops.custom_op.load import (GRAD_OP_NAME, OP_NAME, custom_ops_path,
                                              load_custom_ops)
from keras_textnet.ops.custom_op.options import (ENV_IMPLEMENTATION, IMPLEMENTATIONS,
                                                 active_pooling_implementation, describe,
                                                 get_pooling_implementation,
                                                 pooling_implementation,
                                                 set_pooling_implementation, use_custom_op)

__all__ = ["ENV_CACHE", "ENV_IMPLEMENTATION", "GRAD_OP_NAME", "IMPLEMENTATIONS", "LIBRARY_NAME",
           "OP_NAME", "CustomOpError", "active_pooling_implementation", "build_custom_ops",
           "build_key", "cache_root", "cached_library", "cuda_build_possible",
           "custom_ops_path", "describe", "get_pooling_implementation", "load_custom_ops",
           "pooling_implementation", "set_pooling_implementation", "source_dir",
           "use_custom_op"]
