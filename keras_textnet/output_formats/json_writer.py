"""The prediction JSON of ``FORMATS.md``."""

from __future__ import annotations

import json

from keras_textnet.output_formats.document_writer import DocumentWriter


class JsonWriter(DocumentWriter):
    """Prediction JSON: a document of one page is that page's object
    (``{"file", "source", "page", "width", "height", "words", "lines"}``), a
    longer one the prediction file ``{"images": [...]}`` that ``predict``
    writes. A page that could not be read keeps its ``error`` entry.
    """

    name = "json"
    extension = ".json"
    keeps_errors = True

    def finish(self) -> bytes:
        doc = self.pages[0] if len(self.pages) == 1 else {"images": self.pages}
        return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


__all__ = ["JsonWriter"]
