"""Slides, dense reference cards, and code listings."""

from __future__ import annotations

import re

from keras_textnet.data.synthetic.layouts.business import _value_text
from keras_textnet.data.synthetic.layouts.common import (
    Ctx,
    Flow,
    bullet_mark,
    draw_words,
    fit,
    hsv,
    mix,
    paragraph,
    pitch,
    text_line,
    wrap,
)
from keras_textnet.data.synthetic.layouts.figures import draw_figure
from keras_textnet.data.synthetic.layouts.prose import (
    caption_text,
    fill_flow,
    flow_list,
    page_frame,
)
from keras_textnet.data.synthetic.layouts.tables import draw_table

# ---------------------------------------------------------------------------
# Slides
# ---------------------------------------------------------------------------


def layout_slide(ctx: Ctx) -> None:
    """A presentation slide: coloured bars, big title, bullets, maybe a chart; often dark."""
    pal = ctx.palette
    W, H = ctx.width, ctx.height
    dark = ctx.chance(0.35)
    if dark:
        c0 = pal.dark
        c1 = mix(pal.dark, (0, 0, 0), ctx.uniform(0.0, 0.5))
        ctx.canvas.fill_gradient(0, 0, W, H, c0, c1, vertical=ctx.chance(0.5))
        text_col = pal.on_dark
        title_col = pal.on_dark if ctx.chance(0.6) else hsv(ctx.rng.random(), 0.4, 1.0)
    else:
        text_col = pal.ink
        title_col = pal.accent if ctx.chance(0.5) else pal.ink
    m = int(W * ctx.uniform(0.05, 0.09))
    x0, x1 = m, W - m
    y = int(H * ctx.uniform(0.04, 0.08))
    title_xh = ctx.min_xh * ctx.uniform(2.0, 4.0)
    tf = ctx.font(ctx.heading.get(bold=ctx.chance(0.7)), title_xh)
    title = ctx.text.title(8)
    lines = wrap(tf, title.split(), x1 - x0)[:2]
    style = ctx.choice(["bar", "plain", "side", "underline"]) if not dark else \
        ctx.choice(["plain", "underline"])
    th = pitch(tf, 1.1) * len(lines)
    if style == "bar":
        pad = ctx.u(ctx.uniform(12, 24))
        ctx.canvas.fill_rect(0, 0, W, y + th + pad, pal.dark if ctx.chance(0.5) else pal.accent)
        tcol = pal.on_dark
    else:
        tcol = title_col
    if style == "side":
        ctx.canvas.fill_rect(0, 0, ctx.u(ctx.uniform(10, 30)), H, pal.accent)
    base = y + tf.ascent
    center = ctx.chance(0.25)
    for ws in lines:
        draw_words(ctx, ws, tf, tcol, x0, base, x1 - x0, "center" if center else "left")
        base += pitch(tf, 1.1)
    y = int(base - pitch(tf, 1.1) + tf.descent + ctx.u(ctx.uniform(8, 14)))
    if style == "bar":
        y += ctx.u(24)
    if style == "underline":
        ctx.canvas.rule(x0, y, x0 + int((x1 - x0) * ctx.uniform(0.2, 1.0)), y + ctx.u(3),
                        pal.accent if not dark else pal.on_dark)
        y += ctx.u(16)
    # footer
    fy = H - int(H * ctx.uniform(0.03, 0.06))
    ff = ctx.font(ctx.body.regular, ctx.min_xh * ctx.uniform(1.0, 1.3))
    num = str(ctx.randint(1, 60))
    text_line(ctx, num, ff, text_col, x1 - ff.length(num), fy)
    if ctx.chance(0.6):
        text_line(ctx, ctx.choice([ctx.text.company, lambda: "Confidential", ctx.text.date])(),
                  ff, text_col if dark else pal.muted, x0, fy, (x1 - x0) * 0.6)
    bottom = fy - ff.ascent - ctx.u(20)
    if ctx.chance(0.4):
        ctx.canvas.hline(x0, x1, int(fy - ff.ascent - ctx.u(10)), mix(text_col, pal.paper, 0.5)
                         if not dark else mix(text_col, pal.dark, 0.5), 1)
    # body
    split = ctx.chance(0.4) and (x1 - x0) > ctx.u(400)
    bx1 = int(x0 + (x1 - x0) * ctx.uniform(0.5, 0.6)) if split else x1
    bf = ctx.font(ctx.body.get(), ctx.min_xh * ctx.uniform(1.3, 2.3))
    bf2 = ctx.font(ctx.body.get(), max(ctx.min_xh, bf.x_height / ctx.unit * 0.85))
    kind = ctx.choice(["disc", "square", "dash", "arrow", "number"])
    bcol = pal.accent if not dark and ctx.chance(0.5) else text_col
    item = 0
    number = 0
    while y < bottom:
        level2 = item > 0 and ctx.chance(0.3)
        f = bf2 if level2 else bf
        ind = ctx.u(30) if level2 else 0
        hang = f.x_height * 2.2 if kind != "number" else f.length("00. ")
        words = ctx.text.sentence(3, 14 if not level2 else 9).rstrip(".").split()
        lines = wrap(f, words, bx1 - x0 - ind - hang)[:3]
        p = pitch(f, ctx.uniform(1.15, 1.35))
        need = p * len(lines)
        if y + need > bottom:
            break
        base = y + f.ascent
        if kind == "number" and not level2:
            item += 1
            number += 1
            text_line(ctx, f"{number}.", f, bcol, x0 + ind, base)
        else:
            item += 1
            bullet_mark(ctx, kind if not level2 else "dash", x0 + ind, base, f, bcol)
        for ws in lines:
            draw_words(ctx, ws, f, text_col, x0 + ind + hang, base)
            base += p
        y = int(base - p + f.descent + ctx.u(ctx.uniform(8, 20)))
    if split:
        fx0 = bx1 + ctx.u(30)
        fy0 = int(H * 0.25)
        fy1 = min(int(bottom), fy0 + int((x1 - fx0) * ctx.uniform(0.6, 1.0)))
        if fy1 - fy0 > ctx.u(60):
            if dark:
                ctx.canvas.fill_rect(fx0 - ctx.u(8), fy0 - ctx.u(8), x1 + ctx.u(8), fy1 + ctx.u(8),
                                     (250, 250, 250))
            draw_figure(ctx, fx0, fy0, x1, fy1)


# ---------------------------------------------------------------------------
# Reference cards
# ---------------------------------------------------------------------------

def layout_reference_card(ctx: Ctx) -> None:
    """A dense cheat sheet: many small-type boxes of key/description entries."""
    pal = ctx.palette
    W, H = ctx.width, ctx.height
    m = int(W * ctx.uniform(0.02, 0.05))
    x0, x1, top, bottom = m, W - m, m, H - m
    tf = ctx.heading_font(ctx.uniform(1.6, 2.4))
    tpad = ctx.u(ctx.uniform(6, 12))
    title = fit(tf, ctx.text.title(6) + ctx.choice([" Quick Reference", " Cheat Sheet", "",
                                                    " Reference Card"]), x1 - x0 - 2 * tpad)
    if ctx.chance(0.6):
        ctx.canvas.fill_rect(x0, top, x1, top + tf.ascent + tf.descent + 2 * tpad, pal.dark)
        text_line(ctx, title, tf, pal.on_dark, x0 + tpad, top + tpad + tf.ascent)
    else:
        text_line(ctx, title, tf, pal.accent, x0, top + tpad + tf.ascent)
    y_top = top + tf.ascent + tf.descent + 2 * tpad + ctx.u(8)
    n_cols = max(1, min(4, int((x1 - x0) / ctx.u(ctx.uniform(170, 260)))))
    gap = ctx.u(ctx.uniform(6, 14))
    cw = ((x1 - x0) - gap * (n_cols - 1)) / n_cols
    small = ctx.min_xh * ctx.uniform(1.0, 1.25)
    kf = ctx.font(ctx.mono.get(bold=ctx.chance(0.5)) if ctx.chance(0.6) else ctx.body.bold, small)
    df = ctx.font(ctx.body.regular, small)
    hf = ctx.font(ctx.heading.bold, small * ctx.uniform(1.1, 1.4))
    header_style = ctx.choice(["fill", "light", "text"])
    frame = ctx.chance(0.7)
    zebra = ctx.chance(0.3)
    p = pitch(df, ctx.uniform(1.1, 1.3))
    key_kind = ctx.choice(["shortcut", "code", "word"])
    for c in range(n_cols):
        bx0 = int(x0 + c * (cw + gap))
        bx1 = int(bx0 + cw)
        y = y_top
        while bottom - y > ctx.u(50):
            pad = ctx.u(ctx.uniform(3, 6))
            hh = hf.ascent + hf.descent + 2 * pad
            n = ctx.randint(3, 14)
            avail = int((bottom - y - hh - 2 * pad) // p)
            n = min(n, avail)
            if n < 2:
                break
            by1 = y + hh + n * p + 2 * pad
            if header_style == "fill":
                ctx.canvas.fill_rect(bx0, y, bx1, y + hh,
                                     pal.accent if ctx.chance(0.6) else pal.dark)
                hcol = pal.on_dark
            elif header_style == "light":
                ctx.canvas.fill_rect(bx0, y, bx1, y + hh, pal.light)
                hcol = pal.ink
            else:
                hcol = pal.accent
            text_line(ctx, ctx.text.title(4), hf, hcol, bx0 + pad * 2, y + pad + hf.ascent,
                      cw - 4 * pad)
            key_w = cw * ctx.uniform(0.3, 0.45)
            base = y + hh + pad + df.ascent + (p - df.ascent - df.descent) // 2
            for i in range(n):
                if zebra and i % 2:
                    ctx.canvas.fill_rect(bx0 + 1, base - df.ascent - 1, bx1 - 1,
                                         base + df.descent + 1, mix(pal.light, pal.paper, 0.5))
                for _ in range(4):
                    key = _key_text(ctx, key_kind)
                    if kf.length(key) <= key_w - pad * 2:
                        break
                text_line(ctx, fit(kf, key, key_w - pad * 2), kf, pal.ink, bx0 + pad * 2, base)
                desc = ctx.text.sentence(1, 6).rstrip(".!?:")
                text_line(ctx, desc, df, pal.ink, bx0 + pad * 2 + key_w, base,
                          cw - key_w - pad * 4)
                base += p
            if frame:
                ctx.canvas.frame(bx0, y, bx1, by1, pal.rule, 1)
            y = by1 + gap


def _key_text(ctx: Ctx, kind: str) -> str:
    if kind == "shortcut":
        mods = ["Ctrl", "Alt", "Shift", "Cmd", "Ctrl+Shift", "Alt+Shift"]
        keys = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + ["F1", "F5", "F12", "Tab", "Enter",
                                                              "Esc", "Home", "End", "PgUp", "Del"]
        if ctx.chance(0.2):
            return ctx.choice(keys)
        return f"{ctx.choice(mods)}+{ctx.choice(keys)}"
    if kind == "code":
        s = ctx.text.code_line()
        return s.split(" ")[0][:18]
    return ctx.text.word()


# ---------------------------------------------------------------------------
# Code listings
# ---------------------------------------------------------------------------

_KEYWORDS = set("""def class return if elif else for while in import from as with try except
finally raise lambda yield async await pass break continue not and or is None True False
function const let var new this typeof instanceof switch case default do void int char float
double long unsigned struct typedef static extern include define public private protected
SELECT FROM WHERE JOIN LEFT RIGHT INNER ON GROUP BY ORDER INSERT INTO VALUES UPDATE SET DELETE
CREATE TABLE AND OR NOT NULL AS LIMIT echo export fi then done local""".split())
_NUMBER = re.compile(r"^-?\d[\d._]*[,;)]*$")


def _token_color(tok: str, theme: dict, state: dict):
    if state.get("comment"):
        return theme["comment"]
    if tok.startswith(("#", "//", "--")) and not tok.startswith("#include"):
        state["comment"] = True
        return theme["comment"]
    core = tok.strip("(){}[],;:.")
    if core in _KEYWORDS:
        return theme["keyword"]
    if tok[:1] in "\"'`":
        return theme["string"]
    if _NUMBER.match(tok):
        return theme["number"]
    return theme["text"]


def code_listing(ctx: Ctx, x0: int, y0: int, x1: int, max_y: int, numbers: bool | None = None
                 ) -> int:
    """A shaded monospace listing with optional line numbers; returns its bottom."""
    pal = ctx.palette
    dark = ctx.chance(0.3)
    f = ctx.mono_font(ctx.uniform(0.85, 1.05))
    if dark:
        bg = ctx.choice([(30, 30, 36), (40, 44, 52), (39, 40, 34), (0, 43, 54), (25, 25, 25)])
        theme = {"text": (220, 220, 215), "keyword": (249, 100, 140), "string": (230, 219, 116),
                 "number": (174, 129, 255), "comment": (140, 150, 140), "lineno": (130, 130, 130)}
    else:
        bg = ctx.choice([(246, 248, 250), (245, 245, 245), (250, 248, 240), (240, 243, 246),
                         pal.paper])
        theme = {"text": pal.ink,
                 "keyword": ctx.choice([(0, 0, 160), (160, 30, 90), (120, 40, 140)]),
                 "string": ctx.choice([(20, 120, 30), (160, 60, 20)]),
                 "number": (20, 100, 140), "comment": (110, 120, 110), "lineno": (140, 140, 140)}
        if ctx.chance(0.3):   # monochrome listing
            theme = {k: (pal.ink if k != "lineno" else v) for k, v in theme.items()}
    numbers = ctx.chance(0.6) if numbers is None else numbers
    pad = ctx.u(ctx.uniform(6, 12))
    p = pitch(f, ctx.uniform(1.15, 1.4))
    n_lines = int((max_y - y0 - 2 * pad) // p)
    if n_lines < 2:
        return y0
    lines = ctx.text.code_block(3, max(3, min(n_lines, ctx.randint(6, 40))))[:n_lines]
    y1 = y0 + 2 * pad + p * len(lines)
    ctx.canvas.fill_rect(x0, y0, x1, y1, bg)
    if ctx.chance(0.4):
        ctx.canvas.frame(x0, y0, x1, y1, mix(bg, (0, 0, 0), 0.25), 1)
    start = ctx.randint(1, 300) if ctx.chance(0.3) else 1
    gutter = f.length(str(start + len(lines))) + ctx.u(10) if numbers else 0
    if numbers and ctx.chance(0.5):
        ctx.canvas.vline(int(x0 + pad + gutter - ctx.u(5)), y0 + 1, y1 - 1,
                         mix(bg, theme["lineno"], 0.5), 1)
    cx = x0 + pad + gutter + (ctx.u(4) if numbers else 0)
    base = y0 + pad + f.ascent + (p - f.ascent - f.descent) // 2
    char_w = f.length("0")
    for k, (indent, text) in enumerate(lines):
        if numbers:
            s = str(start + k)
            text_line(ctx, s, f, theme["lineno"], x0 + pad + gutter - ctx.u(10) - f.length(s), base)
        lid = ctx.canvas.new_line()
        state = {}
        pos = 0
        avail = x1 - pad - cx - indent * char_w
        text = text if f.length(text) <= avail else fit(f, text, avail)
        for tok in text.split(" "):
            if tok:
                ctx.canvas.place_word(tok, int(round(cx + (indent + pos) * char_w)), int(base), f,
                                      _token_color(tok, theme, state), lid,
                                      max_x1=int(x1 - pad // 2))
            pos += len(tok) + 1
        base += p
    return int(y1)


def layout_code(ctx: Ctx) -> None:
    """Technical documentation: headings, prose, and code listings."""
    x0, x1, top, bottom = page_frame(ctx, header_p=0.5, footer_p=0.6)
    y = top
    hf = ctx.heading_font(ctx.uniform(1.3, 2.0))
    bf = ctx.body_font()
    while bottom - y > ctx.u(60):
        if ctx.chance(0.5):
            t = ctx.text.title(6)
            text_line(ctx, t, hf, ctx.palette.accent if ctx.chance(0.4) else ctx.palette.ink, x0,
                      y + hf.ascent, x1 - x0)
            y += hf.ascent + hf.descent + ctx.u(10)
        if ctx.chance(0.8):
            y = int(paragraph(ctx, ctx.text.paragraph(1, 3), bf, ctx.palette.ink, x0, y, x1 - x0,
                              ctx.choice(["left", "justify"]), max_y=bottom) + ctx.u(12))
        if bottom - y < ctx.u(50):
            break
        limit = min(bottom, y + int((bottom - y) * ctx.uniform(0.4, 1.0)))
        y = code_listing(ctx, x0 + (ctx.u(ctx.uniform(0, 20)) if ctx.chance(0.3) else 0), y, x1,
                         limit) + ctx.u(ctx.uniform(12, 24))


# ---------------------------------------------------------------------------
# Mixed pages: stacked blocks
# ---------------------------------------------------------------------------

def callout(ctx: Ctx, x0: int, y0: int, x1: int, max_y: int) -> int:
    """A light-on-dark (or tinted) panel with a heading and text; returns its bottom."""
    pal = ctx.palette
    darkpanel = ctx.chance(0.6)
    bg = pal.dark if darkpanel else pal.light
    fg = pal.on_dark if darkpanel else pal.ink
    pad = ctx.u(ctx.uniform(8, 16))
    hf = ctx.heading_font(ctx.uniform(1.1, 1.5))
    bf = ctx.body_font(ctx.uniform(0.9, 1.1))
    words = ctx.text.paragraph(1, 3).split()
    lines = wrap(bf, words, x1 - x0 - 2 * pad)
    p = pitch(bf, 1.3)
    room = max_y - y0 - 2 * pad - hf.ascent - hf.descent - ctx.u(6)
    n = max(0, min(len(lines), int(room // p)))
    if n < 1:
        return y0
    y1 = y0 + 2 * pad + hf.ascent + hf.descent + ctx.u(6) + n * p
    ctx.canvas.fill_rect(x0, y0, x1, y1, bg)
    if not darkpanel and ctx.chance(0.5):
        ctx.canvas.rule(x0, y0, x0 + ctx.u(4), y1, pal.accent)
    text_line(ctx, ctx.text.title(5), hf, fg, x0 + pad, y0 + pad + hf.ascent, x1 - x0 - 2 * pad)
    base = y0 + pad + hf.ascent + hf.descent + ctx.u(6) + bf.ascent
    for i, ws in enumerate(lines[:n]):
        draw_words(ctx, ws, bf, fg, x0 + pad, base, x1 - x0 - 2 * pad, "left")
        base += p
    return int(y1)


def key_values(ctx: Ctx, x0: int, y0: int, x1: int, max_y: int) -> int:
    """Label: value pairs in two aligned columns (a spec sheet); returns the bottom."""
    pal = ctx.palette
    lf = ctx.body_font(ctx.uniform(0.9, 1.05), bold=ctx.chance(0.6))
    vf = ctx.body_font(ctx.uniform(0.9, 1.05))
    p = pitch(vf, ctx.uniform(1.3, 1.7))
    n = min(ctx.randint(3, 12), int((max_y - y0) // p))
    kw = (x1 - x0) * ctx.uniform(0.3, 0.45)
    base = y0 + lf.ascent
    zebra = ctx.chance(0.3)
    for i in range(n):
        if zebra and i % 2 == 0:
            ctx.canvas.fill_rect(x0, base - lf.ascent - ctx.u(2), x1, base + lf.descent + ctx.u(2),
                                 mix(pal.light, pal.paper, 0.4))
        lab = ctx.text.form_label()
        text_line(ctx, lab, lf, pal.ink, x0 + ctx.u(4), base, kw - ctx.u(10))
        text_line(ctx, _value_text(ctx, lab), vf, pal.ink, x0 + kw, base, x1 - x0 - kw - ctx.u(4))
        base += p
    return int(base - p + lf.descent) if n else y0


def layout_mixed(ctx: Ctx) -> None:
    """A page of stacked heterogeneous blocks (brochure / dashboard / newsletter)."""
    x0, x1, top, bottom = page_frame(ctx, header_p=0.5, footer_p=0.5)
    two = ctx.chance(0.45) and (x1 - x0) > ctx.u(500)
    gap = ctx.u(ctx.uniform(16, 30))
    cols = [(x0, x1)] if not two else [(x0, (x0 + x1 - gap) // 2), ((x0 + x1 + gap) // 2, x1)]
    if two and ctx.chance(0.4):   # unequal columns (sidebar)
        s = int(x0 + (x1 - x0) * ctx.uniform(0.28, 0.38))
        cols = [(x0, s - gap // 2), (s + gap // 2, x1)] if ctx.chance(0.5) else \
            [(x0, x1 - (s - x0) - gap // 2), (x1 - (s - x0) + gap // 2, x1)]
    for cx0, cx1 in cols:
        y = top
        while bottom - y > ctx.u(40):
            kind = ctx.choice(["text", "table", "figure", "callout", "kv", "code", "list"],
                              p=[0.3, 0.15, 0.12, 0.12, 0.12, 0.07, 0.12])
            limit = min(bottom, y + int((bottom - y) * ctx.uniform(0.35, 0.9)))
            if limit - y < ctx.u(40):
                limit = bottom
            if kind == "text":
                flow = Flow(ctx, [(cx0, cx1)], y, limit)
                fill_flow(ctx, flow, figures=False, max_paragraphs=ctx.randint(1, 3))
                ny = flow.y
            elif kind == "table":
                ny = draw_table(ctx, cx0, y, cx1, limit, max_rows=ctx.randint(2, 10))
            elif kind == "figure":
                h = min(limit - y, int((cx1 - cx0) * ctx.uniform(0.4, 0.7)))
                if h < ctx.u(50):
                    ny = y
                else:
                    draw_figure(ctx, cx0, y, cx1, y + h)
                    cf = ctx.body_font(0.9, italic=ctx.chance(0.4))
                    ny = paragraph(ctx, caption_text(ctx, "figure", ctx.randint(1, 9)), cf,
                                   ctx.palette.ink, cx0, y + h + ctx.u(6), cx1 - cx0, max_y=bottom)
            elif kind == "callout":
                ny = callout(ctx, cx0, y, cx1, limit)
            elif kind == "kv":
                ny = key_values(ctx, cx0, y, cx1, limit)
            elif kind == "code":
                ny = code_listing(ctx, cx0, y, cx1, limit)
            else:
                flow = Flow(ctx, [(cx0, cx1)], y, limit)
                flow_list(ctx, flow, ctx.body_font(), ctx.palette.ink, ctx.randint(2, 6))
                ny = flow.y
            if ny <= y + 1:
                y += ctx.u(20)
                continue
            y = int(ny + ctx.u(ctx.uniform(12, 26)))
