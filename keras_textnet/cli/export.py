"""The ``keras-textnet export`` subcommand (TensorFlow loads only when it runs)."""

from __future__ import annotations

import argparse

from keras_textnet.cli.args import size_type
from keras_textnet.cli.errors import CommandError

FORMATS = ("saved_model", "tflite", "onnx")


_size = size_type(minimum=32, multiple=32)


def _variants(text: str) -> tuple[str, ...]:
    from keras_textnet.export.tflite import VARIANTS

    names = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in names if v not in VARIANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"variants are a comma-separated subset of "
                                         f"{','.join(VARIANTS)}; got {text!r}")
    return names


def add_export_parser(subparsers):
    """Adds ``export`` to the ``keras-textnet`` subcommands."""
    p = subparsers.add_parser(
        "export", help="export a model for deployment (SavedModel, TFLite, ONNX)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a TextNet for deployment:\n"
                    "  saved_model  TF Serving layout OUT/NAME/VERSION; signatures take encoded "
                    "PNG/JPEG bytes\n"
                    "               (serving_default) or uint8 pixels (serve_images) and return "
                    "boxes in the\n"
                    "               image's pixels, scores, counts and transcriptions\n"
                    "  tflite       LiteRT, builtin ops only, fixed input size, fp32/fp16/int8 "
                    "variants and\n"
                    "               a GPU-delegate report (gpu_report.md)\n"
                    "  onnx         through tf2onnx, for ONNX Runtime\n"
                    "TFLite and ONNX models end at tensors; model_info.json next to them holds "
                    "the charset and\nthe tensor names (see docs/export.md).",
        epilog="examples:\n"
               "  keras-textnet export --format tflite --model runs/m/model.keras --out export/"
               "tflite\n"
               "  keras-textnet export --format saved_model --model model.keras --out "
               "export/serving --name textnet\n"
               "  keras-textnet export --format onnx --preset tiny --out /tmp/onnx")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", help="a .keras model, or a .weights.h5 file with --preset "
                                   "(default: the shipped model, or $KERAS_TEXTNET_MODEL)")
    p.add_argument("--preset", help="the preset of a weights file, or (without --model) an "
                                    "untrained model of this preset")
    p.add_argument("--input-size", type=_size, default=None, metavar="HxW",
                   help="fixed input size (tflite: default 1024x768; onnx: default dynamic)")
    p.add_argument("--variants", type=_variants, default=None, metavar="LIST",
                   help="tflite variants, subset of fp32,fp16,int8 (default: all three)")
    p.add_argument("--name", default="textnet", help="model name: SavedModel folder, file stem")
    p.add_argument("--version", type=int, default=1, help="SavedModel version folder (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing SavedModel "
                                                            "version")
    p.add_argument("--max-side", type=int, default=2048,
                   help="SavedModel: images with a longer side are shrunk to it (default 2048)")
    p.add_argument("--detections", type=int, default=None, metavar="N",
                   help="lines read per image (the model's detections_per_image)")
    p.add_argument("--score-threshold", type=float, default=None,
                   help="minimum text score of a detection (the model's score_threshold)")
    p.add_argument("--check", type=int, default=0, metavar="N",
                   help="after exporting, compare with the Keras model on N synthetic pages")
    p.set_defaults(func=cmd_export)
    return p


def cmd_export(args):
    from keras_textnet.export.model_source import ExportError, load_model

    if args.model is None and args.preset is None:
        from keras_textnet.pretrained import default_model_path

        try:
            args.model = str(default_model_path())  # the shipped model
        except FileNotFoundError as e:
            raise CommandError(f"{e}; or export an untrained model with --preset NAME") from e
    if args.format != "tflite" and args.variants:
        raise CommandError("--variants applies to --format tflite only")
    overrides = {}
    if args.detections is not None:
        overrides["detections_per_image"] = args.detections
    if args.score_threshold is not None:
        overrides["score_threshold"] = args.score_threshold
    try:
        model = load_model(args.model, preset=args.preset, **overrides)
        if args.format == "saved_model":
            from keras_textnet.export.saved_model import export_saved_model

            path = export_saved_model(model, args.out, name=args.name, version=args.version,
                                      max_side=args.max_side, overwrite=args.overwrite)
            print(f"wrote SavedModel {path} (signatures serving_default: encoded images, "
                  f"serve_images: uint8 pixels)")
            files = {"saved_model": path}
        elif args.format == "tflite":
            from keras_textnet.export.tflite import DEFAULT_INPUT_SIZE, VARIANTS, export_tflite

            files = export_tflite(model, args.out, input_size=args.input_size or
                                  DEFAULT_INPUT_SIZE, variants=args.variants or VARIANTS,
                                  name=args.name)
            for key, path in files.items():
                print(f"wrote {key}: {path} ({path.stat().st_size / 1e6:.2f} MB)")
            from keras_textnet.export.gpu_report import gpu_delegate_report

            report = gpu_delegate_report(files[(args.variants or VARIANTS)[0]]).to_dict()
            print(f"GPU delegate: {100 * report['supported_flop_share']:.1f}% of the FLOPs in "
                  f"supported ops; first block {100 * report['first_block']['flop_share']:.1f}%"
                  f" (details: {files['gpu_report']})")
        else:
            from keras_textnet.export.onnx import export_onnx

            path = export_onnx(model, args.out, input_size=args.input_size, name=args.name)
            print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
            files = {"onnx": path}
        if args.check:
            _check(model, args, files)
    except ExportError as e:
        raise CommandError(str(e)) from e


def _check(model, args, files):
    """Keras vs the export on synthetic pages, one summary line per runtime."""
    from keras_textnet.export.parity import compare_page, format_summary, summarize
    from keras_textnet.export.runtimes import keras_runner, runners_for_export, synthetic_pages

    size = args.input_size or (1024, 768)
    pages = synthetic_pages(args.check, size)
    reference = keras_runner(model)
    for name, run in runners_for_export(args.format, files, model).items():
        agreement = [compare_page(reference(page), run(page), model.charset) for page in pages]
        print("check " + format_summary(name, summarize(agreement)))


__all__ = ["add_export_parser", "cmd_export"]
