"""Reading user images of any kind into RGB uint8 arrays, with clear errors.

Handles grey, palette, RGBA / LA (composited over white, the usual paper),
16-bit and 32-bit integer greys (scaled to 8 bits), float images, CMYK JPEGs
and EXIF orientation; the pages of a multi-page TIFF one at a time
(:func:`probe_image` counts them). Refuses empty images and images larger than
``max_pixels`` with a message that says what to do.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

#: Images with more pixels than this are refused (about a 600 dpi A3 scan).
DEFAULT_MAX_PIXELS = 100_000_000


class ImageReadError(ValueError):
    """An image cannot be used; the message names the file and the reason."""


def _to_rgb(im, name) -> np.ndarray:
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = arr.max() if arr.size else 0.0
        if mode.startswith("I;16"):
            arr = arr / 257.0
        elif hi > 255:
            arr = arr * (255.0 / hi)
        elif mode == "F" and 0 < hi <= 1.0:
            arr = arr * 255.0
        grey = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    if mode != "RGB":
        im = im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    return np.asarray(im)


def _check_path(source) -> str:
    """The name to quote in messages; refuses missing, folder and empty files."""
    if isinstance(source, (bytes, bytearray)):
        return "<bytes>"
    name = str(source)
    path = Path(source)
    if not path.exists():
        raise ImageReadError(f"{name}: no such file")
    if path.is_dir():
        raise ImageReadError(f"{name}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageReadError(f"{name}: the file is empty")
    return name


def _is_multipage(im) -> bool:
    """Only TIFF frames are pages; the frames of a GIF or WebP are an animation."""
    return im.format == "TIFF" and getattr(im, "n_frames", 1) > 1


def read_image(source, max_pixels: int = DEFAULT_MAX_PIXELS, page: int = 1) -> np.ndarray:
    """An image as ``(H, W, 3)`` uint8 RGB.

    Args:
        source: a path, raw encoded bytes, or an array (``(H, W)``,
            ``(H, W, 1|3|4)``; uint8, uint16 or float in [0, 1]).
        max_pixels: refuse larger images (``ImageReadError``).
        page: which page of a multi-page TIFF (1-based; see :func:`probe_image`).

    Raises:
        ImageReadError: naming the file and what is wrong with it.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, max_pixels)
    name = _check_path(source)
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a clearer message
    try:
        fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        with Image.open(fp) as im:
            if page != 1:
                pages = getattr(im, "n_frames", 1) if _is_multipage(im) else 1
                if not 1 <= page <= pages:
                    raise ImageReadError(f"{name}: has no page {page} (it has {pages})")
                im.seek(page - 1)
                name = f"{name}, page {page}"
            w, h = im.size
            if w == 0 or h == 0:
                raise ImageReadError(f"{name}: the image is empty ({w}x{h} pixels)")
            if w * h > max_pixels:
                raise ImageReadError(
                    f"{name}: {w}x{h} is {w * h / 1e6:.0f} megapixels, more than the "
                    f"{max_pixels / 1e6:.0f} allowed; downscale it (e.g. to 300 dpi) first")
            im.load()
            im = ImageOps.exif_transpose(im)
            return np.ascontiguousarray(_to_rgb(im, name))
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageReadError(f"{name}: the image is damaged or truncated ({e})") from None


def probe_image(source) -> tuple[int, float | None]:
    """``(pages, dpi)`` of an image file or encoded bytes, without decoding its pixels.

    ``pages`` counts the pages of a multi-page TIFF (1 for every other image,
    animations included); ``dpi`` is the horizontal resolution the file
    states, or ``None`` when it states none.

    Raises:
        ImageReadError: as :func:`read_image` for a missing, empty or unknown file.
    """
    from PIL import Image, UnidentifiedImageError

    name = _check_path(source)
    try:
        fp = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        with Image.open(fp) as im:
            pages = im.n_frames if _is_multipage(im) else 1
            dpi = im.info.get("dpi")
    except UnidentifiedImageError:
        raise ImageReadError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageReadError(f"{name}: the image is damaged or truncated ({e})") from None
    try:
        dpi = float(dpi[0] if isinstance(dpi, (tuple, list)) else dpi)
    except (TypeError, ValueError, IndexError):
        dpi = None
    return int(pages), (dpi if dpi and math.isfinite(dpi) and dpi > 0 else None)


def _array_to_rgb(arr: np.ndarray, max_pixels: int) -> np.ndarray:
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
        raise ImageReadError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) or "
                             f"(H, W, 4); received shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageReadError(f"the image array is empty (shape {arr.shape})")
    if arr.shape[0] * arr.shape[1] > max_pixels:
        raise ImageReadError(f"the image array has {arr.shape[0] * arr.shape[1]} pixels, more "
                             f"than the {max_pixels} allowed")
    if arr.dtype == np.uint16:
        arr = (arr.astype(np.float64) / 257.0)
    elif np.issubdtype(arr.dtype, np.floating):
        arr = arr * 255.0 if arr.max(initial=0) <= 1.0 else arr
    arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=-1)
    if arr.shape[-1] == 4:
        alpha = arr[..., 3:4].astype(np.float32) / 255.0
        rgb = arr[..., :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.round(rgb).astype(np.uint8)
    return np.ascontiguousarray(arr)


__all__ = ["DEFAULT_MAX_PIXELS", "ImageReadError", "probe_image", "read_image"]
