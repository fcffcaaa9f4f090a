"""Turns a trained model into the model the package ships (or any release file).

    python training/release.py --config training/configs/real_mobilenet.yaml \\
        --model runs/real_mobilenet/model.keras \\
        --out keras_textnet/assets/textnet_mobilenet_real.keras \\
        --set detections_per_image=400 --set rpn_post_nms_topk=600

Steps: load the model a run wrote (``model.keras``: written whenever a run stops,
so stop the run with Ctrl-C or SIGTERM first, or take ``best.keras``; with
``--checkpoint``, the weights of one of the run's checkpoints instead, averaged where the
run keeps a weight average), re-estimate
its BatchNorm statistics over ``--bn-steps`` batches of the config's own training
data (the moving averages of batch-2 training are noisy), apply inference settings
(``--set``: detections kept per page, thresholds; the weights do not change), and
write the weights without the optimizer's state (``pretrained.release_model``).
The library code is in ``keras_textnet/pretrained.py`` and
``keras_textnet/models/batch_norm.py``.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _setting(text: str):
    import yaml

    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; received {text!r}")
    return key, yaml.safe_load(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the run's training config (its data "
                        "feeds the BatchNorm re-estimation)")
    parser.add_argument("--model", required=True, help="a .keras model saved by training")
    parser.add_argument("--checkpoint", help="a checkpoint folder of the run "
                        "(runs/R/checkpoints/ckpt-00005800): its weights replace --model's, "
                        "which then only gives the architecture (a run keeps its last "
                        "checkpoints, and the last step is not always the best); where the "
                        "run kept a weight average (schedule.weight_average), its averaged "
                        "weights")
    parser.add_argument("--live-weights", action="store_true",
                        help="with --checkpoint: the weights training left at that step, not "
                        "their average")
    parser.add_argument("--out", required=True, help="the .keras file to write")
    parser.add_argument("--bn-steps", type=int, default=50,
                        help="batches for the BatchNorm re-estimation (0: keep the statistics)")
    parser.add_argument("--set", type=_setting, action="append", default=[], metavar="KEY=VALUE",
                        help="an inference setting of the released model (repeatable): "
                        "detections_per_image, score_threshold, detection_nms_iou, "
                        "rpn_pre_nms_topk, rpn_post_nms_topk")
    parser.add_argument("--seed", type=int, default=12345,
                        help="data seed of the re-estimation batches")
    args = parser.parse_args(argv)

    from keras_textnet import pretrained
    from keras_textnet.models.batch_norm import recalibrate_batch_norm
    from keras_textnet.training.config import TrainingConfig
    from keras_textnet.training.resumable_dataset import resumable_dataset

    settings = dict(args.set)
    unknown = sorted(set(settings) - set(pretrained.INFERENCE_SETTINGS))
    if unknown:
        parser.error(f"--set takes only {', '.join(pretrained.INFERENCE_SETTINGS)}; "
                     f"received {', '.join(unknown)}")
    config = TrainingConfig.load(args.config, overrides={"data.seed": args.seed})
    model = pretrained.load_model(args.model)
    if args.checkpoint:
        import tensorflow as tf

        prefix = os.path.join(args.checkpoint, "variables")
        if not os.path.isfile(prefix + ".index"):
            parser.error(f"--checkpoint {args.checkpoint}: no variables.index in it")
        from keras_textnet.training.weight_average import checkpoint_has_average, load_average

        status = tf.train.Checkpoint(model=model).restore(prefix)
        status.expect_partial()            # the optimizer's slots are not wanted here
        status.assert_nontrivial_match()
        if checkpoint_has_average(prefix) and not args.live_weights:
            steps = load_average(model, prefix)
            print(f"weights of {args.checkpoint}, averaged over {steps} steps", file=sys.stderr)
        else:
            print(f"weights of {args.checkpoint}", file=sys.stderr)
    if args.bn_steps > 0:
        data = resumable_dataset(config.data, cache_root=os.path.dirname(args.model) or ".")
        used = recalibrate_batch_norm(model, data, steps=args.bn_steps)
        print(f"BatchNorm statistics re-estimated over {used} batches", file=sys.stderr)
    out = pretrained.release_model(model, args.out, settings=settings)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
