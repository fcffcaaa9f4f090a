"""Small multi-page documents made on the spot for the tests of read/predict inputs."""

import numpy as np
from PIL import Image


def make_pdf(path, pages=3, size=(288, 216)):
    """A PDF of ``pages`` pages, ``size`` points, each with a black bar as wide as its number.

    The bar of page ``p`` spans x 36 .. 36 + 36 p and y 54 .. 72 points from the top left.
    """
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=size)
    for p in range(1, pages + 1):
        c.rect(36, size[1] - 72, 36 * p, 18, stroke=0, fill=1)
        c.showPage()
    c.save()
    return path


def make_tiff(path, pages=3, size=(40, 60), dpi=None):
    """A multi-page greyscale TIFF, page ``p`` uniformly ``50 p``; ``size`` is ``(h, w)``."""
    frames = [Image.fromarray(np.full(size, 50 * p, np.uint8)) for p in range(1, pages + 1)]
    kwargs = {"dpi": (dpi, dpi)} if dpi else {}
    frames[0].save(path, save_all=True, append_images=frames[1:], **kwargs)
    return path
