"""Argument types shared by the ``keras-textnet`` subcommands."""

from __future__ import annotations

import argparse


def size_type(minimum: int = 16, multiple: int = 1, example: str = "1024x768"):
    """An argparse ``type`` for ``'HEIGHTxWIDTH'`` (or ``'N'``, square) -> ``(h, w)``.

    Each side must be at least ``minimum`` and a multiple of ``multiple``.
    """

    def parse(text: str) -> tuple[int, int]:
        try:
            parts = [int(p) for p in text.lower().split("x")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected HEIGHTxWIDTH such as {example}; got {text!r}") from None
        if len(parts) == 1:
            parts = parts * 2
        if len(parts) != 2 or min(parts) < minimum:
            raise argparse.ArgumentTypeError(
                f"expected HEIGHTxWIDTH, each >= {minimum}; got {text!r}")
        if parts[0] % multiple or parts[1] % multiple:
            raise argparse.ArgumentTypeError(
                f"expected HEIGHTxWIDTH, multiples of {multiple} (the backbone's stride); "
                f"got {text!r}")
        return parts[0], parts[1]

    return parse
