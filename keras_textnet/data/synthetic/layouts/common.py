"""What every layout shares: the page context, the page's style, typesetting helpers.

Units: layouts draw on the *render* canvas (``ctx.width`` x ``ctx.height`` pixels).
Type sizes are asked for as x-heights in *final-image* pixels (``ctx.font(face, xh)``),
so that ``min_x_height`` holds in the image the model sees even when the generator
renders larger or smaller and rescales at the end. ``ctx.u`` converts a final-image
length to render pixels.
"""

from __future__ import annotations

import colorsys
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from keras_textnet.data.synthetic.canvas import Font, PageCanvas, x_height_ratio

# ---------------------------------------------------------------------------
# Fonts at sizes
# ---------------------------------------------------------------------------

_FONTS: OrderedDict = OrderedDict()
_FONTS_CAPACITY = 3000
_FONTS_LOCK = threading.Lock()


def font_at(library, face, size: int) -> Font:
    """A cached :class:`Font` of ``face`` at ``size`` pixels (thread-safe)."""
    size = max(4, int(size))
    key = (face.path, getattr(face, "index", 0), size)
    with _FONTS_LOCK:
        f = _FONTS.get(key)
        if f is not None:
            _FONTS.move_to_end(key)
            return f
    ratio = x_height_ratio(library.pil_font(face, 100), face.path)
    f = Font(face, size, library.pil_font(face, size), ratio)
    with _FONTS_LOCK:
        _FONTS[key] = f
        if len(_FONTS) > _FONTS_CAPACITY:
            _FONTS.popitem(last=False)
    return f


# ---------------------------------------------------------------------------
# Colours
# ---------------------------------------------------------------------------

INKS = [(0, 0, 0), (12, 12, 12), (25, 25, 25), (35, 35, 40), (20, 24, 38), (40, 40, 40),
        (15, 25, 60), (30, 30, 30), (50, 45, 40), (0, 0, 0), (10, 10, 10)]


def hsv(h, s, v) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(float(h) % 1.0, float(s), float(v))
    return (int(round(r * 255)), int(round(g * 255)), int(round(b * 255)))


def mix(c0, c1, t: float) -> tuple[int, int, int]:
    return tuple(int(round(a * (1 - t) + b * t)) for a, b in zip(c0, c1))


@dataclass
class Palette:
    ink: tuple          # body text
    accent: tuple       # headings, rules, logos (dark enough for text on light)
    accent2: tuple      # a second accent
    light: tuple        # a light tint of the accent (panels, zebra rows)
    muted: tuple        # secondary text (captions, footers)
    rule: tuple         # rules and borders
    paper: tuple        # the page colour (approximate)
    dark: tuple         # dark panel colour (light-on-dark text)
    on_dark: tuple      # text colour on ``dark``


def sample_palette(rng: np.random.Generator, paper) -> Palette:
    ink = INKS[int(rng.integers(len(INKS)))]
    h = rng.random()
    accent = hsv(h, rng.uniform(0.45, 0.95), rng.uniform(0.30, 0.62))
    accent2 = hsv(h + rng.uniform(0.25, 0.75), rng.uniform(0.4, 0.9), rng.uniform(0.35, 0.65))
    light = mix(accent, (255, 255, 255), rng.uniform(0.82, 0.93))
    g = int(rng.integers(70, 120))
    muted = (g, g, g) if rng.random() < 0.7 else mix(accent, (128, 128, 128), 0.5)
    rule = ink if rng.random() < 0.5 else (accent if rng.random() < 0.5 else muted)
    dark_choice = rng.random()
    if dark_choice < 0.5:
        dark = mix(accent, (0, 0, 0), rng.uniform(0.0, 0.4))
    elif dark_choice < 0.8:
        d = int(rng.integers(25, 70))
        dark = (d, d, d + int(rng.integers(0, 20)))
    else:
        dark = hsv(rng.random(), rng.uniform(0.5, 0.9), rng.uniform(0.25, 0.5))
    on_dark = (255, 255, 255) if rng.random() < 0.75 else hsv(rng.uniform(0.1, 0.18),
                                                               rng.uniform(0.2, 0.7), 1.0)
    return Palette(ink, accent, accent2, light, muted, rule, tuple(int(v) for v in paper), dark,
                   on_dark)


# ---------------------------------------------------------------------------
# The page style: faces and sizes
# ---------------------------------------------------------------------------

def pick_face(library, rng, family: str | None, bold: bool = False, italic: bool = False,
              monospace: bool | None = None, serif: bool | None = None):
    """A face of ``family`` with the wanted flags, preferring regular/bold weights."""
    faces = None
    if family is not None:
        faces = [f for f in library.faces_of(family) if f.bold == bold and f.italic == italic]
        if not faces:
            faces = [f for f in library.faces_of(family) if f.bold == bold] or None
    if not faces:
        return library.sample(rng, monospace=monospace, bold=bold, italic=italic, serif=serif)
    target = 700 if bold else 400
    faces = sorted(faces, key=lambda f: (abs(f.weight - target), f.path))
    if len(faces) > 1 and rng.random() < 0.25:
        return faces[int(rng.integers(len(faces)))]
    return faces[0]


class FaceSet:
    """Regular / bold / italic / bold-italic faces of one family."""

    def __init__(self, library, rng, family=None, monospace=None, serif=None):
        if family is None:
            family = library.sample(rng, monospace=monospace, serif=serif).family
        self.family = family
        self.regular = pick_face(library, rng, family, False, False, monospace, serif)
        self.bold = pick_face(library, rng, family, True, False, monospace, serif)
        self.italic = pick_face(library, rng, family, False, True, monospace, serif)
        self.bold_italic = pick_face(library, rng, family, True, True, monospace, serif)

    def get(self, bold=False, italic=False):
        if bold and italic:
            return self.bold_italic
        if bold:
            return self.bold
        if italic:
            return self.italic
        return self.regular


# ---------------------------------------------------------------------------
# The page context
# ---------------------------------------------------------------------------

class Ctx:
    """Everything a layout needs to draw one page.

    Attributes:
        rng: the page's generator (the only randomness).
        canvas: the :class:`PageCanvas` to draw on.
        library: the ``FontLibrary``.
        text: a :class:`TextSource`.
        width, height: render canvas size.
        unit: render pixels per final-image pixel.
        min_xh: smallest x-height allowed, final-image pixels.
        palette: the page's colours.
        body, heading, mono: :class:`FaceSet` of the body, headings and code.
        body_xh: body text x-height (final pixels).
        margins: ``(left, top, right, bottom)`` render pixels.
    """

    def __init__(self, rng, canvas: PageCanvas, library, text, unit: float, min_xh: float,
                 paper):
        self.rng = rng
        self.canvas = canvas
        self.library = library
        self.text = text
        self.width = canvas.width
        self.height = canvas.height
        self.unit = float(unit)
        self.min_xh = float(min_xh)
        self.palette = sample_palette(rng, paper)
        serif = bool(rng.random() < 0.5)
        self.body = FaceSet(library, rng, serif=serif, monospace=False)
        r = rng.random()
        if r < 0.45:
            self.heading = self.body
        else:
            self.heading = FaceSet(library, rng, serif=(not serif) if r < 0.8 else None,
                                   monospace=False)
        self.mono = FaceSet(library, rng, monospace=True)
        # body text keeps ~55+ characters per full-width line
        self.body_xh = max(self.min_xh, min(self.sample_body_xh(),
                                            self.width / self.unit / (55 * 1.05)))
        scale = min(self.width, self.height * 0.8) / 768.0
        m = rng.uniform(0.045, 0.11) * self.width
        self.margins = (int(m * rng.uniform(0.8, 1.2)), int(m * rng.uniform(0.7, 1.2)),
                        int(m * rng.uniform(0.8, 1.2)), int(m * rng.uniform(0.7, 1.2)))
        self.page_scale = scale
        # hyperlinks: most pages have none; some underline a run of words now and
        # then, a few (menus, tables of contents of HTML manuals) nearly every line
        self.link_rate = float(rng.choice([0.0, 0.08, 0.3, 0.8], p=[0.75, 0.12, 0.08, 0.05]))
        # math variables (x, n, f) in TeX's math italic: papers and reference cards
        self.math_face = getattr(library, "math_italic", None)
        self.math_rate = 0.0 if self.math_face is None else \
            float(rng.choice([0.0, 0.1, 0.35], p=[0.7, 0.2, 0.1]))

    # -- sizes --------------------------------------------------------------
    def u(self, final_px: float) -> int:
        """Render pixels of a final-image length."""
        return int(round(final_px * self.unit))

    def sample_body_xh(self, lo: float = 1.0, hi: float = 1.4) -> float:
        r = self.rng.random()
        if r < 0.8:
            f = self.rng.uniform(lo, hi)
        elif r < 0.96:
            f = self.rng.uniform(hi, hi + 0.4)
        else:
            f = self.rng.uniform(hi + 0.4, hi + 1.0)
        return self.min_xh * f

    def xh_for(self, width: float, chars: int) -> float:
        """The x-height (final px) at which about ``chars`` characters fill ``width`` render px."""
        return max(self.min_xh, width / self.unit / (chars * 1.05))

    def font(self, face, xh: float) -> Font:
        """``face`` sized so that its x-height is ``xh`` final pixels (at least min_xh)."""
        xh = max(xh, self.min_xh)
        ratio = x_height_ratio(self.library.pil_font(face, 100), face.path)
        size = max(4, int(math.ceil(xh * self.unit / ratio)))
        return font_at(self.library, face, size)

    def tiny_font(self, face, xh: float) -> Font:
        """A font that may go below ``min_xh`` (fine print; such words become ignore)."""
        ratio = x_height_ratio(self.library.pil_font(face, 100), face.path)
        return font_at(self.library, face, max(4, int(round(xh * self.unit / ratio))))

    def body_font(self, scale: float = 1.0, bold=False, italic=False) -> Font:
        return self.font(self.body.get(bold, italic), self.body_xh * scale)

    def heading_font(self, scale: float, bold=True, italic=False) -> Font:
        return self.font(self.heading.get(bold, italic), self.body_xh * scale)

    def mono_font(self, scale: float = 1.0, bold=False) -> Font:
        return self.font(self.mono.get(bold, False), self.body_xh * scale)

    # -- randomness shorthands ----------------------------------------------
    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def randint(self, lo: int, hi: int) -> int:
        """Uniform integer in ``[lo, hi]`` (inclusive)."""
        return int(self.rng.integers(lo, hi + 1))

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def choice(self, seq, p=None):
        if p is not None:
            p = np.asarray(p, np.float64)
            return seq[int(self.rng.choice(len(seq), p=p / p.sum()))]
        return seq[int(self.rng.integers(len(seq)))]


# ---------------------------------------------------------------------------
# Typesetting
# ---------------------------------------------------------------------------

def pitch(font: Font, leading: float = 1.2) -> int:
    """Baseline-to-baseline distance keeping ascenders and descenders apart."""
    return int(math.ceil(max(font.ascent + font.descent + 2, font.size * leading)))


def wrap(font: Font, words: list[str], width: float, first_indent: float = 0.0
         ) -> list[list[str]]:
    """Greedy line breaking of ``words`` into lines at most ``width`` wide."""
    lines: list[list[str]] = []
    cur: list[str] = []
    cur_w = first_indent
    avail = width
    for w in words:
        wl = font.length(w)
        if wl > width:   # a word longer than the column: cut it
            while w and font.length(w) > width:
                w = w[:-1]
            if not w:
                continue
            wl = font.length(w)
        add = wl if not cur else font.space + wl
        if cur and cur_w + add > avail:
            lines.append(cur)
            cur, cur_w = [w], wl
        else:
            cur.append(w)
            cur_w += add
    if cur:
        lines.append(cur)
    return lines


def fit(font: Font, text: str, width: float) -> str:
    """``text`` shortened (whole words, then characters) to fit ``width``."""
    if font.length(text) <= width:
        return text
    words = text.split(" ")
    while len(words) > 1 and font.length(" ".join(words)) > width:
        words.pop()
    t = " ".join(words)
    while t and font.length(t) > width:
        t = t[:-1]
    return t.rstrip()


def draw_words(ctx: Ctx, words: list[str], font: Font, color, x: float, baseline: float,
               width: float | None = None, align: str = "left", last: bool = True,
               line: int | None = None, max_x1: int | None = None) -> int:
    """One line of words aligned in ``[x, x + width]``; returns the line id."""
    if not words:
        return ctx.canvas.new_line() if line is None else line
    natural = sum(font.length(w) for w in words) + font.space * (len(words) - 1)
    extra = 0.0
    if width is not None:
        if align == "justify" and not last and len(words) > 1:
            extra = (width - natural) / (len(words) - 1)
            if extra > 5.0 * font.space + 4:
                extra = 0.0
            extra = max(0.0, extra)
        elif align == "right":
            x = x + width - natural
        elif align == "center":
            x = x + (width - natural) / 2.0
    if ctx.link_rate > 0 and ctx.chance(ctx.link_rate):
        if ctx.chance(0.4):
            i, j = 0, len(words)
        else:
            i = ctx.randint(0, len(words) - 1)
            j = ctx.randint(i + 1, min(len(words), i + 4))
        return _draw_with_span(ctx, words, i, j, font, font, color, x, baseline, extra, line,
                               max_x1, underline=True)
    if ctx.math_rate > 0 and ctx.chance(ctx.math_rate):
        i = ctx.randint(0, len(words) - 1)
        variable = ctx.choice(MATH_VARIABLES) if ctx.chance(0.8) else \
            ctx.choice(MATH_VARIABLES) + ctx.choice(MATH_VARIABLES)
        math_font = ctx.font(ctx.math_face, font.x_height / ctx.unit)
        return _draw_with_span(ctx, [*words[:i], variable, *words[i + 1:]], i, i + 1, font,
                               math_font, color, x, baseline, extra, line, max_x1)
    lid, _ = ctx.canvas.draw_text(" ".join(words), x, baseline, font, color, line=line,
                                  word_spacing=extra, max_x1=max_x1)
    return lid


#: Letters that name variables in papers and reference cards, the common ones repeated.
MATH_VARIABLES = "xxxyynnnkkiijftabcmpqrsuvzzAFGKLMNPSTX"


def _draw_with_span(ctx: Ctx, words: list[str], i: int, j: int, font: Font, span_font: Font,
                    color, x: float, baseline: float, extra: float, line: int | None,
                    max_x1: int | None, underline: bool = False) -> int:
    """One line whose words ``[i, j)`` are set apart: underlined (a link) or in ``span_font``."""
    n = len(words)
    for k, (a, b) in enumerate(((0, i), (i, j), (j, n))):
        if a == b:
            continue
        run_font = span_font if k == 1 else font
        line, x_end = ctx.canvas.draw_text(" ".join(words[a:b]), x, baseline, run_font, color,
                                           line=line, word_spacing=extra, max_x1=max_x1,
                                           underline=underline and k == 1)
        x = x_end + font.space + extra
    return line


def text_line(ctx: Ctx, text: str, font: Font, color, x: float, baseline: float,
              width: float | None = None, align: str = "left", line: int | None = None) -> int:
    """Draws ``text`` (fitted into ``width`` when given) on one baseline."""
    if width is not None:
        text = fit(font, text, width)
    return draw_words(ctx, [w for w in text.split(" ") if w] if align != "pre" else text,
                      font, color, x, baseline, width, "left" if align == "pre" else align)


def paragraph(ctx: Ctx, text: str, font: Font, color, x: float, y: float, width: float,
              align: str = "left", leading: float = 1.25, first_indent: float = 0.0,
              max_y: float | None = None) -> float:
    """Sets a paragraph from its top ``y``; returns the y below its last line.

    Lines that would pass ``max_y`` are not drawn.
    """
    words = [w for w in text.split(" ") if w]
    lines = wrap(font, words, width, first_indent)
    p = pitch(font, leading)
    baseline = y + font.ascent
    for i, ws in enumerate(lines):
        if max_y is not None and baseline + font.descent > max_y:
            return baseline - font.ascent
        indent = first_indent if i == 0 else 0.0
        draw_words(ctx, ws, font, color, x + indent, baseline, width - indent, align,
                   last=(i == len(lines) - 1))
        baseline += p
    return baseline - p + font.descent


class Flow:
    """Flows lines down a sequence of columns.

    Args:
        columns: ``[(x0, x1), ...]`` horizontal extents, in reading order.
        top, bottom: vertical extent shared by the columns.
    """

    def __init__(self, ctx: Ctx, columns: list[tuple[int, int]], top: float, bottom: float):
        self.ctx = ctx
        self.columns = columns
        self.top = top
        self.bottom = bottom
        self.col = 0
        self.y = float(top)

    @property
    def done(self) -> bool:
        return self.col >= len(self.columns)

    @property
    def x0(self) -> int:
        return self.columns[min(self.col, len(self.columns) - 1)][0]

    @property
    def x1(self) -> int:
        return self.columns[min(self.col, len(self.columns) - 1)][1]

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    def next_column(self) -> bool:
        self.col += 1
        if self.done:
            self.y = float(self.bottom)     # the flow is full
            return False
        self.y = float(self.top)
        return True

    def room(self) -> float:
        return self.bottom - self.y

    def reserve(self, height: float) -> float | None:
        """Top y of a block of ``height`` (moving to the next column if needed)."""
        while not self.done:
            if self.y + height <= self.bottom:
                y = self.y
                self.y += height
                return y
            if self.y <= self.top:      # too tall even for an empty column
                return None
            self.next_column()
        return None

    def skip(self, height: float):
        """Vertical space, except at the top of a column."""
        if self.y > self.top:
            self.y = min(self.bottom, self.y + height)

    def baseline_for(self, font: Font, leading: float = 1.25) -> float | None:
        """The baseline of the next line in ``font`` (moving column if needed)."""
        p = pitch(font, leading)
        while not self.done:
            if self.y <= self.top:
                baseline = self.top + font.ascent
            else:
                baseline = self.y + p - font.descent
            if baseline + font.descent <= self.bottom:
                return baseline
            if self.y <= self.top:
                return None
            self.next_column()
        return None

    def paragraph(self, text: str, font: Font, color, align: str = "left", leading=1.25,
                  first_indent: float = 0.0, indent: float = 0.0) -> bool:
        """Flows a paragraph; returns False when the columns ran out."""
        words = [w for w in text.split(" ") if w]
        lines = wrap(font, words, self.width - indent, first_indent)
        for i, ws in enumerate(lines):
            baseline = self.baseline_for(font, leading)
            if baseline is None:
                return False
            ind = (first_indent if i == 0 else 0.0) + indent
            draw_words(self.ctx, ws, font, color, self.x0 + ind, baseline, self.width - ind,
                       align, last=(i == len(lines) - 1))
            self.y = baseline + font.descent
        return True


def bullet_mark(ctx: Ctx, kind: str, x: float, baseline: float, font: Font, color):
    """A list bullet drawn as graphics at the x-height middle; returns its width."""
    xh = font.x_height
    cy = baseline - xh / 2.0
    r = max(1.5, xh * 0.22)
    if kind == "disc":
        ctx.canvas.circle(x + r, cy, r, color, filled=True)
        return 2 * r
    if kind == "circle":
        ctx.canvas.circle(x + r, cy, r, color, filled=False, thickness=1)
        return 2 * r + 1
    if kind == "square":
        s = int(round(r * 1.7))
        ctx.canvas.rule(int(x), int(cy - s / 2), int(x) + s, int(cy - s / 2) + s, color)
        return s
    if kind == "dash":
        w = int(round(xh * 0.7))
        t = max(1, int(round(xh * 0.12)))
        ctx.canvas.rule(int(x), int(cy), int(x) + w, int(cy) + t, color)
        return w
    if kind == "arrow":
        s = xh * 0.5
        ctx.canvas.polyline([(x, cy - s), (x + s * 1.2, cy), (x, cy + s)], color, filled=True)
        return s * 1.2
    return 0.0


def tick_box(ctx: Ctx, x: int, y: int, size: int, color, checked: bool, mark_color=None,
             style: str | None = None):
    """A square check box with its top-left at ``(x, y)``; optionally ticked or crossed."""
    t = max(1, size // 12)
    ctx.canvas.frame(x, y, x + size, y + size, color, t)
    if not checked:
        return
    mc = mark_color or color
    style = style or ctx.choice(["tick", "cross", "fill"])
    s = size
    if style == "tick":
        pts = [(x + 0.2 * s, y + 0.55 * s), (x + 0.42 * s, y + 0.78 * s),
               (x + 0.82 * s, y + 0.22 * s)]
        ctx.canvas.polyline(pts, mc, thickness=max(1, s // 7))
    elif style == "cross":
        th = max(1, s // 8)
        ctx.canvas.polyline([(x + 0.22 * s, y + 0.22 * s), (x + 0.78 * s, y + 0.78 * s)], mc, th)
        ctx.canvas.polyline([(x + 0.78 * s, y + 0.22 * s), (x + 0.22 * s, y + 0.78 * s)], mc, th)
    else:
        m = max(2, s // 4)
        ctx.canvas.rule(x + m, y + m, x + s - m, y + s - m, mc)
