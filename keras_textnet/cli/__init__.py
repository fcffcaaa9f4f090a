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

Each of them imports only :mod:`~keras_textnet.cli.errors`,
:mod:`~keras_textnet.cli.args` and :mod:`~keras_textnet.cli.output_files`
(output checked before any work, atomic writes, the JSON Lines log of
``predict``) of this package; this module puts them together.

Every error ends as one line on stderr, ``keras-textnet: error: ...``, never
a traceback: a user's mistake or a bad input with status 2, an exception no
command expected with status 3 (``KERAS_TEXTNET_TRACEBACK=1`` shows its
traceback instead). Warnings are one line each too.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.util
import os
import sys

from keras_textnet.cli.build_ops import add_build_ops_parser
from keras_textnet.cli.data import add_data_parser
from keras_textnet.cli.errors import CommandError
from keras_textnet.cli.export import add_export_parser
from keras_textnet.cli.inference import add_inference_parsers
from keras_textnet.cli.train import add_train_parser
from keras_textnet.cpu_allocator import use_bfc_cpu_allocator
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


#: Messages longer than this are shortened in the middle (a value quoted whole
#: from a hostile file, a 4300-digit number, must not fill the terminal).
MESSAGE_LIMIT = 1000
#: Set to 1 to let unexpected exceptions end with their traceback.
TRACEBACK_ENV = "KERAS_TEXTNET_TRACEBACK"


def _one_line(message: str) -> str:
    text = " ".join(str(message).split())
    if len(text) > MESSAGE_LIMIT:
        half = MESSAGE_LIMIT // 2
        text = f"{text[:half]} ... ({len(text) - 2 * half} characters) ... {text[-half:]}"
    return text


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line each, ``keras-textnet: warning: ...`` (no source line)."""
    stream = file if file is not None else sys.stderr
    try:
        stream.write(f"keras-textnet: warning: {_one_line(message)}\n")
    except (OSError, ValueError):
        pass


def _where(e: BaseException) -> str:
    """``file:line`` of the innermost frame of ``e``'s traceback."""
    import traceback

    frames = traceback.extract_tb(e.__traceback__)
    if not frames:
        return "?"
    frame = frames[-1]
    return f"{os.path.basename(frame.filename)}:{frame.lineno}"


#: TensorFlow's C++ logging, quiet unless the user chose a level themselves.
TF_LOG_ENV = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def _stderr_silenced():
    """File descriptor 2 on /dev/null for the block (C++ code writes there directly)."""
    try:
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass
    try:
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        yield
        return
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        try:
            sys.stderr.flush()
        except (OSError, ValueError, AttributeError):
            pass
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Runs the first ``import tensorflow`` with stderr on /dev/null, then leaves.

    TensorFlow's absl logging prints ``WARNING: All log messages before
    absl::InitializeLog() ...``, ``oneDNN custom operations are on``, ``Could not
    find cuda drivers`` and the CPU-instructions notice while it loads, whatever
    ``TF_CPP_MIN_LOG_LEVEL`` says. The finder wraps the loader of the real
    module; nothing else is silenced, and TensorFlow is still imported only by
    the commands that need it.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        _remove_finder(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _WrappingLoader(spec.loader, _stderr_silenced)
        return spec


class _WrappingLoader(importlib.abc.Loader):
    """Runs a module's real loader inside ``around()`` (a context manager factory)."""

    def __init__(self, loader, around):
        self.loader = loader
        self.around = around

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with self.around():
            self.loader.exec_module(module)


def _remove_finder(finder) -> None:
    try:
        sys.meta_path.remove(finder)
    except ValueError:
        pass


def _quiet_tensorflow() -> None:
    """No TensorFlow C++ log lines on the command's stderr (only in the command's process).

    ``TF_CPP_MIN_LOG_LEVEL=3`` (errors such as ``failed call to cuInit`` too)
    unless the user set it; a value they set, or ``KERAS_TEXTNET_TRACEBACK=1``,
    leaves stderr alone during ``import tensorflow``.
    """
    user_level = TF_LOG_ENV in os.environ
    os.environ.setdefault(TF_LOG_ENV, "3")
    if user_level or os.environ.get(TRACEBACK_ENV) or "tensorflow" in sys.modules:
        return
    if not any(isinstance(f, _QuietTensorFlowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


# Keras's plot_image_gallery imports matplotlib.pyplot when Keras loads (a third of a
# second of the time to the first page, measured by benchmarks/first_page.py) for a
# function no command calls. In the command's process only, that module loads without
# pyplot (Keras then treats matplotlib as absent for its gallery); every other import of
# matplotlib.pyplot, ours included, is untouched.
_PYPLOT_FREE_MODULES = frozenset({"keras.src.visualization.plot_image_gallery"})


class _NoPyplotFor(importlib.abc.MetaPathFinder):
    """Loads the modules in :data:`_PYPLOT_FREE_MODULES` with ``matplotlib.pyplot`` unimportable."""

    def find_spec(self, name, path=None, target=None):
        if name not in _PYPLOT_FREE_MODULES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _WrappingLoader(spec.loader, _pyplot_refused)
        return spec


@contextlib.contextmanager
def _pyplot_refused():
    blocker = _RefusePyplot()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        _remove_finder(blocker)
    if not _PYPLOT_FREE_MODULES - sys.modules.keys():
        for finder in [f for f in sys.meta_path if isinstance(f, _NoPyplotFor)]:
            _remove_finder(finder)


class _RefusePyplot(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib.pyplot" and "matplotlib.pyplot" not in sys.modules:
            raise ImportError("matplotlib.pyplot is not loaded for Keras's image gallery "
                              "by the keras-textnet command")
        return None


def _skip_pyplot_in_keras() -> None:
    if "keras" in sys.modules or any(isinstance(f, _NoPyplotFor) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoPyplotFor())


# Commands that write nothing after they return and start no worker that needs its
# exit handlers: their process ends with os._exit, skipping the interpreter's
# teardown of TensorFlow (~0.6 s of the time to the first page on 2 cores).
_FAST_EXIT_COMMANDS = frozenset({"read"})


def _exit_now(status: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)


def main(argv=None) -> int:
    """The command; ``argv=None`` (the console script, ``python -m``) reads ``sys.argv``.

    Only then, when this is the process's command, are TensorFlow's log lines
    silenced and its BFC allocator chosen for CPU tensors
    (:mod:`keras_textnet.cpu_allocator`): a caller passing ``argv`` keeps its own
    environment and stderr.
    """
    import warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:
        _quiet_tensorflow()
        _skip_pyplot_in_keras()
        use_bfc_cpu_allocator()  # before TensorFlow's first op: a page in ~0.8 of the time
    if not getattr(args, "func", None):
        if getattr(args, "command", None) == "data":
            parser.parse_args(["data", "--help"])
        parser.print_help()
        return 0
    from keras_textnet.charset import CharsetError
    from keras_textnet.cli.errors import hostile_input_message
    from keras_textnet.data.annotation import AnnotationError

    from keras_textnet.image_io import ImageReadError

    user_errors = (CommandError, AnnotationError, CharsetError, FileNotFoundError,
                   ImageReadError)
    if args.command == "data" and args.data_command == "from-pdf":
        from keras_textnet.data.pdf import HeldOutPDFError, PDFError, PopplerNotFoundError
        user_errors += (HeldOutPDFError, PDFError, PopplerNotFoundError)

    show_warning = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        status = args.func(args)
    except user_errors as e:
        print(f"keras-textnet: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-textnet: interrupted", file=sys.stderr)
        return 130
    except (RecursionError, MemoryError, OverflowError, ValueError) as e:
        message = hostile_input_message("an input file", e)
        if message is None or os.environ.get(TRACEBACK_ENV):
            if os.environ.get(TRACEBACK_ENV):
                raise
            return _unexpected(e)
        print(f"keras-textnet: error: {message}", file=sys.stderr)
        return 2
    except Exception as e:
        if os.environ.get(TRACEBACK_ENV):
            raise
        return _unexpected(e)
    finally:
        warnings.showwarning = show_warning
    status = int(status or 0)
    if argv is None and args.command in _FAST_EXIT_COMMANDS:
        _exit_now(status)
    return status


def _unexpected(e: BaseException) -> int:
    """One line for an exception no command expected: a bug to report, status 3."""
    print(f"keras-textnet: error: unexpected {type(e).__name__} at {_where(e)}: {_one_line(e)} "
          f"(a bug: please report it; {TRACEBACK_ENV}=1 shows the traceback)", file=sys.stderr)
    return 3
