"""Output formats of ``keras-textnet read --format``: text, JSON, hOCR, ALTO, TSV, PDF.

Each format is a :class:`DocumentWriter`: feed it pages (predictions, and
images for the PDF) with ``add_page``, get the document's bytes from
``finish``. :data:`WRITERS` maps ``--format`` names to them.
"""

from keras_textnet.output_formats.alto_writer import AltoWriter
from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.output_formats.hocr_writer import HocrWriter
from keras_textnet.output_formats.json_writer import JsonWriter
from keras_textnet.output_formats.page_layout import PageLayout
from keras_textnet.output_formats.searchable_pdf_writer import SearchablePdfWriter
from keras_textnet.output_formats.text_writer import TextWriter, page_text
from keras_textnet.output_formats.tsv_writer import TSV_COLUMNS, TsvWriter

#: ``--format`` name -> writer class.
WRITERS = {cls.name: cls for cls in (TextWriter, JsonWriter, HocrWriter, AltoWriter, TsvWriter,
                                     SearchablePdfWriter)}

__all__ = ["AltoWriter", "DocumentWriter", "HocrWriter", "JsonWriter", "PageLayout",
           "SearchablePdfWriter", "TSV_COLUMNS", "TextWriter", "TsvWriter", "WRITERS",
           "page_text"]
