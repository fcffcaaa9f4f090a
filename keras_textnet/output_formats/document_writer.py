"""The interface of the output formats of ``keras-textnet read --format``."""

from __future__ import annotations

import numpy as np


class DocumentWriter:
    """Collects a document's pages and returns the encoded document.

    A writer is fed page after page with :meth:`add_page` (the page's
    prediction, ``FORMATS.md`` shaped, with the optional ``source``, ``page``
    and ``dpi`` of ``keras-textnet read``; and its RGB image, which only the
    searchable PDF uses), then :meth:`finish` returns the whole document as
    bytes. Pages are numbered 1, 2, ... in the order they were added.

    Args:
        default_dpi: the resolution assumed for pages without a ``dpi`` (it
            sets the searchable PDF's page size).

    >>> writer = HocrWriter()                             # doctest: +SKIP
    >>> for prediction, image in pages:                   # doctest: +SKIP
    ...     writer.add_page(prediction, image)
    >>> Path("out.hocr").write_bytes(writer.finish())     # doctest: +SKIP
    """

    #: the format's name for ``--format``
    name = ""
    #: the file name suffix of the format
    extension = ""
    #: whether pages that could not be read (an ``error`` entry, no image) are written
    keeps_errors = False

    def __init__(self, default_dpi: float = 150.0):
        if not default_dpi > 0:
            raise ValueError(f"default_dpi must be positive; received {default_dpi!r}")
        self.default_dpi = float(default_dpi)
        self.pages: list[dict] = []

    def add_page(self, prediction: dict, image: np.ndarray | None = None) -> None:
        """Adds one page (its prediction, and its image where the format needs it)."""
        self.pages.append(prediction)

    def finish(self) -> bytes:
        """The encoded document of every page added."""
        raise NotImplementedError


__all__ = ["DocumentWriter"]
