"""Figures: photo-like placeholders and simple charts (bar, line, pie, scatter) with labels.

Chart marks are canvas obstacles, so tick labels and legends never touch them.
"""

from __future__ import annotations

import cv2
import numpy as np

from keras_textnet.data.synthetic.layouts.common import Ctx, fit, hsv, mix, text_line

FIGURE_KINDS = ("photo", "placeholder", "bar", "line", "pie", "scatter")


def series_colors(ctx: Ctx, n: int):
    h = ctx.rng.random()
    step = ctx.uniform(0.12, 0.35)
    sat = ctx.uniform(0.45, 0.85)
    return [hsv(h + i * step, sat, ctx.uniform(0.45, 0.85)) for i in range(n)]


def draw_figure(ctx: Ctx, x0: int, y0: int, x1: int, y1: int, kind: str | None = None) -> str:
    """Draws a figure inside ``[x0, x1) x [y0, y1)``; returns the kind drawn."""
    if kind is None:
        kind = ctx.choice(FIGURE_KINDS, p=[0.15, 0.1, 0.3, 0.2, 0.15, 0.1])
    w, h = x1 - x0, y1 - y0
    if w < 40 or h < 30:
        kind = "placeholder"
    {"photo": _photo, "placeholder": _placeholder, "bar": _bar_chart, "line": _line_chart,
     "pie": _pie_chart, "scatter": _scatter}[kind](ctx, int(x0), int(y0), int(x1), int(y1))
    return kind


def _photo(ctx: Ctx, x0, y0, x1, y1):
    """A photo-like picture: smooth colour field with soft blobs (an obstacle)."""
    w, h = x1 - x0, y1 - y0
    rng = ctx.rng
    small = rng.random((4, 5, 3), dtype=np.float32)
    base = np.array(hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.4, 0.9)), np.float32)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(base * 0.6 + img * 110.0 - 20, 0, 255)
    for _ in range(int(rng.integers(2, 7))):
        cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
        r = int(rng.integers(max(3, min(w, h) // 10), max(4, min(w, h) // 3)))
        col = tuple(float(v) for v in hsv(rng.random(), rng.uniform(0.2, 0.8),
                                          rng.uniform(0.2, 0.95)))
        cv2.circle(img, (cx, cy), r, col, -1, cv2.LINE_AA)
    img = cv2.GaussianBlur(img, (0, 0), max(1.0, min(w, h) / 40.0))
    ctx.canvas.fill_rect(x0, y0, x1, y1, (0, 0, 0), obstacle=True)
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(ctx.width, x1), min(ctx.height, y1)
    ctx.canvas.image[cy0:cy1, cx0:cx1] = img[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0].astype(np.uint8)
    if ctx.chance(0.5):
        ctx.canvas.frame(x0, y0, x1, y1, ctx.palette.rule, 1)


def _placeholder(ctx: Ctx, x0, y0, x1, y1):
    g = int(ctx.rng.integers(190, 235))
    ctx.canvas.fill_rect(x0, y0, x1, y1, (g, g, g), obstacle=True)
    if ctx.chance(0.6):
        c = (g - 60, g - 60, g - 60)
        ctx.canvas.polyline([(x0, y0), (x1 - 1, y1 - 1)], c, 1)
        ctx.canvas.polyline([(x1 - 1, y0), (x0, y1 - 1)], c, 1)


def _axes_font(ctx: Ctx):
    return ctx.font(ctx.heading.regular if ctx.chance(0.6) else ctx.body.regular,
                    max(ctx.min_xh, ctx.body_xh * ctx.uniform(0.8, 1.0)))


def _nice_ticks(vmax: float, n: int):
    raw = vmax / max(1, n)
    mag = 10 ** np.floor(np.log10(max(raw, 1e-9)))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    top = np.ceil(vmax / step - 1e-9) * step
    ticks = np.arange(0, top + step * 0.5, step)
    return ticks, step


def _fmt(v: float, step: float) -> str:
    if step >= 1 and float(v).is_integer():
        return f"{int(v):,}" if v >= 10000 else str(int(v))
    return f"{v:.1f}" if step >= 0.1 else f"{v:.2f}"


def _plot_frame(ctx: Ctx, x0, y0, x1, y1, vmax_hint: float):
    """Axes with y tick labels; returns (font, plot box, ticks, vmax, color)."""
    font = _axes_font(ctx)
    ticks, step = _nice_ticks(vmax_hint, ctx.randint(3, 6))
    vmax = float(ticks[-1]) if ticks[-1] > 0 else 1.0
    labels = [_fmt(t, step) for t in ticks]
    lab_w = max(font.length(s) for s in labels)
    px0 = int(x0 + lab_w + font.x_height * 1.2 + 4)
    py1 = int(y1 - (font.ascent + font.descent) - 6)
    py0 = int(y0 + font.ascent * 0.6 + 2)
    px1 = int(x1 - 4)
    if px1 - px0 < 30 or py1 - py0 < 20:
        return None
    axis = ctx.palette.ink if ctx.chance(0.6) else ctx.palette.muted
    grid = ctx.chance(0.5)
    for t, s in zip(ticks, labels):
        y = int(round(py1 - (py1 - py0) * t / vmax))
        if grid and t > 0:
            ctx.canvas.hline(px0 + 1, px1, y, mix(axis, ctx.palette.paper, 0.75), 1)
        ctx.canvas.rule(px0 - 4, y, px0, y + 1, axis)
        text_line(ctx, s, font, ctx.palette.ink, px0 - 6 - font.length(s) - 2,
                  y + font.x_height / 2)
    ctx.canvas.rule(px0, py0, px0 + 1, py1 + 1, axis)
    ctx.canvas.rule(px0, py1, px1, py1 + 1, axis)
    return font, (px0, py0, px1, py1), vmax, axis


def _category_labels(ctx: Ctx, n: int, font, slot: float):
    out = []
    kind = ctx.choice(["word", "year", "month", "quarter"])
    start = ctx.randint(1990, 2020)
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    m0 = ctx.randint(0, 11)
    for i in range(n):
        if kind == "year":
            s = str(start + i)
        elif kind == "month":
            s = months[(m0 + i) % 12]
        elif kind == "quarter":
            s = f"Q{i % 4 + 1}"
        else:
            s = ctx.text.word().capitalize()[:10]
        out.append(fit(font, s, slot - 4))
    return out


def _bar_chart(ctx: Ctx, x0, y0, x1, y1):
    n = ctx.randint(3, 9)
    vals = ctx.rng.uniform(0.1, 1.0, n) * 10 ** ctx.randint(0, 4)
    frame = _plot_frame(ctx, x0, y0, x1, y1, float(vals.max()))
    if frame is None:
        return _placeholder(ctx, x0, y0, x1, y1)
    font, (px0, py0, px1, py1), vmax, axis = frame
    slot = (px1 - px0 - 4) / n
    bw = slot * ctx.uniform(0.45, 0.8)
    colors = series_colors(ctx, n if ctx.chance(0.3) else 1)
    labels = _category_labels(ctx, n, font, slot)
    for i, v in enumerate(vals):
        cx = px0 + 4 + slot * (i + 0.5)
        top = py1 - (py1 - py0) * v / vmax
        ctx.canvas.rule(int(cx - bw / 2), int(top), int(cx + bw / 2), py1, colors[i % len(colors)])
        if labels[i]:
            text_line(ctx, labels[i], font, ctx.palette.ink, cx - font.length(labels[i]) / 2,
                      py1 + 4 + font.ascent)


def _line_chart(ctx: Ctx, x0, y0, x1, y1):
    n = ctx.randint(5, 14)
    k = ctx.randint(1, 3)
    scale = 10 ** ctx.randint(0, 3)
    series = np.cumsum(ctx.rng.normal(0, 1, (k, n)), axis=1)
    series = (series - series.min()) / max(1e-6, np.ptp(series)) * 0.85 + 0.1
    series *= scale
    frame = _plot_frame(ctx, x0, y0, x1, y1, float(series.max()))
    if frame is None:
        return _placeholder(ctx, x0, y0, x1, y1)
    font, (px0, py0, px1, py1), vmax, axis = frame
    colors = series_colors(ctx, k)
    xs = np.linspace(px0 + 6, px1 - 6, n)
    for s, c in zip(series, colors):
        ys = py1 - (py1 - py0) * s / vmax
        ctx.canvas.polyline(np.stack([xs, ys], 1), c, thickness=max(1, ctx.u(1.5)))
        if ctx.chance(0.5):
            for x, y in zip(xs, ys):
                ctx.canvas.circle(x, y, max(2, ctx.u(2.5)), c)
    slot = (px1 - px0) / n
    labels = _category_labels(ctx, n, font, slot * 2)
    step = 1 if font.length(max(labels, key=len)) < slot - 6 else 2
    for i in range(0, n, step):
        s = labels[i]
        text_line(ctx, s, font, ctx.palette.ink, xs[i] - font.length(s) / 2,
                  py1 + 4 + font.ascent)


def _scatter(ctx: Ctx, x0, y0, x1, y1):
    n = ctx.randint(15, 60)
    frame = _plot_frame(ctx, x0, y0, x1, y1, 100.0)
    if frame is None:
        return _placeholder(ctx, x0, y0, x1, y1)
    font, (px0, py0, px1, py1), vmax, axis = frame
    c = series_colors(ctx, 1)[0]
    xs = ctx.rng.uniform(px0 + 6, px1 - 6, n)
    slope = ctx.uniform(-0.8, 0.8)
    ys = np.clip((py0 + py1) / 2 + slope * (xs - (px0 + px1) / 2) + ctx.rng.normal(0, (py1 - py0)
                                                                                    / 6, n),
                 py0 + 4, py1 - 4)
    r = max(2, ctx.u(2.5))
    for x, y in zip(xs, ys):
        ctx.canvas.circle(x, y, r, c, filled=ctx.chance(0.8))


def _pie_chart(ctx: Ctx, x0, y0, x1, y1):
    n = ctx.randint(3, 6)
    font = _axes_font(ctx)
    vals = ctx.rng.uniform(0.2, 1.0, n)
    vals = vals / vals.sum()
    labels = [ctx.text.word().capitalize()[:12] for _ in range(n)]
    pct = [f"{v * 100:.0f}%" for v in vals]
    entries = [f"{a} ({b})" if ctx.chance(0.7) else a for a, b in zip(labels, pct)]
    legend_w = max(font.length(e) for e in entries) + font.x_height * 3
    w, h = x1 - x0, y1 - y0
    r = int(min(h / 2 - 4, (w - legend_w) / 2 - 8))
    if r < 15:
        return _placeholder(ctx, x0, y0, x1, y1)
    cx, cy = x0 + r + 4, y0 + h // 2
    colors = series_colors(ctx, n)
    start = ctx.uniform(0, 360)
    edge = ctx.palette.paper

    def draw(img, col, extra):
        a = start
        if img.ndim == 2:
            cv2.circle(img, (cx, cy), r + extra, col, -1)
            return
        for v, c in zip(vals, colors):
            cv2.ellipse(img, (cx, cy), (r, r), 0, a, a + v * 360, c, -1, cv2.LINE_AA)
            a += v * 360
        if ctx.chance(0.5):
            a = start
            for v in vals:
                t = np.deg2rad(a)
                cv2.line(img, (cx, cy), (int(cx + r * np.cos(t)), int(cy + r * np.sin(t))),
                         edge, 1, cv2.LINE_AA)
                a += v * 360

    ctx.canvas.shape(draw, (cx - r - 2, cy - r - 2, cx + r + 3, cy + r + 3), (0, 0, 0))
    lx = cx + r + 12
    p = int((font.ascent + font.descent) * 1.35)
    ly = cy - p * n / 2 + font.ascent
    for e, c in zip(entries, colors):
        s = int(font.x_height * 1.2)
        ctx.canvas.rule(lx, int(ly - s), lx + s, int(ly), c)
        text_line(ctx, e, font, ctx.palette.ink, lx + s + font.x_height, ly, x1 - lx - s - 8)
        ly += p
