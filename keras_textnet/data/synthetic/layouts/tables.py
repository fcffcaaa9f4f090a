"""Tables: header row, rules or grids or zebra shading, right-aligned numbers, totals.

Every cell is its own text line (a row never makes one line across the gutters).
"""

from __future__ import annotations

import math
import re

from keras_textnet.data.synthetic.layouts.common import Ctx, Flow, fit, mix, pitch, text_line, wrap
from keras_textnet.data.synthetic.layouts.prose import (
    caption_text,
    columns_for,
    fill_flow,
    page_frame,
)

NUMERIC = ("number", "amount", "percent", "qty")
_HEADERS = {
    "number": ["Qty", "Count", "No.", "Units", "Items", "Score", "Rank", "Volume", "Total"],
    "amount": ["Amount", "Price", "Cost", "Total", "Balance", "Value", "Fee", "Net", "USD"],
    "percent": ["%", "Rate", "Share", "Change", "Growth", "Margin", "Yield"],
    "date": ["Date", "Due", "Issued", "Updated", "Period", "Start", "End"],
    "id": ["ID", "Code", "Ref.", "Account", "SKU", "Order", "Invoice"],
    "name": ["Name", "Contact", "Owner", "Employee", "Customer", "Manager"],
    "code": ["Code", "Key", "Tag", "Class", "Type"],
    "qty": ["Qty", "Quantity", "Units", "Hrs", "No."],
    "product": ["Description", "Item", "Product", "Article", "Service"],
    "text": ["Description", "Item", "Notes", "Category", "Region", "Product", "Status",
             "Remarks", "Department"],
}


def _header(ctx: Ctx, kind: str) -> str:
    if ctx.chance(0.8):
        return ctx.choice(_HEADERS[kind])
    t = ctx.text.form_label().rstrip(":")
    return " ".join(t.split()[:3]) or ctx.choice(_HEADERS[kind])


def _cell(ctx: Ctx, kind: str) -> str:
    if kind == "qty":
        return str(ctx.randint(1, 12) if ctx.chance(0.8) else ctx.randint(10, 500))
    if kind == "product":
        return ctx.text.product()
    if kind == "text":
        r = ctx.rng.random()
        if r < 0.5:
            return ctx.text.cell("text")
        if r < 0.8:
            return ctx.text.product()
        return ctx.text.sentence(2, 8).rstrip(".")
    return ctx.text.cell(kind)


def _to_number(s: str) -> float | None:
    m = re.sub(r"[^0-9.\-]", "", s)
    try:
        return float(m)
    except ValueError:
        return None


def draw_table(ctx: Ctx, x0: int, y0: int, x1: int, max_y: int, font=None,
               n_cols: int | None = None, caption: bool | None = None,
               kinds: list[str] | None = None, headers: list[str] | None = None,
               max_rows: int | None = None, totals: bool | None = None,
               rows: list[list[str]] | None = None, style: str | None = None) -> int:
    """Draws a table in ``[x0, x1)`` from ``y0`` down to at most ``max_y``; returns its bottom.

    ``rows`` gives the cell texts (then ``kinds`` says how to align each column);
    otherwise cells are sampled per column kind.
    """
    font = font or ctx.body_font(ctx.uniform(0.85, 1.05))
    bold = ctx.font(ctx.body.bold if ctx.chance(0.7) else ctx.heading.bold,
                    font.x_height / ctx.unit)
    pal = ctx.palette
    width = x1 - x0
    pad_x = ctx.u(ctx.uniform(4, 10))
    pad_y = ctx.u(ctx.uniform(2, 7))
    char_w = font.length("abcdefghij") / 10
    if kinds is None:
        max_cols = max(2, min(8, int(width / (char_w * 9 + 2 * pad_x))))
        n = n_cols or ctx.randint(2, max_cols)
        n = min(n, max_cols)
        first = ctx.choice(["text", "name", "id", "date"], p=[0.55, 0.15, 0.2, 0.1])
        rest = [ctx.choice(["number", "amount", "percent", "date", "id", "text", "name", "code"],
                           p=[0.2, 0.25, 0.12, 0.1, 0.08, 0.13, 0.06, 0.06]) for _ in range(n - 1)]
        kinds = [first] + rest
    kinds = list(kinds)
    n = len(kinds)
    headers = list(headers) if headers else [_header(ctx, k) for k in kinds]
    style = style or ctx.choice(["grid", "rules", "zebra", "header_fill", "frame", "plain"],
                                p=[0.25, 0.25, 0.18, 0.17, 0.08, 0.07])
    header_fill = style == "header_fill" or (style in ("grid", "zebra") and ctx.chance(0.4))
    hfill = pal.dark if ctx.chance(0.6) else pal.accent
    htext = pal.on_dark if header_fill else pal.ink
    header_font = bold if ctx.chance(0.8) else font
    caption = ctx.chance(0.4) if caption is None else caption
    cap_font = ctx.body_font(ctx.uniform(0.85, 1.0), italic=ctx.chance(0.3))
    row_h = font.ascent + font.descent + 2 * pad_y
    y = y0
    if caption and ctx.chance(0.75):
        text = caption_text(ctx, "table", ctx.randint(1, 12))
        text = fit(cap_font, text, width)
        text_line(ctx, text, cap_font, pal.ink, x0, y + cap_font.ascent)
        y += cap_font.ascent + cap_font.descent + ctx.u(6)
        caption = False
    avail_rows = int((max_y - y - row_h) // row_h) - (1 if caption else 0)
    rows_wanted = ctx.randint(3, 28) if max_rows is None else max_rows
    if rows is not None:
        rows_wanted = len(rows)
    n_rows = max(0, min(avail_rows, rows_wanted))
    if n_rows < 1:
        return y0
    totals = (ctx.chance(0.3) and any(k in ("amount", "number") for k in kinds)) \
        if totals is None else totals
    if rows is not None:
        cells = [list(r) for r in rows[:n_rows]]
    else:
        cells = [[_cell(ctx, k) for k in kinds] for _ in range(n_rows)]
    if totals:
        n_rows_body = n_rows - 1 if n_rows > 2 else n_rows
        cells = cells[:n_rows_body]
        tot = []
        for j, k in enumerate(kinds):
            if j == 0:
                tot.append(ctx.choice(["Total", "TOTAL", "Totals", "Sum", "Grand Total"]))
            elif k in ("amount", "number"):
                vals = [_to_number(r[j]) for r in cells]
                s = sum(v for v in vals if v is not None)
                tot.append(f"{s:,.2f}" if k == "amount" else f"{int(s):,}")
            else:
                tot.append("")
        cells.append(tot)
    # column widths: shrink the type, then drop columns, before cutting cells
    flex_kinds = ("text", "name", "product")

    def natural():
        return [max([font.length(r[j]) for r in cells] + [header_font.length(headers[j])])
                + 2 * pad_x for j in range(len(kinds))]

    def needed(nat):
        fixed_w = sum(w for w, k in zip(nat, kinds) if k not in flex_kinds)
        flex_w = sum(min(w, char_w * 14 + 2 * pad_x) for w, k in zip(nat, kinds) if k in flex_kinds)
        return fixed_w + flex_w

    nat = natural()
    for _ in range(4):
        if needed(nat) <= width or font.x_height <= ctx.min_xh * ctx.unit * 1.05:
            break
        xh = max(ctx.min_xh, font.x_height / ctx.unit * 0.88)
        font = ctx.font(font.face, xh)
        bold = ctx.font(bold.face, xh)
        header_font = ctx.font(header_font.face, xh)
        nat = natural()
    while rows is None and len(kinds) > 2 and needed(nat) > width:
        j = max(range(1, len(kinds)), key=lambda k: nat[k])
        for lst in [kinds, headers, nat] + cells:
            del lst[j]
    n = len(kinds)
    row_h = font.ascent + font.descent + 2 * pad_y
    total = sum(nat)
    if total > width:
        fixed = [j for j in range(n) if kinds[j] not in flex_kinds]
        flex = [j for j in range(n) if j not in fixed]
        fixed_w = sum(nat[j] for j in fixed)
        if not flex or fixed_w > width * 0.85:
            scale = width / total
            widths = [w * scale for w in nat]
        else:
            room = width - fixed_w
            flex_total = sum(nat[j] for j in flex)
            widths = list(nat)
            for j in flex:
                widths[j] = nat[j] * room / flex_total
    else:
        full = ctx.chance(0.6)
        extra = (width - total) / n if full else 0.0
        widths = [w + extra for w in nat]
    xs = [x0]
    for w in _whole_pixel_widths(widths, nat, width):
        xs.append(xs[-1] + w)
    tx1 = xs[-1]
    align = ["right" if k in NUMERIC else ("center" if k == "date" and ctx.chance(0.3) else "left")
             for k in kinds]
    header_align = [a if ctx.chance(0.8) else "center" for a in align]
    # wrapped text cells: lines per row
    wrap_text = ctx.chance(0.5)
    cell_lines = []
    wrap_kinds = ("text", "product")
    for r in cells:
        row = []
        for j, s in enumerate(r):
            cw = xs[j + 1] - xs[j] - 2 * pad_x
            if wrap_text and kinds[j] in wrap_kinds and font.length(s) > cw:
                ls = wrap(font, s.split(), cw)[:3]
                row.append([" ".join(ws) for ws in ls])
            else:
                row.append([fit(font, s, cw)])
        cell_lines.append(row)
    p = pitch(font, 1.15)
    heights = [row_h + p * (max(len(c) for c in row) - 1) for row in cell_lines]
    # drop rows that do not fit
    hdr_h = header_font.ascent + header_font.descent + 2 * pad_y
    room = max_y - y - hdr_h - (cap_font.ascent + cap_font.descent + ctx.u(8) if caption else 0)
    keep = 0
    acc = 0
    for h in heights:
        if acc + h > room:
            break
        acc += h
        keep += 1
    if keep < 1:
        return y0
    if totals and keep < len(cells):
        cell_lines = cell_lines[:keep - 1] + [cell_lines[-1]] if keep > 1 else cell_lines[:keep]
        heights = heights[:keep - 1] + [heights[-1]] if keep > 1 else heights[:keep]
    else:
        cell_lines = cell_lines[:keep]
        heights = heights[:keep]
    # row boundaries
    ys = [y, y + hdr_h]
    for h in heights:
        ys.append(ys[-1] + h)
    ys = [int(round(v)) for v in ys]
    rule = pal.rule
    thin = max(1, ctx.u(ctx.uniform(0.6, 1.2)))
    thick = max(thin + 1, ctx.u(ctx.uniform(1.5, 2.5)))
    # fills first
    if header_fill:
        ctx.canvas.fill_rect(x0, ys[0], tx1, ys[1], hfill)
    if style == "zebra":
        shade = pal.light if ctx.chance(0.6) else mix(pal.paper, (0, 0, 0), ctx.uniform(0.05, 0.1))
        for i in range(len(heights)):
            if i % 2 == (1 if ctx.chance(0.5) else 0):
                ctx.canvas.fill_rect(x0, ys[i + 1], tx1, ys[i + 2], shade)
    if totals and ctx.chance(0.4):
        ctx.canvas.fill_rect(x0, ys[-2], tx1, ys[-1], mix(pal.light, pal.paper, 0.3))
    # rules
    if style == "grid":
        for yy in ys:
            ctx.canvas.hline(x0, tx1, yy, rule, thin)
        for xx in xs:
            ctx.canvas.vline(min(xx, tx1 - thin), ys[0], ys[-1] + thin, rule, thin)
    elif style == "rules":
        ctx.canvas.hline(x0, tx1, ys[0], rule, thick)
        ctx.canvas.hline(x0, tx1, ys[1], rule, thin)
        ctx.canvas.hline(x0, tx1, ys[-1], rule, thick)
        if ctx.chance(0.3):
            for yy in ys[2:-1]:
                ctx.canvas.hline(x0, tx1, yy, mix(rule, pal.paper, 0.6), 1)
    elif style == "frame":
        ctx.canvas.frame(x0, ys[0], tx1, ys[-1] + thin, rule, thin)
        ctx.canvas.hline(x0, tx1, ys[1], rule, thin)
    elif style in ("zebra", "header_fill"):
        if ctx.chance(0.5):
            ctx.canvas.hline(x0, tx1, ys[-1], rule, thin)
    elif style == "plain" and ctx.chance(0.6):
        ctx.canvas.hline(x0, tx1, ys[1] - max(1, pad_y // 2), rule, thin)
    if totals and style not in ("grid",):
        ctx.canvas.hline(x0, tx1, ys[-2], rule, thin)
    # text
    hb = ys[0] + pad_y + header_font.ascent
    for j, h in enumerate(headers):
        cw = xs[j + 1] - xs[j] - 2 * pad_x
        text_line(ctx, fit(header_font, h, cw), header_font, htext, xs[j] + pad_x, hb, cw,
                  header_align[j])
    last = len(cell_lines) - 1
    for i, row in enumerate(cell_lines):
        f = bold if (totals and i == last) else font
        for j, lines in enumerate(row):
            cw = xs[j + 1] - xs[j] - 2 * pad_x
            b = ys[i + 1] + pad_y + font.ascent
            for s in lines:
                if s:
                    text_line(ctx, fit(f, s, cw), f, pal.ink, xs[j] + pad_x, b, cw, align[j])
                b += p
    y_end = ys[-1] + thin
    if caption:
        text = fit(cap_font, caption_text(ctx, "table", ctx.randint(1, 12)), width)
        b = y_end + ctx.u(6) + cap_font.ascent
        text_line(ctx, text, cap_font, pal.ink, x0, b)
        y_end = b + cap_font.descent
    return int(y_end)


def layout_table(ctx: Ctx) -> None:
    """A page dominated by tables, with a title, some text and notes."""
    x0, x1, top, bottom = page_frame(ctx, header_p=0.5, footer_p=0.6)
    y = top
    if ctx.chance(0.7):
        tf = ctx.heading_font(ctx.uniform(1.4, 2.4))
        t = fit(tf, ctx.text.title(10), x1 - x0)
        text_line(ctx, t, tf, ctx.palette.accent if ctx.chance(0.4) else ctx.palette.ink, x0,
                  y + tf.ascent)
        y += tf.ascent + tf.descent + ctx.u(12)
    n_tables = ctx.randint(1, 3)
    for i in range(n_tables):
        if bottom - y < ctx.u(60):
            break
        if ctx.chance(0.5):
            band = int((bottom - y) * ctx.uniform(0.1, 0.3))
            flow = Flow(ctx, [(x0, x1)], y, min(bottom, y + band))
            fill_flow(ctx, flow, figures=False, max_paragraphs=1)
            y = int(flow.y) + ctx.u(12)
        tw = x1 - x0 if ctx.chance(0.7) else int((x1 - x0) * ctx.uniform(0.55, 0.9))
        tx0 = x0 if ctx.chance(0.7) else x0 + (x1 - x0 - tw) // 2
        limit = bottom if i == n_tables - 1 else y + int((bottom - y) * ctx.uniform(0.4, 0.8))
        y = draw_table(ctx, tx0, y, tx0 + tw, limit) + ctx.u(ctx.uniform(14, 30))
    if bottom - y > ctx.u(40):
        f = ctx.body_font(ctx.uniform(0.85, 1.0))
        flow = Flow(ctx, columns_for(ctx, x0, x1, 2), y, bottom)
        if ctx.chance(0.5):
            base = flow.baseline_for(f)
            if base is not None:
                text_line(ctx, ctx.choice(["Notes:", "Note:", "Source:", "*"]) + " "
                          + ctx.text.sentence(4, 14), f, ctx.palette.ink, x0, base, x1 - x0)
                flow.y = base + f.descent + ctx.u(6)
        fill_flow(ctx, flow, figures=False)


def _whole_pixel_widths(widths: list[float], natural: list[float], width: int) -> list[int]:
    """Column widths in whole pixels that never cut what a column needs.

    Rounding each column edge to the nearest pixel could take up to a pixel off
    a column, and a cell sized to its text would then lose its last word. Each
    column is rounded up instead; the pixels this adds beyond ``width`` are
    taken back from the columns with whole pixels to spare. Where none has any
    (the columns' natural widths fill ``width`` to within a pixel each), the
    table ends up to ``len(widths) - 1`` px wider rather than cutting text.
    """
    cols = [math.ceil(w - 1e-6) for w in widths]
    over = sum(cols) - width
    for j in sorted(range(len(cols)), key=lambda j: cols[j] - natural[j], reverse=True):
        if over <= 0:
            break
        take = min(over, max(0, math.floor(cols[j] - natural[j])))
        cols[j] -= take
        over -= take
    return cols
