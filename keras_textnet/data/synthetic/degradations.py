"""Photometric degradations of a rendered page: what scanning, printing and photos do.

:func:`degrade` keeps the geometry: every effect maps an ``(H, W, 3)`` uint8 image to
one of the same shape and dtype, so ground-truth boxes stay valid. (The one
geometric effect, a final rescale, is part of the generator's page transform, where
the boxes follow it.) Each effect fires with its base probability times
``strength``; ``strength=0`` returns the image unchanged.

Effects, in the order applied: uneven illumination, low contrast, ink bleed,
grayscale, Gaussian blur, motion blur, down-then-up resampling, noise, JPEG.
"""

from __future__ import annotations

import cv2
import numpy as np

from keras_textnet.data.synthetic.backgrounds import noise_field, smooth_field
from keras_textnet.luminance import gray_image

#: effect name -> base probability at ``strength=1``.
EFFECT_PROBABILITIES = {
    "illumination": 0.30,
    "contrast": 0.20,
    "ink_bleed": 0.12,
    "grayscale": 0.15,
    "blur": 0.30,
    "motion_blur": 0.08,
    "resample": 0.20,
    "noise": 0.35,
    "jpeg": 0.35,
}


def _illumination(img, rng):
    h, w = img.shape[:2]
    small = smooth_field(rng, max(2, h // 32), max(2, w // 32), cell=float(rng.uniform(4, 12)),
                         octaves=1)
    # plus a directional ramp (light from one side)
    yy, xx = np.mgrid[0:small.shape[0], 0:small.shape[1]].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(ang) * xx / small.shape[1] + np.sin(ang) * yy / small.shape[0]
    ramp = (ramp - ramp.min()) / max(1e-6, float(np.ptp(ramp)))
    a = float(rng.uniform(0.05, 0.25))
    b = float(rng.uniform(0.0, 0.2))
    gain = 1.0 - a * small - b * ramp
    gain = cv2.resize(gain.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img * gain[..., None], 0, 255).astype(np.uint8)


def _contrast(img, rng):
    c = float(rng.uniform(0.45, 0.85))
    mid = float(rng.uniform(110, 200))
    lut = np.clip(mid + (np.arange(256, dtype=np.float32) - mid) * c, 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def _ink_bleed(img, rng):
    k = np.ones((2, 2), np.uint8)
    eroded = cv2.erode(img, k)
    a = float(rng.uniform(0.3, 0.7))
    out = cv2.addWeighted(img, 1 - a, eroded, a, 0)
    return cv2.GaussianBlur(out, (3, 3), 0.5)


def _grayscale(img, rng):
    return np.repeat(gray_image(img)[..., None], 3, axis=2)


def _blur(img, rng):
    s = float(rng.uniform(0.4, 1.3))
    return cv2.GaussianBlur(img, (0, 0), s)


def _motion_blur(img, rng):
    n = int(rng.integers(3, 6))
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(0, 180)), 1.0)
    k = cv2.warpAffine(k, rot, (n, n))
    k /= max(1e-6, float(k.sum()))
    return cv2.filter2D(img, -1, k)


def _resample(img, rng):
    h, w = img.shape[:2]
    f = float(rng.uniform(0.45, 0.85))
    small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))),
                       interpolation=cv2.INTER_AREA if rng.random() < 0.6 else cv2.INTER_LINEAR)
    inter = cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_CUBIC
    return cv2.resize(small, (w, h), interpolation=inter)


def _noise(img, rng):
    h, w = img.shape[:2]
    sigma = float(rng.uniform(2.0, 12.0))
    n = noise_field(rng, h, w).astype(np.int16)
    out = img.astype(np.int16)
    if rng.random() < 0.3:   # colour noise: a different crop per channel
        for c in range(3):
            out[..., c] += (noise_field(rng, h, w).astype(np.int16) * int(sigma * 8)) >> 8
    else:
        out += ((n * int(sigma * 8)) >> 8)[..., None]
    if rng.random() < 0.15:  # salt and pepper
        count = int(h * w * rng.uniform(0.0005, 0.003))
        ys = rng.integers(0, h, count)
        xs = rng.integers(0, w, count)
        out[ys, xs] = rng.choice(np.array([0, 255], np.int16), count)[:, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _jpeg(img, rng):
    q = int(rng.integers(25, 92))
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
    if not ok:
        return img
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


_EFFECTS = {
    "illumination": _illumination,
    "contrast": _contrast,
    "ink_bleed": _ink_bleed,
    "grayscale": _grayscale,
    "blur": _blur,
    "motion_blur": _motion_blur,
    "resample": _resample,
    "noise": _noise,
    "jpeg": _jpeg,
}


def degrade(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0,
            effects: dict[str, float] | None = None) -> tuple[np.ndarray, list[str]]:
    """Applies random photometric degradations; returns ``(image, names applied)``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB. Not modified.
        rng: the page's generator.
        strength: multiplies every probability (``0`` = nothing, values above 1
            make effects more frequent; probabilities are capped at 1).
        effects: ``{name: base probability}`` overriding :data:`EFFECT_PROBABILITIES`.

    Returns:
        An image of the same shape and dtype, and the list of effects applied.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"degrade expects an (H, W, 3) uint8 image; received {image.shape} "
                         f"{image.dtype}.")
    probs = dict(EFFECT_PROBABILITIES if effects is None else effects)
    unknown = set(probs) - set(_EFFECTS)
    if unknown:
        raise ValueError(f"Unknown degradation(s) {sorted(unknown)}; known: {sorted(_EFFECTS)}.")
    applied = []
    out = image
    if strength <= 0:
        return out.copy(), applied
    # Blur and motion blur rarely both; resampling already blurs.
    for name in _EFFECTS:
        p = probs.get(name, 0.0)
        u = rng.random()
        if u >= min(1.0, p * strength):
            continue
        if name == "motion_blur" and "blur" in applied:
            continue
        out = _EFFECTS[name](out, rng)
        applied.append(name)
    if out is image:
        out = image.copy()
    return np.ascontiguousarray(out, dtype=np.uint8), applied
