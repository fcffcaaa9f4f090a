"""ALTO v4 (Analyzed Layout and Text Object), the library and archive standard."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from keras_textnet.output_formats.document_writer import DocumentWriter
from keras_textnet.output_formats.page_layout import PageLayout
from keras_textnet.version import __version__

ALTO_NAMESPACE = "http://www.loc.gov/standards/alto/ns-v4#"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA = "http://www.loc.gov/standards/alto/v4/alto-4-2.xsd"


def _tag(name: str) -> str:
    return f"{{{ALTO_NAMESPACE}}}{name}"


def _position(box) -> dict[str, str]:
    x0, y0, x1, y1 = box
    return {"HPOS": str(x0), "VPOS": str(y0), "WIDTH": str(x1 - x0), "HEIGHT": str(y1 - y0)}


class AltoWriter(DocumentWriter):
    """ALTO 4.2: ``Description`` (unit ``pixel``, source file, the software),
    then one ``Page`` per page holding a ``PrintSpace`` with a ``TextBlock``
    per :class:`~keras_textnet.output_formats.page_layout.LayoutBlock`, its
    ``TextLine`` s and their ``String`` s (``CONTENT``, ``WC`` = the score in
    [0, 1]) separated by ``SP``.

    Positions are ``HPOS`` / ``VPOS`` (left, top) and ``WIDTH`` / ``HEIGHT``,
    whole image pixels.
    """

    name = "alto"
    extension = ".xml"

    def finish(self) -> bytes:
        ET.register_namespace("", ALTO_NAMESPACE)
        ET.register_namespace("xsi", _XSI)
        alto = ET.Element(_tag("alto"), {f"{{{_XSI}}}schemaLocation":
                                         f"{ALTO_NAMESPACE} {_SCHEMA}"})
        description = ET.SubElement(alto, _tag("Description"))
        ET.SubElement(description, _tag("MeasurementUnit")).text = "pixel"
        sources = list(dict.fromkeys(str(p.get("source") or p.get("file") or "")
                                     for p in self.pages))
        if len(sources) == 1 and sources[0]:
            info = ET.SubElement(description, _tag("sourceImageInformation"))
            ET.SubElement(info, _tag("fileName")).text = sources[0]
        processing = ET.SubElement(description, _tag("Processing"), {"ID": "OCR_0"})
        ET.SubElement(processing, _tag("processingCategory")).text = "contentGeneration"
        software = ET.SubElement(processing, _tag("processingSoftware"))
        ET.SubElement(software, _tag("softwareName")).text = "keras-textnet"
        ET.SubElement(software, _tag("softwareVersion")).text = __version__
        layout_el = ET.SubElement(alto, _tag("Layout"))
        for p, prediction in enumerate(self.pages, start=1):
            self._page(layout_el, p, prediction)
        ET.indent(alto, space=" ")
        text = ET.tostring(alto, encoding="unicode")
        return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")

    def _page(self, parent, p: int, prediction: dict) -> None:
        layout = PageLayout.from_prediction(prediction)
        page = ET.SubElement(parent, _tag("Page"), {
            "ID": f"page_{p}", "PHYSICAL_IMG_NR": str(p), "WIDTH": str(layout.width),
            "HEIGHT": str(layout.height)})
        space = ET.SubElement(page, _tag("PrintSpace"),
                              _position((0, 0, layout.width, layout.height)))
        n_line = n_word = 0
        for b, block in enumerate(layout.blocks, start=1):
            block_el = ET.SubElement(space, _tag("TextBlock"),
                                     {"ID": f"block_{p}_{b}", **_position(block.box)})
            for line in block.lines:
                n_line += 1
                line_el = ET.SubElement(block_el, _tag("TextLine"),
                                        {"ID": f"line_{p}_{n_line}", **_position(line.box)})
                for k, word in enumerate(line.words):
                    if k:
                        prev = line.words[k - 1].box
                        ET.SubElement(line_el, _tag("SP"), {
                            "WIDTH": str(max(0, word.box[0] - prev[2])), "HPOS": str(prev[2]),
                            "VPOS": str(min(prev[1], word.box[1]))})
                    n_word += 1
                    ET.SubElement(line_el, _tag("String"), {
                        "ID": f"string_{p}_{n_word}", **_position(word.box),
                        "CONTENT": word.text, "WC": f"{min(max(word.score, 0.0), 1.0):.4f}"})


__all__ = ["ALTO_NAMESPACE", "AltoWriter"]
