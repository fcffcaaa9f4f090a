"""hOCR 1.2: the OCR result as XHTML (``ocr_page`` / ``ocr_carea`` / ``ocr_par`` /
``ocr_line`` / ``ocrx_word``), the format of Tesseract's ``hocr`` output."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.output_formats.page_layout import PageLayout
from keras_textnet.version import __version__

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
_DOCTYPE = ('<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">')


def _bbox(box) -> str:
    return "bbox {} {} {} {}".format(*box)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "/").replace('"', "'") + '"'


class HocrWriter(DocumentWriter):
    """hOCR: one ``ocr_page`` per page, a block (``ocr_carea`` holding one
    ``ocr_par``) per :class:`~keras_textnet.output_formats.page_layout.LayoutBlock`,
    ``ocr_line`` and ``ocrx_word`` elements in reading order.

    Every element's ``title`` holds its ``bbox x0 y0 x1 y1`` (image pixels,
    ``x1`` / ``y1`` exclusive, as Tesseract); a word adds ``x_wconf`` (its
    score, 0-100), a rotated line ``textangle`` (degrees, counter-clockwise),
    a page ``image`` (its source), ``ppageno`` (0-based) and ``scan_res``.
    """

    name = "hocr"
    extension = ".hocr"

    def finish(self) -> bytes:
        html = ET.Element("html", {"xmlns": XHTML_NAMESPACE, "xml:lang": "en", "lang": "en"})
        head = ET.SubElement(html, "head")
        ET.SubElement(head, "title").text = ""
        ET.SubElement(head, "meta", {"http-equiv": "Content-Type",
                                     "content": "text/html;charset=utf-8"})
        ET.SubElement(head, "meta", {"name": "ocr-system",
                                     "content": f"keras-textnet {__version__}"})
        ET.SubElement(head, "meta", {"name": "ocr-capabilities",
                                     "content": "ocr_page ocr_carea ocr_par ocr_line ocrx_word "
                                                "ocrp_wconf"})
        body = ET.SubElement(html, "body")
        for p, prediction in enumerate(self.pages, start=1):
            self._page(body, p, prediction)
        ET.indent(html, space=" ")
        text = ET.tostring(html, encoding="unicode", short_empty_elements=True)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + _DOCTYPE + "\n" + text
                + "\n").encode("utf-8")

    def _page(self, body, p: int, prediction: dict) -> None:
        layout = PageLayout.from_prediction(prediction)
        dpi = round(float(prediction.get("dpi") or self.default_dpi))
        source = str(prediction.get("source") or prediction.get("file") or "")
        title = (f"image {_quoted(source)}; {_bbox((0, 0, layout.width, layout.height))}; "
                 f"ppageno {p - 1}; scan_res {dpi} {dpi}")
        page = ET.SubElement(body, "div", {"class": "ocr_page", "id": f"page_{p}",
                                           "title": title})
        n_line = n_word = 0
        for b, block in enumerate(layout.blocks, start=1):
            area = ET.SubElement(page, "div", {"class": "ocr_carea", "id": f"block_{p}_{b}",
                                               "title": _bbox(block.box)})
            par = ET.SubElement(area, "p", {"class": "ocr_par", "id": f"par_{p}_{b}",
                                            "title": _bbox(block.box)})
            for line in block.lines:
                n_line += 1
                title = _bbox(line.box)
                if abs(line.angle) >= 0.5:
                    title += f"; textangle {line.angle:g}"
                span = ET.SubElement(par, "span", {"class": "ocr_line",
                                                   "id": f"line_{p}_{n_line}", "title": title})
                for word in line.words:
                    n_word += 1
                    w = ET.SubElement(span, "span", {
                        "class": "ocrx_word", "id": f"word_{p}_{n_word}",
                        "title": f"{_bbox(word.box)}; x_wconf {round(100 * word.score)}"})
                    w.text = word.text


__all__ = ["HocrWriter", "XHTML_NAMESPACE"]
