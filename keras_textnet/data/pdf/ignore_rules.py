"""Which words and lines of a PDF page a model must not learn from, and why.

An ignored word keeps its reason in its ``ignore_reason`` field. The rules, in
this order; the first that applies names the reason:

* ``diagonal``: text at an angle that is not a multiple of 90 degrees: the
  fragments (at most 3 characters, alone on their line) that
  ``pdftotext -nodiag`` drops (see :func:`_flag_diagonal` for a poppler bug);
* ``off_page``: a word running off the page edge (its text is cut);
* ``rotated``: text at 90, 180 or 270 degrees. Poppler builds each block from
  text of one direction, so a block is rotated when its multi-word lines advance
  vertically or right-to-left, or when its words' boxes vote for it: a word of
  3+ characters whose box is taller than wide, or a single character whose box
  is much wider than tall (2-character words and symbols do not vote: their
  boxes look the same both ways);
* ``no_ink``: nothing drawn where the text layer says there is text (hidden,
  white, clipped or covered text);
* ``bad_box``: the only ink touching the box lies mostly outside it (the text
  layer's font metrics are wrong, or the box only grazes a graphic);
* ``busy_background``: the "ink" fills more than 85 % of its box although the
  word has 2+ letters or digits: a picture, not glyphs;
* ``symbol_font``: part of the word is set in a symbol, dingbat, music or
  phonetic font (:data:`SYMBOL_FONT_PATTERN`, font names from
  ``pdftohtml -xml``) whose text layer does not say what is drawn (eurosym's
  euro reads "e");
* ``overlap``: the ink box overlaps another word's ink box by more than 30 % of
  the smaller one (overprinted or garbled text layers);
* ``unlisted_glyph``: ink between this word and its neighbour on the line that
  the text layer does not list: most often an underscore drawn as a rule
  (``close_output`` in TeX's typewriter font is the two words "close" and
  "output"), or a symbol drawn as a path. Both neighbours are ignored: what the
  page shows is one token whose text the layer does not give
  (:func:`unlisted_glyph_words`);
* ``punctuation``: no letter and no digit;
* ``tiny``: an estimated x-height below 5 px in the output image (from the ink
  box height and which letters the word has: ascenders, descenders; raised to
  the median of its line's words);
* ``charset``: characters outside the charset after NFKC normalization
  (ligatures such as "ﬁ" become "fi") and mapping typographic quotes, dashes
  and the minus sign to ASCII ``'`` ``"`` ``-``.

A poppler ``<line>`` becomes one :class:`~keras_textnet.data.annotation.Line`:
its box is the union of its words' boxes, its text its words joined by single
spaces. It is ignore when all its words are ignore, or when its text or box
would be wrong for a line model: a word that is diagonal, off the page,
rotated, without ink, with a bad box, on a busy background, in a symbol font,
overlapping, next to an unlisted glyph, or with characters outside the charset.
(Punctuation and tiny words do not spoil a line: its text still says what it shows.)
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from keras_textnet.charset import Charset
from keras_textnet.data.pdf.text_layer import _PLine, _PPage, _word_key

#: A word whose estimated x-height (output pixels) is below this is ``tiny``.
MIN_X_HEIGHT_PX = 5.0
#: Ink boxes overlapping by more than this fraction of the smaller one are ``overlap``.
MAX_INK_OVERLAP = 0.3

IGNORE_REASONS = ("diagonal", "off_page", "rotated", "no_ink", "bad_box", "busy_background",
                  "symbol_font", "overlap", "unlisted_glyph", "punctuation", "tiny", "charset")

#: A gap between two words of a line is inked when at least this share of its columns
#: holds ink (an underscore spans most of its advance: 7 of the 12 columns between two
#: words of a 10 pt Courier identifier at 160 dpi; a table rule is a column or two).
MIN_GAP_INK_COLUMNS = 0.4

#: Fonts whose text layer does not say what their glyphs show (no or wrong Unicode
#: mapping: the euro of eurosym reads "e", Emmentaler's note heads "."). Matched,
#: case-insensitive, against the font name without its subset prefix.
SYMBOL_FONT_PATTERN = re.compile(r"""(?ix)
    ^fey[mb] | eurosym | marvosym | ^wasy | ^lasy | ^manfnt | bbding | ^pzd | dingbat
  | wingding | webding | webomint | awesome | ^msam | ^msbm | ^stmary | mnsymbol | symbol
  | emmentaler | ^feta(?!mont) | parmesan | musix | bravura | lilyjazz | gonville
  | ^t?ipa | ^xipa | ^wsuipa | ^wncy | ^gr[mxuw][nlbo]\d | fourier-?orn | ^futs
  | ^ifsym | ^dice | ^skak | ^chess | ^cchess | ^skull | ^bbold | ^dsrom | ^cherokee""")

#: Typographic characters mapped to ASCII before the charset check (after NFKC).
TYPOGRAPHIC_TO_ASCII = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'",
    "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00ad": "-", "\u2043": "-",
}
_TYPO_TABLE = str.maketrans(TYPOGRAPHIC_TO_ASCII)


def normalize_pdf_text(text: str) -> str:
    """NFKC (ligatures, NBSP, full-width forms) then typographic quotes/dashes to ASCII."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).translate(_TYPO_TABLE))


def is_punctuation_only(text: str) -> bool:
    """True when ``text`` has no letter and no digit (Unicode categories L* and N*)."""
    return not any(unicodedata.category(c)[0] in "LN" for c in text)


# Ink extent of characters in em, relative to the baseline: (top, bottom).
_CAP_TOP, _X_TOP, _DESC = 0.70, 0.45, -0.21
_ASCENDERS = set("bdfhklt") | set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") | set("!?#$%&@/\\|'\"")
_DESCENDERS = set("gjpqy")
_BRACKETS = set("()[]{}")


def _ink_extent_em(text: str) -> float:
    """Expected height in em of the ink of ``text`` (for the x-height estimate)."""
    top, bottom = 0.0, 0.0
    for c in text:
        if c in _BRACKETS:
            top, bottom = max(top, 0.75), min(bottom, -0.25)
            continue
        if c in _ASCENDERS or (c.isalpha() and c.isupper()):
            top = max(top, _CAP_TOP)
        elif c in "ij":
            top = max(top, 0.66)
        elif c.isalpha():
            top = max(top, _X_TOP)
        elif c in ",;":
            top, bottom = max(top, 0.1), min(bottom, -0.15)
        elif c in "-~=+*<>:":
            top = max(top, 0.35)
        else:
            top = max(top, 0.1)
        if c in _DESCENDERS:
            bottom = min(bottom, _DESC)
    return max(top - bottom, 0.1)


def estimate_x_height(text: str, ink_height: float) -> float:
    """x-height (same unit as ``ink_height``) of a word of ``text`` whose ink is that tall."""
    return _X_TOP * ink_height / _ink_extent_em(text)


def _font_name(family: str) -> str:
    """``ABCDEF+TeX-feymr10`` -> ``feymr10``: no subset tag, no ``TeX-`` prefix."""
    name = family.split("+", 1)[-1]
    return name[4:] if name.lower().startswith("tex-") else name


def _flag_symbol_fonts(page: _PPage, runs: np.ndarray) -> None:
    """Sets ``symbol_font`` on words holding text of a symbol-font run."""
    if not len(runs) or not page.words:
        return
    wb = np.asarray([w.box for w in page.words], np.float64)
    # A zero-width run (vertical text) gets a nominal width.
    r = runs.copy()
    r[:, 2] = np.maximum(r[:, 2], r[:, 0] + 0.5)
    iw = np.minimum(wb[:, None, 2], r[None, :, 2]) - np.maximum(wb[:, None, 0], r[None, :, 0])
    ih = np.minimum(wb[:, None, 3], r[None, :, 3]) - np.maximum(wb[:, None, 1], r[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    run_area = np.maximum((r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1]), 1e-6)
    hit = (inter / run_area[None, :] > 0.3).any(axis=1)
    for w, flag in zip(page.words, hit):
        w.symbol_font = w.symbol_font or bool(flag)


def _flag_diagonal(page: _PPage, kept: set[tuple]) -> None:
    """Sets ``diagonal`` on the words that ``pdftotext -nodiag`` dropped, with care.

    Poppler builds diagonal text out of short fragments, each alone on its line
    (every character sits on its own baseline). Its ``-nodiag`` has a bug: after
    a diagonal character in a PDF without space characters (TeX output), it
    drops every later character too. When it dropped anything but fragments,
    only fragments with another fragment diagonally next to them count.
    """
    missing = [i for i, w in enumerate(page.words) if _word_key(w) not in kept]
    if not missing:
        return

    def fragment(i: int) -> bool:
        return len(page.lines[page.words[i].line].words) == 1 and len(page.words[i].text) <= 3

    if all(fragment(i) for i in missing):
        for i in missing:
            page.words[i].diagonal = True
        return
    cand = [i for i in missing if fragment(i)]
    if len(cand) < 2:
        return
    b = np.asarray([page.words[i].box for i in cand], np.float64)
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    dx, dy = np.abs(cx[:, None] - cx[None, :]), np.abs(cy[:, None] - cy[None, :])
    small = np.minimum(size[:, None], size[None, :])
    near = (np.hypot(dx, dy) < 1.2 * np.maximum(size[:, None], size[None, :])) \
        & (dx > 0.25 * small) & (dy > 0.25 * small)
    np.fill_diagonal(near, False)
    for k in np.flatnonzero(near.any(axis=1)):
        page.words[cand[k]].diagonal = True


def _rotated_blocks(page: _PPage) -> set[int]:
    """Blocks whose text is not upright (90, 180 or 270 degrees)."""
    votes: dict[int, list[float]] = {}
    strong: set[int] = set()
    for ln in page.lines:
        v = votes.setdefault(ln.block, [0.0, 0.0])          # [upright, rotated]
        if len(ln.words) >= 2:
            a, b = page.words[ln.words[0]].box, page.words[ln.words[-1]].box
            dx = (b[0] + b[2] - a[0] - a[2]) / 2
            dy = (b[1] + b[3] - a[1] - a[3]) / 2
            if abs(dy) > abs(dx) or dx < 0:
                strong.add(ln.block)
            else:
                v[0] += 3.0
        for i in ln.words:
            w = page.words[i]
            n = len(w.text)
            bw, bh = w.box[2] - w.box[0], w.box[3] - w.box[1]
            if bw <= 0 or bh <= 0 or is_punctuation_only(w.text):
                continue              # symbols (one glyph for ':=', say) do not vote
            if n >= 3:
                if bh > 1.1 * bw:
                    v[1] += n
                elif bw > bh:
                    v[0] += n
            elif n == 1:
                if bw > 1.3 * bh:
                    v[1] += 1
                elif bw < 0.9 * bh:
                    v[0] += 1
    return strong | {b for b, (up, rot) in votes.items() if rot > up}


def _is_vertical_line(page: _PPage, ln: _PLine) -> bool:
    """A rotated line runs vertically (90/270) rather than upside down (180)."""
    ws = [page.words[i].box for i in ln.words]
    x0 = min(b[0] for b in ws)
    y0 = min(b[1] for b in ws)
    x1 = max(b[2] for b in ws)
    y1 = max(b[3] for b in ws)
    if len(ws) >= 2:
        dx = abs(ws[-1][0] + ws[-1][2] - ws[0][0] - ws[0][2])
        dy = abs(ws[-1][1] + ws[-1][3] - ws[0][1] - ws[0][3])
        return dy > dx
    return (y1 - y0) > (x1 - x0) or len(page.words[ln.words[0]].text) == 1


def _overlapping_pairs(boxes: np.ndarray, frac: float) -> np.ndarray:
    """Indices of boxes overlapping another by more than ``frac`` of the smaller area."""
    if len(boxes) < 2:
        return np.zeros((0,), np.int64)
    b = boxes.astype(np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iw = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    ih = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
    smaller = np.minimum(area[:, None], area[None, :])
    heavy = inter > frac * np.maximum(smaller, 1)
    np.fill_diagonal(heavy, False)
    return np.flatnonzero(heavy.any(axis=1))


#: Word reasons that spoil the text or the box of the word's line (punctuation and
#: tiny words do not: the line's text still says what it shows).
_LINE_SPOILING_REASONS = frozenset({"diagonal", "off_page", "rotated", "no_ink", "bad_box",
                                    "busy_background", "symbol_font", "overlap",
                                    "unlisted_glyph", "charset"})


def _run_overhang(rows: np.ndarray, gap_start: int, gap_end: int) -> int:
    """How far (pixels) the longest unbroken run of ink through the gap ``[gap_start,
    gap_end)`` of ``rows`` (ink rows x columns) reaches beyond it on either side: a
    glyph in the gap ends there (an underscore on the baseline only touches the
    feet of the letters beside it), a rule or an underline runs on under the words."""
    best = 0
    padded = np.pad(rows.astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1)
    for row in range(rows.shape[0]):
        starts, ends = np.flatnonzero(edges[row] == 1), np.flatnonzero(edges[row] == -1)
        for a, b in zip(starts, ends):
            if a < gap_end and b > gap_start:
                best = max(best, gap_start - int(a), int(b) - gap_end)
    return best


def unlisted_glyph_words(image: np.ndarray, page: _PPage, final: np.ndarray,
                         ink_found: np.ndarray, line_rotated: list[bool]) -> set[int]:
    """The words next to ink, between them and a neighbour on their line, that no word owns.

    For two neighbouring words of an upright line (their ink boxes ``final``), the
    gap between their ink boxes, over the rows of the two words and a quarter of a
    line height below them (where an underscore sits), is inked when at least
    :data:`MIN_GAP_INK_COLUMNS` of its columns hold ink: a pixel whose lightest
    channel differs from the gap's median by more than ``max(20, 0.4 * contrast)``,
    ``contrast`` being the largest difference inside the two words (on the lightest
    channel, a slide's pale grid behind the words is paper). Not counted: ink that spans the
    window's full height (a rule between table cells) and ink that runs on unbroken
    under a word by more than a line height (an underline, a frame's edge below
    the line; an underscore on the baseline only touches the letters' feet).
    """
    gray = image.astype(np.int16)
    if gray.ndim == 3:               # the lightest channel: coloured text stays ink, and a
        gray = gray.max(axis=2)      # light tint behind it (a slide's grid) stays paper
    height = gray.shape[0]
    found: set[int] = set()
    for li, ln in enumerate(page.lines):
        if line_rotated[li]:
            continue
        idx = sorted((i for i in ln.words if ink_found[i]), key=lambda i: final[i, 0])
        for a, b in zip(idx, idx[1:]):
            ax0, ay0, ax1, ay1 = (int(v) for v in final[a])
            bx0, by0, bx1, by1 = (int(v) for v in final[b])
            line_h = max(ay1, by1) - min(ay0, by0)
            if bx0 - ax1 < 2 or line_h < 4 or bx0 - ax1 > 2 * line_h:
                continue
            y0 = max(0, min(ay0, by0))
            y1 = min(height, max(ay1, by1) + max(1, line_h // 4))
            gap = gray[y0:y1, ax1:bx0]
            bg = int(np.median(gap))
            contrast = max(int(np.abs(gray[ay0:ay1, ax0:ax1] - bg).max(initial=0)),
                           int(np.abs(gray[by0:by1, bx0:bx1] - bg).max(initial=0)))
            if contrast < 40:
                continue
            level = max(20, 0.4 * contrast)
            ink = np.abs(gap - bg) > level
            if ink.any(axis=1).all():
                continue                       # ink over the full height: a rule
            if ink.any(axis=0).mean() < MIN_GAP_INK_COLUMNS:
                continue
            rows = np.abs(gray[np.flatnonzero(ink.any(axis=1)) + y0, ax0:bx1] - bg) > level
            if _run_overhang(rows, ax1 - ax0, bx0 - ax0) > line_h:
                continue                       # a rule or an underline passing under the words
            found.update((a, b))
    return found


def _word_ignore_reasons(page: _PPage, texts: list[str], final: np.ndarray,
                         ink_found: np.ndarray, status: list[str], fill: np.ndarray,
                         cut: np.ndarray, line_rotated: list[bool], line_vertical: list[bool],
                         charset: Charset, unlisted: set[int] = frozenset()) -> list[str | None]:
    """The ignore reason of every word of ``page`` (``None``: kept), by the rules above.

    Args:
        page: the text layer, its words flagged ``diagonal`` and ``symbol_font``.
        texts: the words' normalized texts (:func:`normalize_pdf_text`).
        final: ``(num_words, 4)`` int boxes ``(x0, y0, x1, y1)`` in pixels, tight to
            the ink where ``ink_found``.
        ink_found: ``(num_words,)`` bool, the word's ink was found.
        status: each word's :class:`~keras_textnet.data.pdf.ink.InkBox` status.
        fill: ``(num_words,)`` share of each ink box's pixels that are ink.
        cut: ``(num_words,)`` bool, the word runs off the page edge.
        line_rotated: per line, its text is rotated (90, 180 or 270 degrees).
        line_vertical: per line, it is rotated and runs vertically.
        charset: words with other characters are ``charset``.
        unlisted: the words next to an unlisted glyph (:func:`unlisted_glyph_words`).
    """
    n = len(page.words)
    reason: list[str | None] = [None] * n
    # x-height: each word's estimate, raised to its line's median (brackets and
    # odd fonts make single estimates low; the line's words share a font size).
    x_height = np.zeros(n)
    for i in range(n):
        if ink_found[i]:
            vertical = line_vertical[page.words[i].line]
            extent = (final[i, 2] - final[i, 0]) if vertical else (final[i, 3] - final[i, 1])
            x_height[i] = estimate_x_height(texts[i], float(extent))
    for ln in page.lines:
        votes = [x_height[i] for i in ln.words
                 if ink_found[i] and sum(c.isalnum() for c in texts[i]) >= 2]
        if votes:
            median = float(np.median(votes))
            for i in ln.words:
                x_height[i] = max(x_height[i], median)
    overlap = set(_overlapping_pairs(final[ink_found], MAX_INK_OVERLAP).tolist())
    overlap = {int(np.flatnonzero(ink_found)[k]) for k in overlap}
    for i, w in enumerate(page.words):
        li = w.line
        text = texts[i]
        if w.diagonal:
            reason[i] = "diagonal"
        elif cut[i]:
            reason[i] = "off_page"
        elif line_rotated[li]:
            reason[i] = "rotated"
        elif not ink_found[i]:
            reason[i] = "busy_background" if status[i] == "busy" else status[i]
        elif fill[i] > 0.85 and sum(c.isalnum() for c in text) >= 2:
            reason[i] = "busy_background"          # a solid block: a picture, not letters
        elif w.symbol_font:
            reason[i] = "symbol_font"
        elif i in overlap:
            reason[i] = "overlap"
        elif i in unlisted:
            reason[i] = "unlisted_glyph"
        else:
            if is_punctuation_only(text):
                reason[i] = "punctuation"
            elif x_height[i] < MIN_X_HEIGHT_PX:
                reason[i] = "tiny"
            elif not charset.can_encode(text):
                reason[i] = "charset"
    return reason


def _line_ignored(reasons: list[str | None], text: str, charset: Charset) -> bool:
    """A line is ignore when all its words are, when one of them spoils its text or box,
    or when its text has characters outside the charset."""
    return (all(r is not None for r in reasons)
            or any(r in _LINE_SPOILING_REASONS for r in reasons) or not charset.can_encode(text))
