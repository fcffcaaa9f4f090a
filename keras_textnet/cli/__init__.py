"""The ``keras-textnet`` command (``python -m keras_textnet`` runs it too).

Every subcommand explains itself with ``--help``. Heavy imports (TensorFlow,
the generator) happen inside the subcommand that needs them, so ``--help`` is
instant.

* :mod:`~keras_textnet.cli.errors`: :class:`CommandError`, a user's mistake;
* :mod:`~keras_textnet.cli.args`: argument types the subcommands share;
* :mod:`~keras_textnet.cli.data`: ``data synth``, ``from-pdf``, ``from-icdar``,
  ``validate``, ``to-tfrecord``, ``show``, ``pipeline-preview``;
* :mod:`~keras_textnet.cli.build_ops`: ``build-ops``;
* :mod:`~keras_textnet.cli.inference`: ``predict``, ``read``, ``evaluate``;
* :mod:`~keras_textnet.cli.export`: ``export``;
* :mod:`~keras_textnet.cli.train`: ``train``.

Each of them imports only :mod:`~keras_textnet.cli.errors` and
:mod:`~keras_textnet.cli.args` of this package; this module puts them together.
"""

from __future__ import annotations

import argparse
import sys

from keras_textnet.cli.build_ops import add_build_ops_parser
from keras_textnet.cli.data import add_data_parser
from keras_textnet.cli.errors import CommandError
from keras_textnet.cli.export import add_export_parser
from keras_textnet.cli.inference import add_inference_parsers
from keras_textnet.cli.train import add_train_parser
from keras_textnet.version import __version__

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-textnet",
        description="Find and read the text lines of document images with one Keras network.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'keras-textnet COMMAND --help' for the options of a command.")
    parser.add_argument("--version", action="version", version=f"keras-textnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    add_data_parser(sub)  # data synth, from-pdf, from-icdar, validate, to-tfrecord, show, ...
    add_build_ops_parser(sub)
    add_inference_parsers(sub)  # predict, read, evaluate
    add_export_parser(sub)
    add_train_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if getattr(args, "command", None) == "data":
            parser.parse_args(["data", "--help"])
        parser.print_help()
        return 0
    from keras_textnet.charset import CharsetError
    from keras_textnet.data.annotation import AnnotationError

    from keras_textnet.image_io import ImageReadError

    user_errors = (CommandError, AnnotationError, CharsetError, FileNotFoundError,
                   ImageReadError)
    if args.command == "data" and args.data_command == "from-pdf":
        from keras_textnet.data.pdf_dataset import HeldOutPDFError, PDFError, PopplerNotFoundError
        user_errors += (HeldOutPDFError, PDFError, PopplerNotFoundError)
    try:
        status = args.func(args)
    except user_errors as e:
        print(f"keras-textnet: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-textnet: interrupted", file=sys.stderr)
        return 130
    return int(status or 0)

