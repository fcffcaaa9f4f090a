"""Process pools that never re-run the user's script.

``multiprocessing``'s spawn start method (the only safe one once TensorFlow's
threads exist) re-imports the parent's ``__main__`` in every child, so a
script without an ``if __name__ == "__main__":`` guard would run again in
each worker (and hang the pool). Our workers need nothing from ``__main__``:
their functions live in this package. So while the workers start, the main
module's path and spec are hidden from ``multiprocessing``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys


@contextlib.contextmanager
def _main_module_hidden():
    main = sys.modules.get("__main__")
    saved = {}
    for attr in ("__file__", "__spec__"):
        if main is not None and hasattr(main, attr):
            saved[attr] = getattr(main, attr)
    try:
        if main is not None:
            if "__file__" in saved:
                del main.__file__
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            for attr, value in saved.items():
                setattr(main, attr, value)


def spawn_pool(workers: int, initializer=None, initargs=()):
    """A ``multiprocessing`` pool of spawned workers (use it as a context manager).

    ``initializer`` and the functions mapped must be importable from this
    package (not defined in ``__main__``).
    """
    ctx = multiprocessing.get_context("spawn")
    with _main_module_hidden():
        pool = ctx.Pool(workers, initializer=initializer, initargs=initargs)
        # Start every worker now, while __main__ is hidden (they would start
        # lazily otherwise, or restart later, and see the script again).
        pool.map(_noop, range(workers))
    return pool


def _noop(_):
    return None
