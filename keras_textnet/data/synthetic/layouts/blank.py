"""Pages without text: what a reader must answer with no words at all.

Blank sheets, uniform fills (white, grey, black, coloured), scanner noise, photographs
of paper, and pages holding only graphics (rules, frames, shapes, photos, unlabelled
charts). The degradations of the generator then add blur, noise, uneven light and JPEG,
as on any other page. Ground truth: no words, no lines.
"""

from __future__ import annotations

import numpy as np

from keras_textnet.data.synthetic.backgrounds import smooth_field
from keras_textnet.data.synthetic.layouts.common import Ctx, hsv
from keras_textnet.data.synthetic.layouts.figures import _photo, _placeholder


def _uniform(ctx: Ctx):
    r = ctx.rng.random()
    if r < 0.35:
        level = int(ctx.rng.integers(0, 40))                     # black or nearly
        color = (level, level, level)
    elif r < 0.65:
        level = int(ctx.rng.integers(40, 256))
        color = (level, level, level)
    else:
        color = tuple(int(v) for v in hsv(ctx.rng.random(), ctx.uniform(0.1, 0.9),
                                          ctx.uniform(0.1, 1.0)))
    ctx.canvas.image[...] = np.asarray(color, np.uint8)


def _noise(ctx: Ctx):
    h, w = ctx.height, ctx.width
    rng = ctx.rng
    mean = rng.uniform(30, 230)
    sigma = rng.uniform(5, 70)
    grain = rng.normal(mean, sigma, (h, w, 1)).astype(np.float32)
    if rng.random() < 0.5:                                       # salt and pepper
        speckle = rng.random((h, w, 1)) < rng.uniform(0.002, 0.05)
        grain[speckle] = rng.choice([0.0, 255.0])
    ctx.canvas.image[...] = np.clip(grain, 0, 255).astype(np.uint8)


def _paper_photo(ctx: Ctx):
    """A phone photo of an empty sheet: a tinted, unevenly lit field, a darker surround."""
    h, w = ctx.height, ctx.width
    rng = ctx.rng
    light = smooth_field(rng, h, w, cell=float(rng.uniform(150, 400)))
    light = 0.55 + 0.45 * (light - light.min()) / max(float(np.ptp(light)), 1e-6)
    tint = np.asarray(hsv(rng.uniform(0.05, 0.15), rng.uniform(0.0, 0.25),
                          rng.uniform(0.75, 1.0)), np.float32)
    page = light[..., None] * tint[None, None, :]
    if rng.random() < 0.6:                                       # the table around the sheet
        table = np.asarray(hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6)),
                           np.float32)
        x0, y0 = int(rng.uniform(0, 0.2) * w), int(rng.uniform(0, 0.2) * h)
        x1, y1 = w - int(rng.uniform(0, 0.2) * w), h - int(rng.uniform(0, 0.2) * h)
        surround = np.ones((h, w, 1), np.float32)
        surround[y0:y1, x0:x1] = 0.0
        page = page * (1 - surround) + light[..., None] * table * surround
    ctx.canvas.image[...] = np.clip(page, 0, 255).astype(np.uint8)


def _graphics(ctx: Ctx):
    rng = ctx.rng
    h, w = ctx.height, ctx.width
    for _ in range(int(rng.integers(1, 9))):
        kind = rng.random()
        x0, y0 = int(rng.uniform(0, 0.8) * w), int(rng.uniform(0, 0.8) * h)
        x1 = min(w, x0 + int(rng.uniform(0.1, 0.6) * w))
        y1 = min(h, y0 + int(rng.uniform(0.05, 0.5) * h))
        color = ctx.palette.rule if rng.random() < 0.5 else ctx.palette.accent
        if kind < 0.3:
            ctx.canvas.hline(x0, x1, y0, color, int(rng.integers(1, 4)),
                             dash=None if rng.random() < 0.7 else (4, 3))
        elif kind < 0.45:
            ctx.canvas.vline(x0, y0, y1, color, int(rng.integers(1, 3)))
        elif kind < 0.6:
            ctx.canvas.frame(x0, y0, x1, y1, color, int(rng.integers(1, 3)))
        elif kind < 0.7:
            ctx.canvas.fill_rect(x0, y0, x1, y1, color, alpha=ctx.uniform(0.1, 1.0))
        elif kind < 0.8:
            ctx.canvas.circle((x0 + x1) // 2, (y0 + y1) // 2, max(3, (y1 - y0) // 3), color,
                              filled=rng.random() < 0.5)
        elif kind < 0.9 and x1 - x0 >= 40 and y1 - y0 >= 30:
            _photo(ctx, x0, y0, x1, y1)
        else:
            _placeholder(ctx, x0, y0, x1, y1)


def layout_blank(ctx: Ctx):
    """A page with no text on it (see the module's docstring)."""
    kind = ctx.choice(["paper", "uniform", "noise", "paper_photo", "graphics"],
                      p=[0.2, 0.15, 0.35, 0.15, 0.15])
    if kind == "uniform":
        _uniform(ctx)
    elif kind == "noise":
        _noise(ctx)
    elif kind == "paper_photo":
        _paper_photo(ctx)
    elif kind == "graphics":
        _graphics(ctx)
