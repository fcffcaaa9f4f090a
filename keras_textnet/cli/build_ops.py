"""``keras-textnet build-ops``: compile, load and check the native pooling op."""

from __future__ import annotations

import argparse

from keras_textnet.cli.errors import CommandError


def cmd_build_ops(args):
    """Compiles the custom pooling op into the cache, loads it, checks it against pure TF."""
    from keras_textnet.ops import custom_op

    cuda = {"auto": "auto", "yes": True, "no": False}[args.cuda]
    try:
        path = custom_op.build_custom_ops(cuda=cuda, force=args.force, cache_dir=args.cache_dir)
    except custom_op.CustomOpError as error:
        raise CommandError(str(error)) from error
    print(f"built: {path}")
    if args.cache_dir is None:
        import numpy as np
        import tensorflow as tf

        from keras_textnet.ops.dynamic_roi_pooling import dynamic_roi_pooling

        features = tf.random.stateless_normal([2, 16, 24, 8], seed=[0, 0])
        boxes = tf.constant([[4.0, 8.0, 20.0, 90.0], [30.0, 2.0, 50.0, 30.0]])
        kwargs = dict(spatial_scale=0.25, pooled_height=4, max_width=32)
        with custom_op.pooling_implementation("custom"):
            custom, _ = dynamic_roi_pooling(features, boxes, [0, 1], [0.1, -0.2], **kwargs)
        with custom_op.pooling_implementation("tf"):
            pure, _ = dynamic_roi_pooling(features, boxes, [0, 1], [0.1, -0.2], **kwargs)
        error = float(np.abs(custom.numpy() - pure.numpy()).max())
        print(custom_op.describe())
        print(f"custom op vs pure TF on a small case: max abs difference {error:.1e}")
        if not error < 1e-5:
            raise CommandError(f"the custom op disagrees with pure TF ({error:.2e}); please report")


def add_build_ops_parser(sub) -> argparse.ArgumentParser:
    """Adds ``build-ops`` to the ``keras-textnet`` subcommands ``sub``."""
    p = sub.add_parser("build-ops", help="compile the native dynamic RoI pooling op",
                       description="Compile the native dynamic RoI pooling op (custom_ops/) with "
                                   "TensorFlow's compile flags into a cache keyed by TF version "
                                   "and compiler ($KERAS_TEXTNET_OPS_CACHE, default "
                                   "~/.cache/keras_textnet/custom_ops), then load it and check "
                                   "it against the pure-TF pooling. Without it the op builds "
                                   "itself at first use when a compiler is found.")
    p.add_argument("--cuda", choices=["auto", "yes", "no"], default="auto",
                   help="also build the CUDA kernels (auto: when nvcc and a CUDA build of "
                        "TensorFlow are present)")
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    p.add_argument("--cache-dir", default=None, help="build into this folder (no load/check)")
    p.set_defaults(func=cmd_build_ops)
    return p
