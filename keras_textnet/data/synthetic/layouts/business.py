"""Business documents: forms, invoices, receipts.

A form's label and its value are separate text lines; value fields are underlines or
boxes that keep clear of the text; tick boxes are graphics.
"""

from __future__ import annotations

import cv2
import numpy as np

from keras_textnet.data.synthetic.backgrounds import add_grain, smooth_field
from keras_textnet.data.synthetic.layouts.common import (
    Ctx,
    draw_words,
    fit,
    mix,
    paragraph,
    pitch,
    text_line,
    tick_box,
    wrap,
)
from keras_textnet.data.synthetic.layouts.prose import footer
from keras_textnet.data.synthetic.layouts.tables import draw_table
from keras_textnet.luminance import luminance

PEN_COLORS = [(20, 40, 150), (10, 30, 110), (0, 0, 0), (30, 30, 30), (120, 20, 20)]


def _value_text(ctx: Ctx, label: str) -> str:
    low = label.lower()
    if "date" in low or "birth" in low or "dob" in low:
        return ctx.text.date()
    if "mail" in low:
        return ctx.text.email()
    if "phone" in low or "tel" in low or "fax" in low or "mobile" in low:
        return ctx.text.phone()
    if "name" in low or "holder" in low or "signature" in low or "contact" in low:
        return ctx.text.person_name()
    if "amount" in low or "total" in low or "price" in low or "fee" in low or "salary" in low:
        return ctx.text.amount()
    if "address" in low or "street" in low:
        return ctx.text.address_lines()[0]
    if "company" in low or "employer" in low or "organi" in low:
        return ctx.text.company()
    if "no." in low or "number" in low or "id" in low.split() or "code" in low:
        return ctx.text.identifier()
    r = ctx.rng.random()
    if r < 0.25:
        return ctx.text.person_name()
    if r < 0.45:
        return ctx.text.number()
    if r < 0.6:
        return ctx.text.date()
    if r < 0.75:
        return ctx.text.identifier()
    return ctx.text.sentence(1, 4).rstrip(".:!?")


def section_header(ctx: Ctx, text: str, x0: int, x1: int, y: int, style: str, font) -> int:
    """A section header bar/rule; returns the y below it."""
    pal = ctx.palette
    pad = ctx.u(ctx.uniform(3, 6))
    h = font.ascent + font.descent + 2 * pad
    if style == "bar":
        ctx.canvas.fill_rect(x0, y, x1, y + h, pal.dark)
        text_line(ctx, text, font, pal.on_dark, x0 + pad * 2, y + pad + font.ascent,
                  x1 - x0 - 4 * pad)
        return y + h + ctx.u(8)
    if style == "light":
        ctx.canvas.fill_rect(x0, y, x1, y + h, pal.light)
        text_line(ctx, text, font, pal.ink, x0 + pad * 2, y + pad + font.ascent, x1 - x0 - 4 * pad)
        return y + h + ctx.u(8)
    base = y + font.ascent
    text_line(ctx, text, font, pal.accent if ctx.chance(0.4) else pal.ink, x0, base, x1 - x0)
    yy = int(base + font.descent + ctx.u(3))
    ctx.canvas.hline(x0, x1, yy, pal.rule, max(1, ctx.u(1.2)))
    return yy + ctx.u(10)


def _field(ctx: Ctx, style: str, x0: int, x1: int, y: int, label: str, value: str | None,
           lab_font, val_font, val_color) -> int:
    """One label/value field in ``[x0, x1)`` from ``y``; returns its bottom."""
    pal = ctx.palette
    gap = ctx.u(4)
    if style == "underline":
        base = y + max(lab_font.ascent, val_font.ascent)
        text_line(ctx, label, lab_font, pal.ink, x0, base, (x1 - x0) * 0.5)
        lx = int(x0 + min(lab_font.length(label), (x1 - x0) * 0.5) + ctx.u(6))
        rule_y = int(base + max(lab_font.descent, val_font.descent) + ctx.u(2))
        ctx.canvas.hline(lx, x1, rule_y, pal.rule if ctx.chance(0.5) else pal.muted,
                         1, dash=(1, 2) if ctx.chance(0.15) else None)
        if value:
            text_line(ctx, value, val_font, val_color, lx + ctx.u(6), base, x1 - lx - ctx.u(10))
        return rule_y + 1
    if style == "box":
        base = y + lab_font.ascent
        text_line(ctx, label, lab_font, pal.muted if ctx.chance(0.5) else pal.ink, x0, base,
                  x1 - x0)
        by0 = int(base + lab_font.descent + ctx.u(3))
        pad = ctx.u(ctx.uniform(3, 6))
        by1 = int(by0 + val_font.ascent + val_font.descent + 2 * pad)
        ctx.canvas.frame(x0, by0, x1, by1, pal.rule, 1)
        if value:
            text_line(ctx, value, val_font, val_color, x0 + pad + 2, by0 + pad + val_font.ascent,
                      x1 - x0 - 2 * pad - 4)
        return by1
    if style == "cell":   # label small at the top of a ruled cell, value below
        pad = ctx.u(3)
        base = y + pad + lab_font.ascent
        text_line(ctx, label, lab_font, pal.muted if ctx.chance(0.6) else pal.ink, x0 + pad, base,
                  x1 - x0 - 2 * pad)
        vb = base + lab_font.descent + ctx.u(3) + val_font.ascent
        if value:
            text_line(ctx, value, val_font, val_color, x0 + pad + ctx.u(2), vb, x1 - x0 - 3 * pad)
        return int(vb + val_font.descent + pad)
    # inline: "Label: value"
    base = y + max(lab_font.ascent, val_font.ascent)
    text_line(ctx, label, lab_font, pal.ink, x0, base, (x1 - x0) * 0.55)
    lx = x0 + min(lab_font.length(label), (x1 - x0) * 0.55) + max(gap, lab_font.space * 2)
    if value:
        text_line(ctx, value, val_font, val_color, lx, base, x1 - lx)
    return int(base + max(lab_font.descent, val_font.descent))


def layout_form(ctx: Ctx) -> None:
    """A form: title, sections with label/value fields, tick boxes, signature lines."""
    pal = ctx.palette
    L, T, R, B = ctx.margins
    x0, x1, top, bottom = L, ctx.width - R, T, ctx.height - B
    if ctx.chance(0.5):
        bottom = footer(ctx, x0, x1, bottom)
    tf = ctx.heading_font(ctx.uniform(1.5, 2.6))
    title = ctx.choice([lambda: ctx.text.title(8), lambda: ctx.text.title(6).upper(),
                        lambda: f"Application for {ctx.text.title(4)}",
                        lambda: f"{ctx.text.title(3)} Registration Form"])()
    base = top + tf.ascent
    center = ctx.chance(0.4)
    tw = (x1 - x0) * (0.95 if center else 0.65)
    title = fit(tf, title, tw)
    text_line(ctx, title, tf, pal.accent if ctx.chance(0.35) else pal.ink,
              x0 + ((x1 - x0 - tf.length(title)) / 2 if center else 0), base)
    if not center and ctx.chance(0.7):
        sf = ctx.body_font(0.85)
        form_id = ctx.choice([f"Form {ctx.text.identifier()}", f"Rev. {ctx.text.date()}",
                              f"OMB No. {ctx.randint(1000, 9999)}-{ctx.randint(1000, 9999)}"])
        text_line(ctx, form_id, sf, pal.ink, x1 - sf.length(form_id), top + sf.ascent)
    y = int(base + tf.descent + ctx.u(ctx.uniform(8, 16)))
    if ctx.chance(0.5):
        f = ctx.body_font(ctx.uniform(0.85, 1.0), italic=ctx.chance(0.3))
        y = int(paragraph(ctx, ctx.text.paragraph(1, 2), f, pal.ink, x0, y, x1 - x0,
                          max_y=bottom) + ctx.u(12))
    header_style = ctx.choice(["bar", "light", "rule"])
    field_style = ctx.choice(["underline", "box", "cell", "inline"], p=[0.35, 0.25, 0.2, 0.2])
    lab_font = ctx.font(ctx.body.get(bold=ctx.chance(0.3)),
                        min(ctx.body_xh * ctx.uniform(0.85, 1.05), ctx.xh_for(x1 - x0, 70)))
    typed = ctx.rng.random()
    if typed < 0.35:
        val_font = ctx.mono_font(ctx.uniform(0.9, 1.1))
    elif typed < 0.7:
        val_font = ctx.body_font(ctx.uniform(0.95, 1.15))
    else:
        other = ctx.library.sample(ctx.rng, monospace=False, italic=ctx.chance(0.3))
        val_font = ctx.font(other, ctx.body_xh * ctx.uniform(0.95, 1.2))
    val_color = ctx.choice(PEN_COLORS) if ctx.chance(0.5) else pal.ink
    fill_rate = ctx.uniform(0.4, 1.0)
    hfont = ctx.heading_font(ctx.uniform(1.0, 1.3), bold=True)
    section_no = 0
    while bottom - y > ctx.u(50):
        section_no += 1
        stext = ctx.text.title(5)
        if ctx.chance(0.5):
            stext = f"{ctx.choice(['Section', 'Part', ''])} {section_no}. {stext}".strip()
        y = section_header(ctx, stext, x0, x1, y, header_style, hfont)
        n_cols = ctx.choice([1, 2, 3], p=[0.3, 0.45, 0.25])
        if (x1 - x0) / n_cols < ctx.u(160):
            n_cols = max(1, int((x1 - x0) // ctx.u(160)))
        cgap = ctx.u(ctx.uniform(12, 24))
        cw = ((x1 - x0) - cgap * (n_cols - 1)) / n_cols
        rows = ctx.randint(2, 6)
        row_gap = ctx.u(ctx.uniform(6, 14))
        for _ in range(rows):
            if ctx.chance(0.15):
                # a tick-box question
                yb = _tick_row(ctx, x0, x1, y, lab_font)
                if yb > bottom:
                    break
                y = yb + row_gap
                continue
            est = (lab_font.ascent + lab_font.descent + val_font.ascent + val_font.descent
                   + ctx.u(20))
            if y + est > bottom:
                break
            yb = y
            cell_style = field_style
            for c in range(n_cols):
                cx0 = int(x0 + c * (cw + cgap))
                label = _label_fitting(ctx, lab_font, cw * (0.5 if field_style in
                                                           ("underline", "inline") else 0.95))
                if field_style == "inline" and not label.endswith(":"):
                    label += ":"
                value = _value_text(ctx, label) if ctx.rng.random() < fill_rate else None
                yb = max(yb, _field(ctx, cell_style, cx0, int(cx0 + cw), y, label, value,
                                    lab_font, val_font, val_color))
            if field_style == "cell":
                for c in range(n_cols):
                    cx0 = int(x0 + c * (cw + cgap))
                    ctx.canvas.frame(cx0 - ctx.u(1), y - ctx.u(2), int(cx0 + cw) + ctx.u(1),
                                     yb + ctx.u(2), pal.rule, 1)
            y = yb + row_gap
        y += ctx.u(ctx.uniform(8, 18))
        if ctx.chance(0.25) and bottom - y > ctx.u(90):
            y = _signature(ctx, x0, x1, y, lab_font, val_font, val_color) + ctx.u(14)


def _label_fitting(ctx: Ctx, font, width: float) -> str:
    """A form label that fits ``width`` (a few tries, then cut)."""
    label = ""
    for _ in range(4):
        label = ctx.text.form_label()
        if font.length(label + ":") <= width:
            return label
    return fit(font, label, width)


def _tick_row(ctx: Ctx, x0: int, x1: int, y: int, font) -> int:
    pal = ctx.palette
    q = ctx.text.form_label()
    if not q.endswith(("?", ":")):
        q += ctx.choice(["?", ":", ""])
    base = y + font.ascent
    text_line(ctx, q, font, pal.ink, x0, base, (x1 - x0) * 0.5)
    x = x0 + min(font.length(q), (x1 - x0) * 0.5) + ctx.u(14)
    opts = ctx.choice([["Yes", "No"], ["Yes", "No", "N/A"], ["Male", "Female", "Other"],
                       ["Single", "Married", "Divorced"], ["Monthly", "Quarterly", "Annually"],
                       None])
    if opts is None:
        opts = [ctx.text.word().capitalize() for _ in range(ctx.randint(2, 4))]
    size = int(font.ascent * ctx.uniform(0.75, 0.95))
    pick = ctx.randint(-1, len(opts) - 1)
    for i, o in enumerate(opts):
        w = size + ctx.u(5) + font.length(o) + ctx.u(16)
        if x + w > x1:
            break
        tick_box(ctx, int(x), int(base - size + 1), size, pal.rule, i == pick,
                 ctx.choice(PEN_COLORS))
        text_line(ctx, o, font, pal.ink, x + size + ctx.u(5), base)
        x += w
    return int(base + font.descent)


def _signature(ctx: Ctx, x0, x1, y, lab_font, val_font, val_color) -> int:
    pal = ctx.palette
    n = ctx.choice([1, 2, 2, 3])
    gap = ctx.u(24)
    w = ((x1 - x0) - gap * (n - 1)) / n
    line_y = int(y + val_font.ascent + val_font.descent + ctx.u(10))
    labels = ["Signature", "Date", "Printed Name", "Title", "Place"]
    for i in range(n):
        a = int(x0 + i * (w + gap))
        ctx.canvas.hline(a, int(a + w), line_y, pal.ink, 1)
        lab = labels[i] if ctx.chance(0.7) else ctx.text.form_label()
        text_line(ctx, lab, lab_font, pal.muted if ctx.chance(0.5) else pal.ink, a,
                  line_y + ctx.u(4) + lab_font.ascent, w)
        if lab == "Date" and ctx.chance(0.6):
            text_line(ctx, ctx.text.date(), val_font, val_color, a + ctx.u(4),
                      line_y - val_font.descent - ctx.u(3), w)
    return int(line_y + ctx.u(4) + lab_font.ascent + lab_font.descent)


# ---------------------------------------------------------------------------
# Invoices
# ---------------------------------------------------------------------------

def logo(ctx: Ctx, x: int, y: int, size: int, company: str) -> int:
    """A logo-like mark (coloured shape with initials) and maybe the name; returns right x."""
    pal = ctx.palette
    initials = "".join(w[0] for w in company.split() if w[:1].isalpha())[:3].upper() or "CO"
    shape = ctx.choice(["rect", "circle", "bar"])
    col = pal.accent if ctx.chance(0.7) else pal.dark
    if shape == "circle":
        ctx.canvas.circle(x + size / 2, y + size / 2, size / 2, col, obstacle=False)
    elif shape == "rect":
        ctx.canvas.fill_rect(x, y, x + size, y + size, col)
    else:
        ctx.canvas.fill_rect(x, y, x + int(size * 1.6), y + size, col)
    w = size * (1.6 if shape == "bar" else 1.0)
    if shape != "bar":
        initials = initials[:2]
    f = ctx.font(ctx.heading.bold, size * 0.28 / ctx.unit)
    if f.length(initials) > w * 0.7:
        f = ctx.font(ctx.heading.bold, size * 0.28 / ctx.unit * w * 0.7 / f.length(initials))
    tw = f.length(initials)
    if tw < w * 0.85:
        text_line(ctx, initials, f, pal.on_dark if luminance(col) < 140 else pal.ink,
                  x + (w - tw) / 2, y + size / 2 + f.x_height / 2)
    return int(x + w)


def _money(ctx: Ctx, v: float, cur: str) -> str:
    s = f"{v:,.2f}"
    return {"$": f"${s}", "": s, "EUR": f"{s} EUR", "GBP": f"GBP {s}", "USD": f"USD {s}"}[cur]


def totals_block(ctx: Ctx, x0: int, x1: int, y: int, rows: list[tuple[str, str]], font, bold,
                 leaders: bool, boxed_total: bool) -> int:
    pal = ctx.palette
    p = pitch(font, ctx.uniform(1.3, 1.6))
    base = y + font.ascent
    if boxed_total:
        pad = ctx.u(4)
        lb = base + p * (len(rows) - 1)
        ctx.canvas.fill_rect(x0 - pad * 2, lb - bold.ascent - pad, x1 + pad,
                             lb + bold.descent + pad, pal.light)
    for i, (lab, val) in enumerate(rows):
        last = i == len(rows) - 1
        f = bold if last else font
        text_line(ctx, lab, f, pal.ink, x0, base)
        vx = x1 - f.length(val)
        text_line(ctx, val, f, pal.ink, vx, base)
        if leaders:
            lx0 = x0 + f.length(lab) + ctx.u(6)
            if vx - ctx.u(6) - lx0 > ctx.u(12):
                ctx.canvas.dots(lx0, vx - ctx.u(6), int(base), pal.muted, max(0.6, ctx.u(0.6)),
                                ctx.u(ctx.uniform(4, 6)))
        base += p
    return int(base - p + font.descent)


def layout_invoice(ctx: Ctx) -> None:
    """An invoice: logo, sender and client addresses, meta fields, item table, totals."""
    pal = ctx.palette
    L, T, R, B = ctx.margins
    x0, x1, top, bottom = L, ctx.width - R, T, ctx.height - B
    W = x1 - x0
    xh = min(ctx.body_xh * ctx.uniform(0.85, 1.0), ctx.xh_for(W, 75))
    small = ctx.font(ctx.body.regular, xh)
    bold = ctx.font(ctx.body.bold, xh * ctx.uniform(1.0, 1.1))
    company = ctx.text.company()
    # header band
    if ctx.chance(0.3):
        band_h = ctx.u(ctx.uniform(50, 90))
        ctx.canvas.fill_rect(0, 0, ctx.width, top + band_h, pal.dark)
        tf = ctx.heading_font(ctx.uniform(1.8, 2.6), bold=True)
        text_line(ctx, fit(tf, company, W * 0.6), tf, pal.on_dark, x0,
                  top + band_h / 2 + tf.x_height / 2)
        label = ctx.choice(["INVOICE", "Invoice", "TAX INVOICE", "BILL"])
        text_line(ctx, label, tf, pal.on_dark, x1 - tf.length(label),
                  top + band_h / 2 + tf.x_height / 2)
        y = top + band_h + ctx.u(20)
        sender_x = x0
        sy = y
    else:
        size = ctx.u(ctx.uniform(40, 70))
        right = logo(ctx, x0, top, size, company)
        nf = ctx.heading_font(ctx.uniform(1.3, 1.8), bold=True)
        text_line(ctx, company, nf, pal.accent if ctx.chance(0.5) else pal.ink, right + ctx.u(12),
                  top + size / 2 + nf.x_height / 2, W * 0.5 - size)
        tf = ctx.heading_font(ctx.uniform(2.0, 3.2), bold=ctx.chance(0.7))
        label = ctx.choice(["INVOICE", "Invoice", "TAX INVOICE", "Statement"])
        text_line(ctx, label, tf, pal.accent if ctx.chance(0.5) else pal.ink,
                  x1 - tf.length(label), top + tf.ascent)
        y = top + max(size, tf.ascent + tf.descent) + ctx.u(14)
        sender_x = x0
        sy = y
    # sender address (left) and meta (right)
    p = pitch(small, 1.25)
    base = sy + small.ascent
    for s in ctx.text.address_lines() + [ctx.text.phone(), ctx.text.email()][:ctx.randint(0, 2)]:
        text_line(ctx, s, small, pal.ink, sender_x, base, W * 0.45)
        base += p
    left_end = base - p + small.descent
    meta = [("Invoice No.", ctx.text.identifier()), ("Date", ctx.text.date()),
            ("Due Date", ctx.text.date()), ("Customer ID", ctx.text.identifier()),
            ("PO Number", ctx.text.identifier()), ("Terms", ctx.choice(["Net 30", "Net 15",
                                                                        "Due on receipt"]))]
    meta = meta[:ctx.randint(2, len(meta))]
    mx0 = x0 + int(W * ctx.uniform(0.52, 0.62))
    base = sy + small.ascent
    lab_f = bold if ctx.chance(0.5) else small
    for lab, val in meta:
        lab = lab + (":" if ctx.chance(0.5) else "")
        text_line(ctx, lab, lab_f, pal.ink, mx0, base)
        text_line(ctx, val, small, pal.ink, x1 - small.length(fit(small, val, W * 0.2)), base,
                  W * 0.2)
        base += p
    y = int(max(left_end, base - p + small.descent) + ctx.u(18))
    # bill to / ship to
    n_addr = ctx.choice([1, 2])
    end = y
    for i in range(n_addr):
        ax = x0 + i * int(W * 0.5)
        hb = y + bold.ascent
        head = ["Bill To:", "Ship To:"][i] if ctx.chance(0.7) else ["BILL TO", "SHIP TO"][i]
        text_line(ctx, head, bold, pal.accent if ctx.chance(0.4) else pal.ink, ax, hb)
        b = hb + p
        for s in [ctx.text.person_name(), ctx.text.company()][:ctx.randint(1, 2)] + \
                ctx.text.address_lines():
            text_line(ctx, s, small, pal.ink, ax, b, W * 0.45)
            b += p
        end = max(end, b - p + small.descent)
    y = int(end + ctx.u(20))
    # items
    cur = ctx.choice(["$", "", "EUR", "GBP", "USD"])
    n_items = ctx.randint(2, 14)
    items, subtotal = [], 0.0
    with_sku = ctx.chance(0.4)
    for _ in range(n_items):
        q = ctx.randint(1, 10) if ctx.chance(0.85) else ctx.randint(10, 200)
        unit = round(float(np.exp(ctx.uniform(np.log(2), np.log(2000)))), 2)
        amt = q * unit
        subtotal += amt
        items.append((ctx.text.identifier() if with_sku else None,
                      ctx.text.product(), q, unit, amt))

    def make_rows(c):
        out = []
        for sku, prod, q, unit, amt in items:
            row = [prod, str(q), _money(ctx, unit, c), _money(ctx, amt, c)]
            out.append([sku] + row if with_sku else row)
        return out

    rows = make_rows(cur)
    widest = [max(small.length(r[j]) for r in rows) for j in range(len(rows[0]))]
    if sum(widest) + (len(widest) * 2 + 2) * ctx.u(8) > W or ctx.chance(0.3):
        rows = make_rows("")        # currency only in the totals
    kinds = ["product", "qty", "amount", "amount"]
    headers = [ctx.choice(["Description", "Item", "Product / Service"]),
               ctx.choice(["Qty", "Quantity", "Hrs"]),
               ctx.choice(["Unit Price", "Rate", "Price"]),
               ctx.choice(["Amount", "Total", "Line Total"])]
    if with_sku:
        kinds = ["id"] + kinds
        headers = [ctx.choice(["Item #", "SKU", "Code"])] + headers
    tax_rate = ctx.choice([0.0, 5.0, 7.5, 8.0, 10.0, 19.0, 20.0])
    tot_rows = [("Subtotal", _money(ctx, subtotal, cur))]
    tax = subtotal * tax_rate / 100
    if tax_rate:
        tot_rows.append((f"Tax ({tax_rate:g}%)", _money(ctx, tax, cur)))
    ship = 0.0
    if ctx.chance(0.4):
        ship = round(ctx.uniform(5, 80), 2)
        tot_rows.append(("Shipping", _money(ctx, ship, cur)))
    tot_rows.append((ctx.choice(["Total", "TOTAL", "Total Due", "Amount Due", "Balance Due"]),
                     _money(ctx, subtotal + tax + ship, cur)))
    tot_h = pitch(small, 1.6) * len(tot_rows) + ctx.u(30)
    y_tab = draw_table(ctx, x0, y, x1, bottom - tot_h - ctx.u(40), font=small, kinds=kinds,
                       headers=headers, rows=rows, caption=False, totals=False)
    y = y_tab + ctx.u(14)
    if bottom - y > tot_h:
        tx0 = x0 + int(W * ctx.uniform(0.5, 0.62))
        y = totals_block(ctx, tx0, x1, y, tot_rows, small, bold, ctx.chance(0.45),
                         ctx.chance(0.4)) + ctx.u(20)
    # notes
    if bottom - y > ctx.u(40):
        nf = ctx.body_font(ctx.uniform(0.85, 0.95), italic=ctx.chance(0.3))
        notes = [ctx.choice(["Thank you for your business!", "Payment is due within 30 days.",
                             "Please make checks payable to " + company + ".",
                             "Notes: " + ctx.text.sentence(4, 12)]),
                 f"Bank: {ctx.text.company()}  Account: {ctx.text.identifier()}"]
        base = y + nf.ascent
        for s in notes[:ctx.randint(1, 2)]:
            if base + nf.descent > bottom:
                break
            text_line(ctx, s, nf, pal.ink, x0, base, W)
            base += pitch(nf, 1.3)
        y = int(base)
    if ctx.chance(0.25) and bottom - y > ctx.u(8):
        # fine print below the readable size: drawn, annotated as ignore
        fp = ctx.tiny_font(ctx.body.regular, ctx.uniform(3.0, 4.5))
        words = ctx.text.paragraph(1, 2).split()
        for ws in wrap(fp, words, W)[:3]:
            if y + fp.ascent + fp.descent > bottom:
                break
            draw_words(ctx, ws, fp, pal.muted, x0, y + fp.ascent)
            y += pitch(fp, 1.2)
    if ctx.chance(0.25):
        stamp(ctx, x0, top, x1, bottom)


def stamp(ctx: Ctx, x0: int, y0: int, x1: int, y1: int) -> bool:
    """A rotated rubber stamp (ignored text in a frame) placed where it touches no text."""
    sf = ctx.heading_font(ctx.uniform(2.0, 3.5), bold=True)
    word = ctx.choice(["PAID", "RECEIVED", "APPROVED", "COPY", "OVERDUE", "POSTED", "ENTERED"])
    ang = ctx.uniform(-25, 25)
    col = ctx.choice([(200, 30, 30), (30, 60, 170), (20, 130, 60), (150, 30, 120)])
    opacity = ctx.uniform(0.55, 0.9)
    w = sf.length(word)
    for _ in range(8):
        cx = ctx.uniform(x0 + w * 0.6, max(x0 + w * 0.6 + 1, x1 - w * 0.6))
        cy = ctx.uniform(y0 + sf.size, max(y0 + sf.size + 1, y1 - sf.size))
        if ctx.canvas.draw_rotated_text(word, (cx, cy), ang, sf, col, opacity=opacity,
                                        require_free=True, obstacle=True) is not None:
            if ctx.chance(0.7):
                pad = sf.x_height * 0.8
                hw, hh = w / 2 + pad, sf.x_height / 2 + sf.ascent * 0.35 + pad
                t = np.deg2rad(-ang)
                c, s_ = np.cos(t), np.sin(t)
                pts = [(cx + dx * c - dy * s_, cy + dx * s_ + dy * c)
                       for dx, dy in ((-hw, -hh), (hw, -hh), (hw, hh), (-hw, hh))]
                ctx.canvas.polyline(pts, mix(col, ctx.palette.paper, 1 - opacity),
                                    thickness=max(2, ctx.u(2.5)), closed=True)
            return True
    return False


# ---------------------------------------------------------------------------
# Receipts
# ---------------------------------------------------------------------------

def layout_receipt(ctx: Ctx) -> None:
    """A till receipt: narrow monospace strip on a surface, centred header, dashed rules."""
    H, W = ctx.height, ctx.width
    rng = ctx.rng
    # the surface the receipt lies on
    if ctx.chance(0.7):
        base_col = np.array(ctx.choice([(120, 90, 60), (90, 90, 95), (60, 60, 65), (160, 150, 140),
                                         (45, 50, 70), (140, 110, 80), (200, 200, 205)]),
                            np.float32)
        field = smooth_field(rng, H // 8 + 1, W // 8 + 1, cell=ctx.uniform(4, 12), octaves=2)
        field = cv2.resize(field, (W, H), interpolation=cv2.INTER_LINEAR)
        surf = np.clip(base_col[None, None] * (0.8 + 0.4 * field[..., None]), 0, 255)
        surf = surf.astype(np.uint8)
        add_grain(surf, rng, ctx.uniform(2, 6))
        ctx.canvas.image[...] = surf
    mono = ctx.chance(0.85)
    face = ctx.mono.get(False) if mono else ctx.library.sample(rng, monospace=False, serif=False)
    face_b = ctx.mono.get(True) if mono else face
    xh = max(ctx.min_xh, ctx.body_xh * ctx.uniform(0.9, 1.1))
    f = ctx.font(face, xh)
    fb = ctx.font(face_b, xh)
    char_w = f.length("0")
    chars = ctx.randint(32, 44)
    pad = ctx.u(ctx.uniform(10, 22))
    sw = int(min(W * 0.92, chars * char_w + 2 * pad))
    sx0 = int(ctx.uniform(W * 0.04, max(W * 0.04 + 1, W - sw - W * 0.04)))
    sx1 = sx0 + sw
    sy0 = ctx.randint(0, ctx.u(40)) if ctx.chance(0.5) else -1
    sy1 = H - (ctx.randint(0, ctx.u(60)) if ctx.chance(0.5) else -1)
    paper = mix((255, 255, 255), ctx.choice([(250, 245, 230), (240, 240, 240), (255, 255, 250)]),
                ctx.uniform(0, 1))
    ctx.canvas.fill_rect(sx0, max(0, sy0), sx1, min(H, sy1), paper)
    ink = ctx.choice([(20, 20, 20), (40, 40, 50), (60, 50, 80), (0, 0, 0)])
    x0, x1 = sx0 + pad, sx1 - pad
    p = pitch(f, ctx.uniform(1.15, 1.45))
    y = max(0, sy0) + ctx.u(ctx.uniform(14, 30))
    limit = min(H, sy1) - ctx.u(12)

    def line(left: str, right: str | None = None, font=f, center=False) -> bool:
        nonlocal y
        base = y + font.ascent
        if base + font.descent > limit:
            return False
        if center:
            left = fit(font, left, x1 - x0)
            text_line(ctx, left, font, ink, (x0 + x1) / 2 - font.length(left) / 2, base)
        else:
            rw = font.length(right) if right else 0
            text_line(ctx, left, font, ink, x0, base, (x1 - x0) - rw - font.length("  "))
            if right:
                text_line(ctx, right, font, ink, x1 - rw, base)
        y = base + font.descent + (p - font.ascent - font.descent)
        return True

    def rule():
        nonlocal y
        yy = int(y + p * 0.3)
        if yy + 2 > limit:
            return
        style = ctx.choice(["dash", "dot", "solid", "double"])
        if style == "solid":
            ctx.canvas.hline(x0, x1, yy, ink, 1)
        elif style == "double":
            ctx.canvas.hline(x0, x1, yy, ink, 1)
            ctx.canvas.hline(x0, x1, yy + 3, ink, 1)
        else:
            on = int(char_w * 0.6) if style == "dash" else 1
            ctx.canvas.hline(x0, x1, yy, ink, max(1, ctx.u(1)), dash=(on, int(char_w) - on))
        y += int(p * 0.8)

    big = ctx.font(face_b, xh * ctx.uniform(1.3, 1.9))
    store = ctx.text.company().upper() if ctx.chance(0.6) else ctx.text.company()
    line(store, font=big, center=True)
    for s in ctx.text.address_lines()[-2:]:
        line(s, center=True)
    if ctx.chance(0.7):
        line(f"Tel: {ctx.text.phone()}" if ctx.chance(0.6) else ctx.text.phone(), center=True)
    y += p // 2
    line(f"{ctx.text.date()}", ctx.text.time())
    if ctx.chance(0.7):
        line(f"Receipt #{ctx.randint(1000, 999999)}", f"Till {ctx.randint(1, 20)}")
    rule()
    total = 0.0
    for _ in range(ctx.randint(3, 18)):
        name = ctx.text.product()
        if ctx.chance(0.6):
            name = name.upper()
        q = 1 if ctx.chance(0.7) else ctx.randint(2, 6)
        unit = round(float(np.exp(ctx.uniform(np.log(0.5), np.log(80)))), 2)
        amt = q * unit
        total += amt
        if q > 1 and ctx.chance(0.6):
            if not line(name):
                break
            if not line(f"  {q} x {unit:.2f}", f"{amt:.2f}"):
                break
        else:
            if not line(name, f"{amt:.2f}"):
                break
    rule()
    tax = total * ctx.choice([0.0, 0.05, 0.07, 0.0825, 0.2])
    line("SUBTOTAL", f"{total:.2f}")
    if tax:
        line("TAX", f"{tax:.2f}")
    line("TOTAL", f"{total + tax:.2f}", font=fb)
    if ctx.chance(0.8):
        pay = ctx.choice(["VISA", "MASTERCARD", "CASH", "DEBIT", "AMEX"])
        line(pay, f"{total + tax:.2f}")
        if pay != "CASH":
            line(f"CARD ************{ctx.randint(1000, 9999)}")
            if ctx.chance(0.5):
                line(f"AUTH CODE: {ctx.randint(100000, 999999)}")
        else:
            line("CHANGE", f"{ctx.uniform(0, 20):.2f}")
    rule()
    if ctx.chance(0.8):
        line(ctx.choice(["THANK YOU FOR SHOPPING WITH US", "Thank you!", "PLEASE COME AGAIN",
                         "THANK YOU", "Have a nice day"]), center=True)
    if ctx.chance(0.5):
        line(ctx.text.url(), center=True)
    if ctx.chance(0.5) and y + ctx.u(50) < limit:
        # barcode
        bx = (x0 + x1) / 2 - ctx.u(80)
        yy = int(y + ctx.u(6))
        x = bx
        while x < bx + ctx.u(160):
            w = ctx.choice([1, 1, 2, 3])
            ctx.canvas.rule(int(x), yy, int(x) + w, yy + ctx.u(36), ink)
            x += w + ctx.choice([1, 2, 2, 3])
        y = yy + ctx.u(44)
        line(str(ctx.randint(10 ** 11, 10 ** 12 - 1)), center=True)
