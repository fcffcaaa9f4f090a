"""Pictures of annotated images: boxes and transcriptions drawn over the page.

Colours: words green, ignored words red (hatched), lines blue. Each word's
transcription is printed just above its box on a white tag, so a reader can
check text and box at a glance.

>>> canvas = draw_record(image, record)                        # doctest: +SKIP
>>> sheet = contact_sheet([canvas1, canvas2], columns=2)       # doctest: +SKIP
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from keras_textnet.data.annotation import ImageRecord

WORD_COLOUR = (0, 170, 0)
IGNORE_COLOUR = (220, 0, 0)
LINE_COLOUR = (30, 90, 255)


@functools.lru_cache(maxsize=8)
def _label_font(size: int):
    from PIL import ImageFont
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    return ImageFont.truetype(str(path), size)


def _polygon(quad):
    return [tuple(float(c) for c in p) for p in quad]


def draw_record(image: np.ndarray, record: ImageRecord, *, words: bool = True,
                lines: bool = True, texts: bool = True, label_size: int | None = None,
                scale: float = 1.0) -> np.ndarray:
    """The image with the record's boxes (and texts) drawn on it.

    Args:
        image: ``(H, W, 3)`` RGB or ``(H, W)`` grey uint8, the image the record
            describes (boxes ``(x0, y0, x1, y1)`` in its pixels).
        record: the ground truth or predictions to draw.
        words, lines, texts: what to draw.
        label_size: text size of the transcriptions in pixels (default from
            the page size).
        scale: resize the picture first (boxes follow).

    Returns:
        ``(H * scale, W * scale, 3)`` uint8 RGB.
    """
    from PIL import Image, ImageDraw

    img = np.asarray(image)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    pil = Image.fromarray(img[..., :3].astype(np.uint8))
    if scale != 1.0:
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))),
                         Image.LANCZOS)
    # Lighten the page so that the drawing stands out.
    pil = Image.blend(pil, Image.new("RGB", pil.size, (255, 255, 255)), 0.25)
    overlay = Image.new("RGBA", pil.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    size = label_size or max(9, min(16, pil.height // 90))
    font = _label_font(size)

    def box_xy(box):
        x0, y0, x1, y1 = (float(v) * scale for v in box)
        return x0, y0, x1 - 1, y1 - 1

    if lines:
        for ln in record.lines_or_grouped_words():
            x0, y0, x1, y1 = box_xy(ln.box)
            draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), outline=LINE_COLOUR + (200,), width=1)
            if ln.quad is not None:
                draw.polygon([(x * scale, y * scale) for x, y in _polygon(ln.quad)],
                             outline=LINE_COLOUR + (255,))
    if words:
        for w in record.words:
            x0, y0, x1, y1 = box_xy(w.box)
            if w.ignore:
                draw.rectangle((x0, y0, x1, y1), outline=IGNORE_COLOUR + (255,),
                               fill=IGNORE_COLOUR + (50,))
                for x in np.arange(x0, x1, 6.0):
                    draw.line((x, y0, min(x1, x + (y1 - y0)), min(y1, y0 + (x1 - x))),
                              fill=IGNORE_COLOUR + (110,))
            else:
                draw.rectangle((x0, y0, x1, y1), outline=WORD_COLOUR + (255,))
    canvas = Image.alpha_composite(pil.convert("RGBA"), overlay)
    if words and texts:
        tdraw = ImageDraw.Draw(canvas)
        for w in record.words:
            if w.ignore:
                continue
            x0, y0, _, _ = box_xy(w.box)
            l, t, r, b = tdraw.textbbox((x0, y0 - 1), w.text, font=font, anchor="lb")
            tdraw.rectangle((l - 1, t - 1, r + 1, b), fill=(255, 255, 255, 230))
            tdraw.text((x0, y0 - 1), w.text, font=font, fill=(0, 110, 0, 255), anchor="lb")
    return np.asarray(canvas.convert("RGB"))


def contact_sheet(pictures: list[np.ndarray], columns: int = 3, cell_width: int = 600,
                  titles: list[str] | None = None, gap: int = 8) -> np.ndarray:
    """Tiles pictures into one sheet, each scaled to ``cell_width`` wide."""
    from PIL import Image, ImageDraw

    if not pictures:
        raise ValueError("contact_sheet needs at least one picture")
    cells = []
    for i, pic in enumerate(pictures):
        im = Image.fromarray(np.asarray(pic, np.uint8))
        h = max(1, round(im.height * cell_width / im.width))
        im = im.resize((cell_width, h), Image.LANCZOS)
        if titles:
            band = Image.new("RGB", (cell_width, 22), (40, 40, 40))
            ImageDraw.Draw(band).text((6, 4), titles[i], font=_label_font(13),
                                      fill=(255, 255, 255))
            full = Image.new("RGB", (cell_width, h + 22))
            full.paste(band, (0, 0))
            full.paste(im, (0, 22))
            im = full
        cells.append(im)
    rows = [cells[i:i + columns] for i in range(0, len(cells), columns)]
    row_heights = [max(c.height for c in row) for row in rows]
    width = columns * cell_width + (columns + 1) * gap
    height = sum(row_heights) + (len(rows) + 1) * gap
    sheet = Image.new("RGB", (width, height), (225, 225, 225))
    y = gap
    for row, rh in zip(rows, row_heights):
        for j, cell in enumerate(row):
            sheet.paste(cell, (gap + j * (cell_width + gap), y))
        y += rh + gap
    return np.asarray(sheet)


def save_rgb(path, image: np.ndarray) -> None:
    """Writes an RGB uint8 array (PNG/JPEG by suffix), creating folders."""
    import cv2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(np.asarray(image)[..., ::-1])):
        raise OSError(f"could not write {path}")


def load_rgb(path) -> np.ndarray:
    """Reads an image file as ``(H, W, 3)`` uint8 RGB: the pixels the network gets.

    ``keras_textnet.image_io.decode_image``, as inference and training decode
    (upright by EXIF, alpha over white, 16 bits scaled, CMYK, palettes), so the
    boxes drawn land where they were found or annotated. Raises
    ``ImageReadError`` (a ``ValueError``) naming the file when it cannot.
    """
    from keras_textnet.image_io import decode_image

    return decode_image(path)
