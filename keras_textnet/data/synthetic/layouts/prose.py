"""Running text: articles in columns, report pages with figures, tables of contents.

Also the page furniture shared by many layouts: running headers, footers with page
numbers, footnotes, headings, lists and captions.
"""

from __future__ import annotations

from keras_textnet.data.synthetic.layouts.common import (
    Ctx,
    Flow,
    bullet_mark,
    draw_words,
    fit,
    paragraph,
    pitch,
    text_line,
    wrap,
)
from keras_textnet.data.synthetic.layouts.figures import draw_figure

# ---------------------------------------------------------------------------
# Page furniture
# ---------------------------------------------------------------------------


def running_header(ctx: Ctx, x0: int, x1: int, top: int) -> int:
    """Small text at the top with an optional rule; returns the new top."""
    f = ctx.body_font(ctx.uniform(0.8, 0.95), italic=ctx.chance(0.3))
    col = ctx.palette.muted if ctx.chance(0.6) else ctx.palette.ink
    base = top + f.ascent
    left = ctx.choice([ctx.text.company, ctx.text.title, lambda: ctx.text.title().upper()])()
    text_line(ctx, left, f, col, x0, base, (x1 - x0) * 0.6)
    r = ctx.rng.random()
    if r < 0.4:
        right = ctx.text.date()
    elif r < 0.7:
        right = f"Page {ctx.randint(1, 40)}"
    else:
        right = f"Vol. {ctx.randint(1, 60)}, No. {ctx.randint(1, 12)}"
    text_line(ctx, right, f, col, x1 - f.length(right), base)
    y = base + f.descent + ctx.u(4)
    if ctx.chance(0.6):
        ctx.canvas.hline(x0, x1, y, ctx.palette.rule, max(1, ctx.u(ctx.uniform(0.6, 1.6))))
        y += ctx.u(3)
    return int(y + ctx.u(ctx.uniform(6, 16)))


def footer(ctx: Ctx, x0: int, x1: int, bottom: int, page: int | None = None) -> int:
    """Page number (and maybe a left note) at the bottom; returns the new bottom."""
    f = ctx.body_font(ctx.uniform(0.8, 1.0))
    col = ctx.palette.muted if ctx.chance(0.5) else ctx.palette.ink
    page = page if page is not None else ctx.randint(1, 300)
    style = ctx.randint(0, 4)
    label = [str(page), f"- {page} -", f"Page {page}",
             f"Page {page} of {page + ctx.randint(0, 20)}", f"{page}"][style]
    base = bottom - f.descent
    where = ctx.choice(["center", "right", "left"], p=[0.5, 0.35, 0.15])
    if where == "center":
        x = (x0 + x1) / 2 - f.length(label) / 2
    elif where == "right":
        x = x1 - f.length(label)
    else:
        x = x0
    text_line(ctx, label, f, col, x, base)
    if where != "left" and ctx.chance(0.4):
        note = ctx.choice([ctx.text.company, ctx.text.identifier, ctx.text.url])()
        text_line(ctx, note, f, col, x0, base, (x1 - x0) * 0.45)
    top_of = base - f.ascent
    if ctx.chance(0.35):
        ctx.canvas.hline(x0, x1, int(top_of - ctx.u(5)), ctx.palette.rule, 1)
        top_of -= ctx.u(5)
    return int(top_of - ctx.u(ctx.uniform(8, 18)))


def page_frame(ctx: Ctx, header_p: float, footer_p: float) -> tuple[int, int, int, int]:
    """The text area ``(x0, x1, top, bottom)`` inside the margins.

    A running header is drawn with probability ``header_p`` and a footer with
    probability ``footer_p``; the area shrinks to leave room for them.
    """
    L, T, R, B = ctx.margins
    x0, x1, top, bottom = L, ctx.width - R, T, ctx.height - B
    if ctx.chance(header_p):
        top = running_header(ctx, x0, x1, top)
    if ctx.chance(footer_p):
        bottom = footer(ctx, x0, x1, bottom)
    return x0, x1, top, bottom


def footnotes(ctx: Ctx, x0: int, x1: int, bottom: int, count: int) -> int:
    """``count`` footnotes above ``bottom`` with a short rule; returns the new bottom."""
    f = ctx.body_font(ctx.uniform(0.8, 0.9))
    p = pitch(f, 1.2)
    notes = []
    for i in range(count):
        body = ctx.text.sentence(5, 18)
        notes.append((str(i + 1), wrap(f, body.split(), x1 - x0 - f.length("00 "))))
    n_lines = sum(len(ls) for _, ls in notes)
    top = bottom - n_lines * p - ctx.u(6)
    ctx.canvas.hline(x0, x0 + int((x1 - x0) * ctx.uniform(0.2, 0.4)), int(top), ctx.palette.rule, 1)
    base = top + ctx.u(5) + f.ascent
    ind = f.length("00 ")
    for mark, lines in notes:
        text_line(ctx, mark, f, ctx.palette.ink, x0, base)
        for ws in lines:
            draw_words(ctx, ws, f, ctx.palette.ink, x0 + ind, base)
            base += p
    return int(top - ctx.u(10))


def heading_text(ctx: Ctx, level: int, numbering: bool, counters: list[int]) -> str:
    t = ctx.text.title(7 if level == 1 else 8)
    if ctx.chance(0.15):
        t = t.upper()
    if numbering:
        counters[level - 1] += 1
        for i in range(level, len(counters)):
            counters[i] = 0
        num = ".".join(str(c) for c in counters[:level])
        t = f"{num}{'.' if level == 1 and ctx.chance(0.5) else ''} {t}"
    return t


def caption_text(ctx: Ctx, kind: str, n: int) -> str:
    lab = {"figure": ctx.choice(["Figure", "Fig.", "FIGURE"]),
           "table": ctx.choice(["Table", "TABLE"])}[kind]
    sep = ctx.choice([":", ".", " -", ""])
    return f"{lab} {n}{sep} {ctx.text.sentence(3, 16)}"


def flow_list(ctx: Ctx, flow: Flow, font, color, items: int, style: str | None = None) -> bool:
    style = style or ctx.choice(["disc", "dash", "square", "number", "letter", "circle"])
    ind = font.x_height * ctx.uniform(1.5, 3.0)
    hang = font.length("00. ") if style in ("number", "letter") else font.x_height * 2.0
    for i in range(items):
        text = ctx.text.sentence(3, 18)
        words = text.split()
        lines = wrap(font, words, flow.width - ind - hang)
        for j, ws in enumerate(lines):
            base = flow.baseline_for(font, 1.25)
            if base is None:
                return False
            if j == 0:
                if style == "number":
                    text_line(ctx, f"{i + 1}.", font, color, flow.x0 + ind, base)
                elif style == "letter":
                    text_line(ctx, f"({chr(97 + i % 26)})", font, color, flow.x0 + ind, base)
                else:
                    bullet_mark(ctx, style, flow.x0 + ind, base, font, color)
            draw_words(ctx, ws, font, color, flow.x0 + ind + hang, base)
            flow.y = base + font.descent
        flow.skip(ctx.u(2))
    return True


def flow_heading(ctx: Ctx, flow: Flow, text: str, font, color, space_before: float) -> bool:
    flow.skip(space_before)
    lines = wrap(font, text.split(), flow.width)
    need = pitch(font, 1.15) * len(lines) + pitch(ctx.body_font(), 1.3) * 2
    if flow.room() < need and flow.y > flow.top:
        if not flow.next_column():
            return False
    for ws in lines:
        base = flow.baseline_for(font, 1.15)
        if base is None:
            return False
        draw_words(ctx, ws, font, color, flow.x0, base)
        flow.y = base + font.descent
    flow.skip(ctx.u(ctx.uniform(3, 9)))
    return True


def flow_figure(ctx: Ctx, flow: Flow, number: int, caption_font) -> bool:
    w = flow.width
    h = int(w * ctx.uniform(0.4, 0.75))
    cap = caption_text(ctx, "figure", number)
    cap_lines = wrap(caption_font, cap.split(), w * 0.95)
    cap_h = pitch(caption_font, 1.2) * len(cap_lines)
    flow.skip(ctx.u(8))
    y = flow.reserve(h + cap_h + ctx.u(10))
    if y is None:
        return False
    fw = int(w * ctx.uniform(0.7, 1.0))
    fx = flow.x0 + (w - fw) // 2
    draw_figure(ctx, fx, int(y), fx + fw, int(y + h))
    base = y + h + ctx.u(8) + caption_font.ascent
    centered = ctx.chance(0.5) and len(cap_lines) == 1
    for ws in cap_lines:
        draw_words(ctx, ws, caption_font, ctx.palette.ink, flow.x0, base, w,
                   "center" if centered else "left")
        base += pitch(caption_font, 1.2)
    flow.y = base - pitch(caption_font, 1.2) + caption_font.descent
    flow.skip(ctx.u(10))
    return True


def columns_for(ctx: Ctx, x0: int, x1: int, max_cols: int = 3) -> list[tuple[int, int]]:
    """1 to 3 columns, keeping at least ~28 characters per line."""
    f = ctx.body_font()
    char_w = f.length("abcdefghijklmnopqrstuvwxyz") / 26
    gutter = int((x1 - x0) * ctx.uniform(0.025, 0.06))
    options = [n for n in range(1, max_cols + 1)
               if ((x1 - x0) - gutter * (n - 1)) / n >= 28 * char_w]
    if not options:
        options = [1]
    weights = [{1: 0.45, 2: 0.4, 3: 0.15}[n] for n in options]
    n = ctx.choice(options, p=weights)
    cw = ((x1 - x0) - gutter * (n - 1)) / n
    return [(int(x0 + i * (cw + gutter)), int(x0 + i * (cw + gutter) + cw)) for i in range(n)]


def fill_flow(ctx: Ctx, flow: Flow, figures: bool = True, max_paragraphs: int = 1000,
              heading_level_fonts=None) -> None:
    """Headings, paragraphs, lists and figures until the columns are full."""
    body = ctx.body_font()
    color = ctx.palette.ink
    align = "justify" if ctx.chance(0.55) else "left"
    leading = ctx.uniform(1.15, 1.5)
    indent_style = ctx.chance(0.5)
    first_indent = body.x_height * ctx.uniform(2, 4) if indent_style else 0.0
    para_gap = 0 if indent_style else ctx.u(ctx.uniform(4, 12))
    numbering = ctx.chance(0.5)
    counters = [0, 0, 0]
    h1 = ctx.heading_font(ctx.uniform(1.2, 1.7), bold=ctx.chance(0.85))
    h2 = ctx.heading_font(ctx.uniform(1.0, 1.25), bold=True, italic=ctx.chance(0.2))
    hcol = ctx.palette.accent if ctx.chance(0.35) else color
    cap_font = ctx.body_font(ctx.uniform(0.85, 1.0), italic=ctx.chance(0.4))
    fig_n = ctx.randint(1, 9)
    since_heading = 99
    n = 0
    while not flow.done and n < max_paragraphs:
        r = ctx.rng.random()
        if since_heading > 2 and r < 0.22:
            level = 1 if ctx.chance(0.6) else 2
            ok = flow_heading(ctx, flow, heading_text(ctx, level, numbering, counters),
                              h1 if level == 1 else h2, hcol, ctx.u(ctx.uniform(8, 18)))
            since_heading = 0
        elif figures and r < 0.32 and since_heading > 0:
            ok = flow_figure(ctx, flow, fig_n, cap_font)
            fig_n += 1
            since_heading += 1
        elif r < 0.42 and since_heading > 0:
            ok = flow_list(ctx, flow, body, color, ctx.randint(2, 6))
            flow.skip(para_gap)
            since_heading += 1
        else:
            text = ctx.text.paragraph(1, 6)
            ok = flow.paragraph(text, body, color, align, leading, first_indent)
            flow.skip(para_gap)
            since_heading += 1
            n += 1
        if not ok:
            break


# ---------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------

def title_block(ctx: Ctx, x0: int, x1: int, top: int) -> int:
    """Title, authors, affiliation and maybe an abstract; returns the new top."""
    tf = ctx.heading_font(ctx.uniform(1.8, 3.2), bold=ctx.chance(0.7))
    center = ctx.chance(0.6)
    title = ctx.text.title(12)
    lines = wrap(tf, title.split(), (x1 - x0) * 0.9)
    base = top + tf.ascent
    color = ctx.palette.accent if ctx.chance(0.3) else ctx.palette.ink
    for ws in lines[:3]:
        draw_words(ctx, ws, tf, color, x0, base, x1 - x0, "center" if center else "left")
        base += pitch(tf, 1.1)
    y = base - pitch(tf, 1.1) + tf.descent + ctx.u(10)
    af = ctx.body_font(ctx.uniform(1.0, 1.2), italic=ctx.chance(0.3))
    authors = ", ".join(ctx.text.person_name() for _ in range(ctx.randint(1, 4)))
    y = paragraph(ctx, authors, af, ctx.palette.ink, x0, y, x1 - x0,
                  "center" if center else "left")
    if ctx.chance(0.6):
        y = paragraph(ctx, ctx.text.company(), ctx.body_font(0.9, italic=True), ctx.palette.muted,
                      x0, y + ctx.u(3), x1 - x0, "center" if center else "left")
    y += ctx.u(12)
    if ctx.chance(0.5):
        lab = ctx.body_font(1.0, bold=True)
        inset = int((x1 - x0) * ctx.uniform(0.0, 0.1))
        base = y + lab.ascent
        text_line(ctx, ctx.choice(["Abstract", "ABSTRACT", "Summary"]), lab, ctx.palette.ink,
                  x0 + inset, base)
        y = base + lab.descent + ctx.u(4)
        y = paragraph(ctx, ctx.text.paragraph(2, 5), ctx.body_font(ctx.uniform(0.85, 1.0)),
                      ctx.palette.ink, x0 + inset, y, x1 - x0 - 2 * inset, "justify")
        y += ctx.u(12)
    if ctx.chance(0.5):
        ctx.canvas.hline(x0, x1, int(y), ctx.palette.rule, 1)
        y += ctx.u(10)
    return int(y)


def layout_article(ctx: Ctx) -> None:
    """Paragraphs in 1-3 columns with headings, lists, figures, header/footer, footnotes."""
    x0, x1, top, bottom = page_frame(ctx, header_p=0.6, footer_p=0.75)
    if ctx.chance(0.3):
        bottom = footnotes(ctx, x0, x1, bottom, ctx.randint(1, 3))
    if ctx.chance(0.4):
        top = title_block(ctx, x0, x1, top)
    if bottom - top < ctx.u(40):
        return
    cols = columns_for(ctx, x0, x1)
    flow = Flow(ctx, cols, top, bottom)
    fill_flow(ctx, flow, figures=ctx.chance(0.5))
    if len(cols) > 1 and ctx.chance(0.3):
        for (a, _), (_, b) in zip(cols[1:], cols[:-1]):
            xm = (a + b) // 2
            ctx.canvas.vline(xm, top, bottom, ctx.palette.rule, 1)


def layout_report(ctx: Ctx) -> None:
    """A report page: text bands and full-width figures (bar/line/pie charts) with captions."""
    x0, x1, top, bottom = page_frame(ctx, header_p=0.7, footer_p=0.8)
    n_fig = ctx.randint(1, 3)
    y = top
    cap_font = ctx.body_font(ctx.uniform(0.85, 1.0), italic=ctx.chance(0.4))
    fig_no = ctx.randint(1, 12)
    side_by_side = ctx.chance(0.3)
    for i in range(n_fig):
        if bottom - y < ctx.u(80):
            break
        # a text band
        band = int((bottom - y) * ctx.uniform(0.15, 0.45)) if i or ctx.chance(0.7) else 0
        if band > ctx.u(30):
            cols = columns_for(ctx, x0, x1, 2)
            flow = Flow(ctx, cols, y, y + band)
            fill_flow(ctx, flow, figures=False)
            y = int(max(flow.y, y) if len(cols) == 1 else y + band) + ctx.u(ctx.uniform(16, 28))
        # figure(s)
        h = int(min((bottom - y) * ctx.uniform(0.4, 0.7), (x1 - x0) * ctx.uniform(0.35, 0.6)))
        if h < ctx.u(60):
            break
        k = 2 if side_by_side and (x1 - x0) > ctx.u(450) else 1
        gap = ctx.u(20)
        fw = ((x1 - x0) - gap * (k - 1)) // k
        yb = y
        for j in range(k):
            fx0 = x0 + j * (fw + gap)
            inner = int(fw * ctx.uniform(0.75, 1.0)) if k == 1 else fw
            fx = fx0 + (fw - inner) // 2
            draw_figure(ctx, fx, y, fx + inner, y + h)
            cap = caption_text(ctx, "figure", fig_no)
            fig_no += 1
            cy = paragraph(ctx, cap, cap_font, ctx.palette.ink, fx0, y + h + ctx.u(8), fw,
                           "center" if ctx.chance(0.4) else "left", 1.2,
                           max_y=bottom)
            yb = max(yb, cy)
        y = int(yb + ctx.u(16))
    if bottom - y > ctx.u(40):
        flow = Flow(ctx, columns_for(ctx, x0, x1, 2), y, bottom)
        fill_flow(ctx, flow, figures=False)


def layout_toc(ctx: Ctx) -> None:
    """A table of contents: chapters and sections, dot leaders, right-aligned page numbers."""
    L, T, R, B = ctx.margins
    x0, x1, top, bottom = L, ctx.width - R, T, ctx.height - B
    if ctx.chance(0.6):
        bottom = footer(ctx, x0, x1, bottom, page=ctx.randint(1, 9))
    tf = ctx.heading_font(ctx.uniform(1.8, 2.8), bold=ctx.chance(0.7))
    title = ctx.choice(["Contents", "Table of Contents", "CONTENTS", "Index of Sections"])
    base = top + tf.ascent
    center = ctx.chance(0.3)
    text_line(ctx, title, tf, ctx.palette.accent if ctx.chance(0.4) else ctx.palette.ink,
              x0 + ((x1 - x0 - tf.length(title)) / 2 if center else 0), base)
    y = base + tf.descent + ctx.u(ctx.uniform(16, 30))
    f1 = ctx.body_font(ctx.uniform(1.0, 1.25), bold=ctx.chance(0.7))
    f2 = ctx.body_font(ctx.uniform(0.9, 1.05))
    leaders = ctx.rng.random()
    leader_style = "dots" if leaders < 0.65 else ("none" if leaders < 0.85 else "rule")
    dot_step = ctx.u(ctx.uniform(4, 7))
    page = ctx.randint(1, 12)
    chapter = 0
    two_level = ctx.chance(0.75)
    indent2 = int(f2.x_height * ctx.uniform(2.5, 5))
    prefix_style = ctx.choice(["num", "chapter", "none"], p=[0.6, 0.2, 0.2])
    while True:
        level = 1 if (not two_level or chapter == 0 or ctx.chance(0.3)) else 2
        f = f1 if level == 1 else f2
        p = pitch(f, ctx.uniform(1.3, 1.8))
        if level == 1:
            y += ctx.u(ctx.uniform(2, 10))
        base = y + f.ascent
        if base + f.descent > bottom:
            break
        if level == 1:
            chapter += 1
            section = 0
            pre = {"num": f"{chapter}", "chapter": f"Chapter {chapter}", "none": ""}[prefix_style]
        else:
            section += 1
            pre = f"{chapter}.{section}" if prefix_style != "none" else ""
        title = ctx.text.title(8)
        page += ctx.randint(0 if level == 2 else 1, 6)
        num = str(page)
        xs = x0 + (indent2 if level == 2 else 0)
        nx = x1 - f.length(num)
        text = f"{pre} {title}".strip() if pre else title
        text = fit(f, text, (nx - xs) * 0.85)
        lid = ctx.canvas.new_line()
        draw_words(ctx, text.split(), f, ctx.palette.ink, xs, base, line=lid)
        text_line(ctx, num, f, ctx.palette.ink, nx, base)
        end = ctx.canvas.lines[lid].words
        if end and leader_style != "none":
            tx1 = ctx.canvas.words[end[-1]].box[2] + ctx.u(6)
            lx1 = nx - ctx.u(6)
            if leader_style == "dots":
                ctx.canvas.dots(tx1, lx1, int(base), ctx.palette.ink, max(0.6, ctx.u(0.7)),
                                dot_step)
            else:
                ctx.canvas.hline(tx1, lx1, int(base - 1), ctx.palette.muted, 1, dash=(1, 2))
        y += p
