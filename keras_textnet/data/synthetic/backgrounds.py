"""Page backgrounds: solid, tinted, gradient, paper texture, grain, specks.

Textures are drawn at low resolution and resized, and grain comes from a fixed
noise bank cropped at random offsets, so a full page costs a few milliseconds.
Every function takes the page's ``numpy.random.Generator``; nothing touches a
global random state.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

#: Background kinds and their default sampling weights.
BACKGROUND_WEIGHTS = {
    "white": 0.30,
    "tinted": 0.16,
    "paper": 0.26,
    "gradient": 0.10,
    "grain": 0.12,
    "specks": 0.06,
}

_PAPER_TINTS = [
    (255, 255, 255), (252, 251, 247), (250, 248, 240), (247, 244, 233), (244, 240, 228),
    (240, 240, 240), (236, 238, 240), (245, 247, 250), (250, 245, 235), (238, 233, 220),
    (255, 253, 240), (243, 246, 243), (249, 242, 242), (232, 232, 228),
]


@functools.lru_cache(maxsize=1)
def noise_bank() -> np.ndarray:
    """A fixed ``(2048, 2048)`` int8 bank of N(0, 1) * 32 noise (same on every run)."""
    rng = np.random.default_rng(20190609)
    return np.clip(rng.standard_normal((2048, 2048), dtype=np.float32) * 32.0,
                   -127, 127).astype(np.int8)


def noise_field(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """``(height, width)`` int8 noise (std ~32): a random crop/flip of the bank."""
    bank = noise_bank()
    bh, bw = bank.shape
    if height > bh or width > bw:
        reps = (-(-height // bh), -(-width // bw))
        bank = np.tile(bank, reps)
        bh, bw = bank.shape
    y = int(rng.integers(0, bh - height + 1))
    x = int(rng.integers(0, bw - width + 1))
    out = bank[y:y + height, x:x + width]
    k = int(rng.integers(0, 4))
    if k & 1:
        out = out[::-1]
    if k & 2:
        out = out[:, ::-1]
    return out


def smooth_field(rng: np.random.Generator, height: int, width: int, cell: float = 96.0,
                 octaves: int = 2) -> np.ndarray:
    """Low-frequency noise in ``[0, 1]``, ``(height, width)`` float32."""
    acc = np.zeros((height, width), np.float32)
    total = 0.0
    amp = 1.0
    for o in range(octaves):
        c = cell / (2 ** o)
        gh = max(2, int(height / c) + 2)
        gw = max(2, int(width / c) + 2)
        g = rng.random((gh, gw), dtype=np.float32)
        acc += amp * cv2.resize(g, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    acc /= total
    lo, hi = float(acc.min()), float(acc.max())
    return (acc - lo) / max(hi - lo, 1e-6)


def paper_tint(rng: np.random.Generator) -> tuple[int, int, int]:
    return _PAPER_TINTS[int(rng.integers(len(_PAPER_TINTS)))]


def pastel(rng: np.random.Generator, max_saturation: float = 0.25) -> tuple[int, int, int]:
    """A light colour of random hue."""
    c = _hsv(rng.random(), rng.uniform(0.06, max_saturation), rng.uniform(0.94, 1.0))
    return tuple(int(round(v * 255)) for v in c)


def _hsv(h, s, v):
    import colorsys
    return colorsys.hsv_to_rgb(float(h), float(s), float(v))


def add_grain(image: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Adds grey grain of standard deviation ``sigma`` (in 0..255 units), in place."""
    n = noise_field(rng, image.shape[0], image.shape[1]).astype(np.int16)
    n = (n * int(round(sigma * 8))) >> 8
    image[...] = cv2.add(image, cv2.merge([n, n, n]), dtype=cv2.CV_8U)
    return image


def make_background(rng: np.random.Generator, height: int, width: int,
                    kind: str | None = None) -> tuple[np.ndarray, str]:
    """An ``(height, width, 3)`` uint8 RGB page background and the kind drawn.

    Args:
        kind: one of :data:`BACKGROUND_WEIGHTS` or ``None`` to sample one.
    """
    if kind is None:
        names = list(BACKGROUND_WEIGHTS)
        p = np.array([BACKGROUND_WEIGHTS[n] for n in names])
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
    if kind not in BACKGROUND_WEIGHTS:
        raise ValueError(f"Unknown background kind {kind!r}; expected one of "
                         f"{sorted(BACKGROUND_WEIGHTS)}.")
    if kind == "white":
        v = int(rng.integers(248, 256))
        img = np.full((height, width, 3), v, np.uint8)
    elif kind == "tinted":
        c = paper_tint(rng) if rng.random() < 0.6 else pastel(rng)
        img = np.empty((height, width, 3), np.uint8)
        img[...] = np.asarray(c, np.uint8)
    elif kind == "gradient":
        c0 = np.array(paper_tint(rng), np.float32)
        c1 = np.array(pastel(rng) if rng.random() < 0.5 else paper_tint(rng), np.float32)
        small = np.zeros((2, 2, 3), np.float32)
        corners = rng.permutation(4)
        for i, (y, x) in enumerate(((0, 0), (0, 1), (1, 0), (1, 1))):
            t = corners[i] / 3.0
            small[y, x] = c0 * (1 - t) + c1 * t
        img = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
        img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    else:
        base = np.array(paper_tint(rng), np.float32)
        img = np.empty((height, width, 3), np.uint8)
        img[...] = base.astype(np.uint8)[None, None, :]
        if kind == "paper":
            field = smooth_field(rng, height // 4 + 1, width // 4 + 1,
                                 cell=float(rng.uniform(20, 60)), octaves=3)
            amp = float(rng.uniform(6, 22))
            tint = np.array([1.0, 1.0, float(rng.uniform(1.0, 1.6))], np.float32)
            small = np.clip(base[None, None, :] - ((field - 0.5) * amp)[..., None] * tint, 0, 255)
            img = cv2.resize(small.astype(np.uint8), (width, height),
                             interpolation=cv2.INTER_LINEAR)
            # faint fibres
            for _ in range(int(rng.integers(0, 25))):
                x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
                ang = rng.uniform(0, np.pi)
                ln = rng.uniform(5, 40)
                x1, y1 = int(x0 + ln * np.cos(ang)), int(y0 + ln * np.sin(ang))
                d = int(rng.integers(4, 14))
                col = tuple(int(max(0, v - d)) for v in base)
                cv2.line(img, (x0, y0), (x1, y1), col, 1, cv2.LINE_AA)
            add_grain(img, rng, float(rng.uniform(1.0, 4.0)))
        elif kind == "grain":
            add_grain(img, rng, float(rng.uniform(2.0, 9.0)))
        elif kind == "specks":
            add_grain(img, rng, float(rng.uniform(1.0, 4.0)))
            n = int(rng.integers(20, 200))
            xs = rng.integers(0, width, n)
            ys = rng.integers(0, height, n)
            rs = rng.choice([1, 1, 1, 2], n)
            for x, y, r in zip(xs, ys, rs):
                g = int(rng.integers(90, 200))
                cv2.circle(img, (int(x), int(y)), int(r) - 1 if r > 1 else 0, (g, g, g), -1)
    return img, kind
