"""Reading user images of any kind into RGB uint8 arrays, with clear errors.

:func:`decode_image` is the one decoder of encoded images (a file, or its
bytes) for every path that gives pixels to the network or draws on them:
inference (:func:`read_image`, so ``TextNetPredictor``, ``InputDocument``,
evaluation and the benchmarks), the training pipeline and TFRecords (through
:func:`decode_image_tensor` inside tf.data) and drawing
(``keras_textnet.data.visualize.load_rgb``). The same file gives the same
pixels everywhere:

* EXIF orientation (all 8; also TIFF's own tag and XMP) is applied: the
  image comes out upright, as photo viewers show it;
* alpha (RGBA, LA, PA, palette and grey/RGB with a tRNS key) is composited
  over white, the usual paper: ``round((c * a + 255 * (255 - a)) / 255)``;
* 16-bit images (grey, RGB, RGBA, grey+alpha) are scaled to 8 bits as
  ``round(v / 257)`` (65535 -> 255), not truncated to their high byte;
  32-bit integer and float greys are stretched to their maximum;
* CMYK (Adobe JPEGs included), palette, 1-bit and grey become RGB;
* a multi-page TIFF is read one page at a time (:func:`probe_image` counts
  them).

Images larger than ``max_pixels`` are refused from their header, before
any pixel is decoded, with a message that says what to do. That check is our
own and local to our reads: Pillow's process-wide ``Image.MAX_IMAGE_PIXELS``
is left as it is (the headers are opened without Pillow's own check, which
would refuse large scans before ours could explain).
"""

from __future__ import annotations

import errno
import io
import math
import os
import stat
import struct

import numpy as np

#: Images with more pixels than this are refused (about a 600 dpi A3 scan).
DEFAULT_MAX_PIXELS = 100_000_000

_ORIENTATION_TAG = 0x0112


class ImageReadError(ValueError):
    """An image cannot be used; the message names the file and the reason."""


# ---------------------------------------------------------------------------
# Opening: the header only, without touching Pillow's global bomb limit
# ---------------------------------------------------------------------------

def _open(fp, filename: str = ""):
    """``PIL.Image.open(fp)`` without Pillow's decompression-bomb check.

    Pillow's check in ``Image.open`` compares the header's size with the
    process-wide ``Image.MAX_IMAGE_PIXELS``; our callers compare it with their
    own ``max_pixels`` right after this (before decoding), so instead of
    changing that global for everyone, this tries the registered format
    openers itself, in Pillow's order: only headers are parsed here.
    """
    from PIL import Image, UnidentifiedImageError

    opener = getattr(Image, "OPEN", None)
    if not isinstance(opener, dict) or not isinstance(getattr(Image, "ID", None), list):
        return Image.open(fp)  # an unknown Pillow: its own check stays in force
    fp.seek(0)
    prefix = fp.read(16)
    tried = set()
    for register in (Image.preinit, Image.init):
        register()
        for fmt in list(Image.ID):
            if fmt in tried or fmt not in opener:
                continue
            tried.add(fmt)
            factory, accept = opener[fmt]
            accepted = not accept or accept(prefix)
            if not accepted or isinstance(accepted, str):
                continue
            try:
                fp.seek(0)
                return factory(fp, filename)
            except (SyntaxError, IndexError, TypeError, struct.error):
                continue
    raise UnidentifiedImageError("cannot identify image file")


def _orientation(im) -> int:
    """The EXIF (or TIFF / XMP) orientation, 1..8, read from what the header holds.

    ``Image.Image.getexif`` is called as the base class has it: a PNG's own
    ``getexif`` decodes the whole image first when the header has no eXIf.
    """
    from PIL import Image

    try:
        value = int(Image.Image.getexif(im).get(_ORIENTATION_TAG, 1))
    except Exception:  # a broken EXIF block is not a broken image
        return 1
    return value if 1 <= value <= 8 else 1


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """``arr`` turned upright for an EXIF ``orientation`` (as ``ImageOps.exif_transpose``)."""
    if orientation == 2:
        return arr[:, ::-1]
    if orientation == 3:
        return arr[::-1, ::-1]
    if orientation == 4:
        return arr[::-1]
    if orientation == 5:
        return arr.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(arr, -1)
    if orientation == 7:
        return arr[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(arr, 1)
    return arr


# ---------------------------------------------------------------------------
# Pixels
# ---------------------------------------------------------------------------

def _over_white(rgba: np.ndarray) -> np.ndarray:
    """``(H, W, 4)`` uint8 composited over white, exactly rounded, as ``(H, W, 3)`` uint8."""
    a = rgba[..., 3:4].astype(np.uint32)
    c = rgba[..., :3].astype(np.uint32)
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def _to_8bit(arr16: np.ndarray) -> np.ndarray:
    """16-bit values scaled to 8 bits, ``round(v / 257)``: 65535 -> 255, 257 -> 1."""
    return ((arr16.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _rawmode(im) -> str:
    """How the file stores its pixels (e.g. ``"RGB;16B"``), from the first tile."""
    try:
        args = im.tile[0][3]
    except (AttributeError, IndexError, TypeError):
        return ""
    if isinstance(args, tuple):
        args = args[0] if args else ""
    return args if isinstance(args, str) else ""


def _stored_size(im) -> tuple[int, int]:
    """``(width, height)`` as the file stores the pixels, before any orientation.

    Pillow reports a TIFF's size already turned for orientations 5 to 8 (its
    TIFF loader applies the orientation itself).
    """
    if im.format == "TIFF":
        try:
            return int(im.tag_v2[256]), int(im.tag_v2[257])
        except (AttributeError, KeyError, TypeError, ValueError):
            pass
    return tuple(im.size)


def _colour16(data: bytes, page: int, size) -> np.ndarray | None:
    """A 16-bit RGB / RGBA / grey+alpha PNG or TIFF at full depth, ``(H, W, 3|4)`` uint16 RGB(A).

    Pillow has no 16-bit colour modes (it keeps only the high byte), so
    OpenCV reads these; ``None`` when it cannot (the caller then uses
    Pillow's 8 bits).
    """
    import cv2

    buf = np.frombuffer(data, np.uint8)
    flags = cv2.IMREAD_UNCHANGED
    if page == 1:
        arr = cv2.imdecode(buf, flags)
    else:
        ok, mats = cv2.imdecodemulti(buf, flags)
        arr = mats[page - 1] if ok and len(mats) >= page else None
    if (arr is None or arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] not in (3, 4)
            or (arr.shape[1], arr.shape[0]) != tuple(size)):
        return None
    return arr[..., [2, 1, 0, 3][:arr.shape[2]]]


def _to_rgb(im, data_of, page: int, orientation: int) -> np.ndarray:
    """The opened Pillow image ``im`` as ``(H, W, 3)`` uint8 RGB, upright."""
    mode = im.mode
    rawmode = _rawmode(im)
    if mode in ("RGB", "RGBA") and ";16" in rawmode and im.format in ("PNG", "TIFF"):
        deep = _colour16(data_of(), page, _stored_size(im))
        if deep is not None:
            deep = _to_8bit(deep)
            return _orient(_over_white(deep) if deep.shape[2] == 4 else deep, orientation)
    im.load()
    if im.format == "TIFF":
        # Pillow's TIFF loader turns the page itself (and drops the tag); older ones did not.
        orientation = _orientation(im)
    return _orient(_pillow_rgb(im, rawmode), orientation)


def _pillow_rgb(im, rawmode: str) -> np.ndarray:
    """The loaded Pillow image ``im`` as ``(H, W, 3)`` uint8 RGB."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N") or (mode == "I" and ";16" in rawmode):
        grey = _to_8bit(np.asarray(im).astype(np.uint16))
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        hi = arr.max() if arr.size else 0.0
        if hi > 255:
            arr = arr * (255.0 / hi)
        elif mode == "F" and 0 < hi <= 1.0:
            arr = arr * 255.0
        grey = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if mode in ("P", "L", "RGB", "1") and "transparency" in im.info:
        im = im.convert("RGBA")  # palette alpha, or a grey / RGB tRNS colour key
        mode = im.mode
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _over_white(np.asarray(im.convert("RGBA") if mode != "RGBA" else im))
    if mode != "RGB":
        im = im.convert("RGB")  # L, 1, P, CMYK, YCbCr, ...
    return np.asarray(im)


def check_input_path(source, error: type[ImageReadError] = ImageReadError) -> None:
    """Refuses, with one line naming it, a path that is not a regular file.

    Missing paths, broken links and link loops, folders, and non-regular files:
    a named pipe (FIFO) would block the read forever, a device such as
    ``/dev/zero`` would never end, a socket cannot be read at all.

    Raises:
        error: an :class:`ImageReadError` (or the subclass given) naming
            ``source`` and what it is.
    """
    try:
        st = os.stat(source)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise error(f"{source}: is a loop of symbolic links, not a file") from None
        if e.errno == errno.ENOENT and os.path.islink(source):
            raise error(f"{source}: is a broken symbolic link (to {os.readlink(source)!r}, "
                        "which does not exist)") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise error(f"{source}: no such file") from None
        raise error(f"{source}: cannot be read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{source}: is a folder, not an image or a PDF")
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "not a plain file")
        raise error(f"{source}: is {kind}, not a regular file; give an image or PDF file "
                    "(or - to read standard input)")


def _check_path(source) -> str:
    """The name to quote in messages; refuses what is not a non-empty regular file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageReadError("<bytes>: the file is empty")
        return "<bytes>"
    name = str(source)
    check_input_path(name)
    if os.stat(name).st_size == 0:
        raise ImageReadError(f"{name}: the file is empty")
    return name


def _is_multipage(im) -> bool:
    """Only TIFF frames are pages; the frames of a GIF or WebP are an animation."""
    return im.format == "TIFF" and getattr(im, "n_frames", 1) > 1


def _source_file(source):
    """``(file object, filename)`` of a path or encoded bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), ""
    return open(source, "rb"), str(source)


def _select_page(im, page: int, name: str) -> str:
    if page != 1:
        pages = getattr(im, "n_frames", 1) if _is_multipage(im) else 1
        if not 1 <= page <= pages:
            raise ImageReadError(f"{name}: has no page {page} (it has {pages})")
        im.seek(page - 1)
        name = f"{name}, page {page}"
    return name


def _check_size(im, name: str, max_pixels: int) -> None:
    w, h = im.size
    if w == 0 or h == 0:
        raise ImageReadError(f"{name}: the image is empty ({w}x{h} pixels)")
    if w * h > max_pixels:
        raise ImageReadError(
            f"{name}: {w}x{h} is {w * h / 1e6:.0f} megapixels, more than the "
            f"{max_pixels / 1e6:.0f} allowed; downscale it (e.g. to 300 dpi) first")


def _reading_errors(name: str, e: BaseException) -> ImageReadError | None:
    """Our message for an exception Pillow raised while reading ``name``."""
    from PIL import Image, UnidentifiedImageError

    if isinstance(e, UnidentifiedImageError):
        return ImageReadError(f"{name}: not an image (or a format Pillow cannot read)")
    if isinstance(e, Image.DecompressionBombError):
        return ImageReadError(f"{name}: too large for Pillow to decode ({e}); downscale it "
                              "(e.g. to 300 dpi) first")
    if isinstance(e, (OSError, SyntaxError, ValueError, EOFError, struct.error)):
        return ImageReadError(f"{name}: the image is damaged or truncated ({e})")
    return None


def decode_image(source, *, page: int = 1, max_pixels: int = DEFAULT_MAX_PIXELS,
                 name: str | None = None) -> np.ndarray:
    """An encoded image (a path or the file's bytes) as ``(H, W, 3)`` uint8 RGB, upright.

    The one decoder of the package (see the module doc for what it does with
    orientation, alpha, 16 bits, CMYK, palettes and pages); inside tf.data use
    :func:`decode_image_tensor`, which calls it.

    Args:
        source: a path, or the encoded bytes of an image file.
        page: which page of a multi-page TIFF (1-based; see :func:`probe_image`).
        max_pixels: refuse larger images, from their header (``ImageReadError``).
        name: what to call the image in messages (default: the path, or
            ``<bytes>``).

    Raises:
        ImageReadError: naming the file and what is wrong with it.
    """
    label = _check_path(source)
    name = name or label
    try:
        fp, filename = _source_file(source)
    except OSError as e:
        raise ImageReadError(f"{name}: cannot be read ({e.strerror or e})") from None
    with fp:
        try:
            im = _open(fp, filename)
            try:
                name = _select_page(im, page, name)
                _check_size(im, name, max_pixels)
                orientation = _orientation(im)

                def data_of():
                    fp.seek(0)
                    return fp.read()

                rgb = _to_rgb(im, data_of, page, orientation)
            finally:
                im.close()
        except ImageReadError:
            raise
        except Exception as e:
            error = _reading_errors(name, e)
            if error is None:
                raise
            raise error from None
    return np.ascontiguousarray(rgb)


def read_image(source, max_pixels: int = DEFAULT_MAX_PIXELS, page: int = 1) -> np.ndarray:
    """An image as ``(H, W, 3)`` uint8 RGB.

    Args:
        source: a path, raw encoded bytes (both through :func:`decode_image`),
            or an array (``(H, W)``, ``(H, W, 1|3|4)``; uint8, uint16 or float
            in [0, 1]).
        max_pixels: refuse larger images (``ImageReadError``).
        page: which page of a multi-page TIFF (1-based; see :func:`probe_image`).

    Raises:
        ImageReadError: naming the file and what is wrong with it.
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, max_pixels)
    return decode_image(source, page=page, max_pixels=max_pixels)


def decode_image_tensor(data, name="", max_pixels: int = DEFAULT_MAX_PIXELS):
    """:func:`decode_image` in a TensorFlow graph (tf.data map functions).

    Args:
        data: a scalar string tensor, the encoded image file.
        name: a scalar string tensor (or str) naming it in error messages.

    Returns:
        ``(H, W, 3)`` uint8 tensor, the very pixels :func:`read_image` gives.
        A file that cannot be used fails the step with ``InvalidArgumentError``
        carrying :class:`ImageReadError`'s message. The call runs Python
        (``tf.numpy_function``, marked stateless: the same bytes always give
        the same pixels), so it can run in tf.data's parallel map, but not in
        an exported graph.
    """
    import tensorflow as tf

    def decode(data, name):
        label = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        return decode_image(bytes(data), max_pixels=max_pixels, name=label or None)

    image = tf.numpy_function(decode, [data, tf.convert_to_tensor(name, tf.string)], tf.uint8,
                              stateful=False, name="decode_image")
    return tf.ensure_shape(image, [None, None, 3])


def image_size(source, page: int = 1) -> tuple[int, int]:
    """``(width, height)`` of the image :func:`decode_image` gives, from the header only.

    EXIF orientations 5 to 8 swap the file's stored width and height.

    Raises:
        ImageReadError: as :func:`decode_image` for a missing, empty, unknown
            or damaged file.
    """
    name = _check_path(source)
    fp, filename = _source_file(source)
    with fp:
        try:
            im = _open(fp, filename)
            try:
                name = _select_page(im, page, name)
                w, h = _stored_size(im)
                turned = _orientation(im) >= 5
            finally:
                im.close()
        except ImageReadError:
            raise
        except Exception as e:
            error = _reading_errors(name, e)
            if error is None:
                raise
            raise error from None
    return (h, w) if turned else (w, h)


def probe_image(source) -> tuple[int, float | None]:
    """``(pages, dpi)`` of an image file or encoded bytes, without decoding its pixels.

    ``pages`` counts the pages of a multi-page TIFF (1 for every other image,
    animations included); ``dpi`` is the horizontal resolution the file
    states, or ``None`` when it states none.

    Raises:
        ImageReadError: as :func:`read_image` for a missing, empty or unknown file.
    """
    name = _check_path(source)
    fp, filename = _source_file(source)
    with fp:
        try:
            im = _open(fp, filename)
            try:
                pages = im.n_frames if _is_multipage(im) else 1
                dpi = im.info.get("dpi")
            finally:
                im.close()
        except Exception as e:
            error = _reading_errors(name, e)
            if error is None:
                raise
            raise error from None
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
        return _over_white(arr)  # as decode_image does for files
    return np.ascontiguousarray(arr)


__all__ = ["DEFAULT_MAX_PIXELS", "ImageReadError", "check_input_path", "decode_image", "decode_image_tensor",
           "image_size", "probe_image", "read_image"]
