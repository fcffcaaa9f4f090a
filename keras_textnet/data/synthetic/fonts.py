"""Fonts for synthetic documents: which faces exist, and which characters each really draws.

A :class:`FontLibrary` finds the TrueType/OpenType faces on the machine
(matplotlib's bundled fonts, the system font folders, and any folders you
name), reads their metadata with fontTools, and keeps one :class:`FontFace`
per usable face. Sampling is uniform over families first, so a family that
ships eighteen weights does not crowd out one that ships a single face.

Each face carries ``characters``: the printable-ASCII characters (plus space)
that it *really* draws. A character counts only when

* the face's Unicode cmap maps it to a real glyph (not ``.notdef``),
* the glyph has ink (visible characters) or an advance (space), and
* the glyph's PostScript name, where the face has one, names that character
  or an accepted typographic form of it (``quoteright`` for ``'``).

The last rule is what catches matplotlib's Computer Modern fonts (``cm*.ttf``,
the BaKoMa TrueType conversions), which map ASCII code points to the glyphs at
the same positions of TeX's OT1 encoding. Measured on those files (glyph names
read with fontTools, and rendered next to DejaVu to confirm):

* cmr10, cmb10, cmti10, cmss10: 11 characters excluded. ``"`` draws ``quotedblright``
  (a closing double quote), ``<`` ``exclamdown`` (an inverted !), ``>``
  ``questiondown`` (an inverted ?), backslash ``quotedblleft`` (an opening double
  quote), ``^`` a small raised ``circumflex`` accent, ``_`` ``dotaccent`` (a raised
  dot), backquote ``quoteleft`` (an opening single quote), ``{`` ``endash``, ``|``
  ``emdash``, ``}`` ``hungarumlaut`` (a double acute accent), ``~`` a small raised
  ``tilde`` accent.
* cmtt10: 1 character excluded, backquote (``quoteleft``); its other ASCII glyphs
  are right.
* All five keep ``'``, drawn as ``quoteright``: the typeset apostrophe.

cmmi10, cmsy10 and cmex10 are math fonts and are skipped. The same list is also
hard-coded (:data:`_COMPUTER_MODERN`) in case a copy of these fonts comes
without glyph names. A scan of the other fonts installed here (DejaVu,
Liberation, URW base35, TeX Gyre, Lato, Roboto, Open Sans, Noto Mono, FreeFont,
Caladea, Carlito, STIX) found every ASCII glyph inked and named correctly;
Liberation's ``;`` and ``-`` share the glyphs of U+037E and U+00AD and carry
their names, which the check accepts.

Example:

>>> import numpy as np
>>> lib = FontLibrary.discover()
>>> face = lib.sample(np.random.default_rng(0), monospace=True)
>>> face.monospace
True
>>> font = lib.pil_font(face, 24)          # a PIL.ImageFont.FreeTypeFont
>>> restrict_to_face("a<b", face) in ("a<b", "a(b")
True
"""

from __future__ import annotations

import array
import bisect
import functools
import os
import re
import struct
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

#: Printable ASCII (0x21..0x7E) plus space: the characters a face is checked for.
ASCII_PRINTABLE = " " + "".join(chr(c) for c in range(0x21, 0x7F))
_VISIBLE = ASCII_PRINTABLE[1:]
_REQUIRED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ")

_FONT_EXTENSIONS = (".ttf", ".otf", ".ttc", ".otc")
_SYSTEM_FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/texmf/fonts",
                     "/usr/share/texlive/texmf-dist/fonts/opentype", "~/.fonts",
                     "~/.local/share/fonts")

# Symbol, math, dingbat and fallback fonts: they map ASCII code points to
# pictures. Checked against the file name (cheap, before opening) and the
# family name. Z003 / TeX Gyre Chorus (chancery script) are kept but flagged
# ``script=True``; ``sample`` leaves them out unless asked.
_SKIP_NAME = re.compile(
    r"symbol|dingbat|emoji|math|last ?resort|stixsiz|stixnonuni|cmex10|cmsy10|cmmi10"
    r"|d050000l|wingding|webding|awesome|icons?\b", re.IGNORECASE)
_SCRIPT_NAME = re.compile(r"chancery|script|chorus|^z003$|brush|handwrit|cursive", re.IGNORECASE)
_SANS_NAME = re.compile(
    r"sans|gothic|grotesk|heros|adventor|helvet|arial|roboto|lato|carlito|calibri|verdana"
    r"|tahoma|futura|avenir|ubuntu", re.IGNORECASE)
_SERIF_NAME = re.compile(
    r"serif|roman|times|termes|pagella|bonum|schola|bookman|caladea|cambria|georgia"
    r"|garamond|palatino|century|stix|c059|p052|courier|cursor|nimbus mono|freemono"
    r"|baskerville|charter|computer modern", re.IGNORECASE)

# matplotlib's BaKoMa Computer Modern TTFs: family name in the file -> the
# family we report, style flags, and the ASCII characters whose glyph is an
# OT1 glyph instead (see the module docstring for what each one draws).
_OT1_TEXT_WRONG = frozenset('"<>\\^_`{|}~')
_COMPUTER_MODERN = {
    # name:  (family, style, bold, italic, monospace, serif, wrongly drawn)
    "cmr10": ("Computer Modern", "Regular", False, False, False, True, _OT1_TEXT_WRONG),
    "cmb10": ("Computer Modern", "Bold", True, False, False, True, _OT1_TEXT_WRONG),
    "cmti10": ("Computer Modern", "Italic", False, True, False, True, _OT1_TEXT_WRONG),
    "cmss10": ("Computer Modern Sans", "Regular", False, False, False, False, _OT1_TEXT_WRONG),
    "cmtt10": ("Computer Modern Typewriter", "Regular", False, False, True, True,
               frozenset("`")),
}

# A glyph named for another character is still right when it is a usual
# typeset form of the ASCII character.
_ACCEPTED_FORMS = {
    "'": "\u2019\u2032\u02bc",  # quoteright, prime, modifier apostrophe
    "-": "\u00ad\u2010\u2011\u2212",  # soft hyphen (Liberation), hyphen, nb hyphen, minus
    " ": "\u00a0",  # nbspace
    "*": "\u2217",  # asteriskmath
    "/": "\u2044\u2215",  # fraction slash, division slash
}

# Charstring operators (Type 2) that put ink on the page, or may (subroutines).
_T2_DRAW = frozenset((5, 6, 7, 8, 10, 24, 25, 26, 27, 29, 30, 31))
_T2_FLEX = frozenset((34, 35, 36, 37))
_T2_STEMS = frozenset((1, 3, 18, 23))


class FontError(ValueError):
    """A font library is empty, or a font request cannot be met."""


@dataclass(frozen=True)
class FontFace:
    """One usable font face and the ASCII characters it really draws.

    Attributes:
        path: absolute path of the ``.ttf`` / ``.otf`` (or collection) file.
        family: typographic family, e.g. ``"DejaVu Sans"``, ``"Computer Modern"``.
        bold: weight 600 or more, or flagged bold.
        italic: italic or oblique.
        monospace: every ASCII glyph has the same advance.
        serif: ``True`` / ``False``, or ``None`` when the metadata does not say.
        characters: the characters of printable ASCII plus space that this face
            maps *and* draws as that character (see the module docstring).
        style: the face's style name, e.g. ``"Bold Italic"``, ``"Condensed Light"``.
        weight: OS/2 weight class (100..900; 400 when unknown).
        script: a handwriting / chancery face (``Z003``, ``TeX Gyre Chorus``).
        index: face index inside a ``.ttc`` / ``.otc`` collection (0 otherwise).
    """

    path: str
    family: str
    bold: bool
    italic: bool
    monospace: bool
    serif: bool | None
    characters: frozenset[str]
    style: str = ""
    weight: int = 400
    script: bool = False
    index: int = 0

    def covers(self, text: str) -> bool:
        """Whether this face draws every character of ``text`` correctly."""
        return self.characters.issuperset(text)

    @property
    def name(self) -> str:
        """``"<family> <style>"``, for logs and metadata."""
        return f"{self.family} {self.style}".strip()


def restrict_to_face(text: str, face: FontFace) -> str:
    """``text`` rewritten to use only characters ``face`` really draws.

    Use it on a string before drawing it with ``face`` and store the returned
    string as the ground truth, so that the label never names a glyph the
    image does not show. A character the face lacks is replaced by a look-alike
    the face has (``<``/``{``/``[`` -> ``(``, ``|``/``\\`` -> ``/``, ``_``/``~``
    -> ``-``, ``"``/````` -> ``'``) or dropped; runs of spaces left behind are
    collapsed and the ends stripped. Characters beyond ASCII are judged the
    same way (a face's ``characters`` holds ASCII only, so they are dropped).

    Returns:
        The restricted text; ``""`` when the face draws none of it (callers
        must check).

    >>> face = FontFace("/x.ttf", "X", False, False, False, None, frozenset("ab ("))
    >>> restrict_to_face("a <b> c", face)
    'a (b'
    """
    chars = face.characters
    if chars.issuperset(text):
        return text
    out = []
    for c in text:
        if c in chars:
            out.append(c)
            continue
        for alt in _LOOK_ALIKES.get(c, ()):
            if alt in chars:
                out.append(alt)
                break
    return " ".join("".join(out).split())


_LOOK_ALIKES = {
    "<": "(", ">": ")", "{": "([", "}": ")]", "[": "(", "]": ")", "|": "/", "\\": "/",
    "_": "-", "~": "-", "`": "'", '"': "'",
}


# --------------------------------------------------------------------------
# The library
# --------------------------------------------------------------------------

_LIBRARY_CACHE: dict[tuple, FontLibrary] = {}
_LIBRARY_LOCK = threading.Lock()


class FontLibrary:
    """The usable font faces of this machine, with reproducible sampling.

    Args:
        faces: the faces; kept sorted by ``(path, index)`` so that sampling
            with a seeded generator is reproducible for a given set of
            installed fonts.
        skipped: ``{path: reason}`` for files that discovery left out.

    Use :meth:`discover` rather than the constructor; it is cached per
    ``(extra_dirs, include_system)`` within the process.

    Example:

    >>> import numpy as np
    >>> lib = FontLibrary.discover()
    >>> "DejaVu Sans" in lib.families()
    True
    >>> face = lib.sample(np.random.default_rng(1), bold=True)
    >>> face.bold
    True
    """

    def __init__(self, faces: Iterable[FontFace], skipped: dict[str, str] | None = None):
        self.faces: list[FontFace] = sorted(faces, key=lambda f: (f.path, f.index))
        self.skipped: dict[str, str] = dict(skipped or {})
        by_family: dict[str, list[FontFace]] = {}
        for face in self.faces:
            by_family.setdefault(face.family, []).append(face)
        self._by_family = by_family
        self._families = sorted(by_family)

    # -- construction -----------------------------------------------------
    @classmethod
    def discover(cls, extra_dirs: Iterable[str | os.PathLike] = (),
                 include_system: bool = True) -> FontLibrary:
        """Finds and reads the fonts of this machine (cached per arguments).

        Args:
            extra_dirs: more folders (searched recursively) or font files.
            include_system: also search ``/usr/share/fonts``,
                ``/usr/local/share/fonts``, ``/usr/share/texmf/fonts``,
                ``/usr/share/texlive/texmf-dist/fonts/opentype``, ``~/.fonts``
                and ``~/.local/share/fonts``. matplotlib's bundled fonts
                (DejaVu, STIX, Computer Modern) are always searched.

        Raises:
            FontError: if a folder in ``extra_dirs`` does not exist.
        """
        if isinstance(extra_dirs, (str, os.PathLike)):
            extra_dirs = (extra_dirs,)
        extra = tuple(os.path.abspath(os.path.expanduser(os.fspath(d))) for d in extra_dirs)
        for d in extra:
            if not os.path.exists(d):
                raise FontError(f"Font folder {d!r} (from extra_dirs) does not exist.")
        key = (extra, bool(include_system))
        with _LIBRARY_LOCK:
            lib = _LIBRARY_CACHE.get(key)
            if lib is None:
                lib = _LIBRARY_CACHE[key] = cls._scan(extra, include_system)
        return lib

    @classmethod
    def _scan(cls, extra: tuple[str, ...], include_system: bool) -> FontLibrary:
        roots = []
        mpl = _matplotlib_font_dir()
        if mpl is not None:
            roots.append(mpl)
        if include_system:
            roots.extend(os.path.expanduser(d) for d in _SYSTEM_FONT_DIRS)
        roots.extend(extra)
        files = sorted({os.path.realpath(p) for p in _font_files(roots)})
        faces, skipped = [], {}
        for path in files:
            if _SKIP_NAME.search(os.path.basename(path)):
                skipped[path] = "symbol, math or fallback font (file name)"
                continue
            for index, result in _read_file(path):
                where = path if index == 0 else f"{path}#{index}"
                if isinstance(result, str):
                    skipped[where] = result
                else:
                    faces.append(result)
        # The same face installed twice (matplotlib's DejaVu and the system's)
        # would count double within its family: keep the first by path.
        seen: dict[tuple, FontFace] = {}
        unique = []
        for face in sorted(faces, key=lambda f: (f.path, f.index)):
            k = (face.family, face.style, face.weight, face.bold, face.italic)
            if k in seen:
                skipped[face.path] = f"duplicate of {seen[k].path}"
                continue
            seen[k] = face
            unique.append(face)
        return cls(unique, skipped)

    # -- queries ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.faces)

    def __iter__(self):
        return iter(self.faces)

    def __repr__(self) -> str:
        return f"FontLibrary({len(self.faces)} faces, {len(self._families)} families)"

    def families(self) -> list[str]:
        """Family names, sorted."""
        return list(self._families)

    def faces_of(self, family: str) -> list[FontFace]:
        """The faces of one family (sorted by path).

        Raises:
            FontError: if the library has no such family.
        """
        if family not in self._by_family:
            raise FontError(f"No font family {family!r} in this library; it has "
                            f"{self._families}.")
        return list(self._by_family[family])

    def filter(self, keep: Callable[[FontFace], bool]) -> FontLibrary:
        """A new library with the faces for which ``keep(face)`` is true."""
        return FontLibrary([f for f in self.faces if keep(f)], self.skipped)

    def sample(self, rng: np.random.Generator, *, monospace: bool | None = None,
               bold: bool | None = None, italic: bool | None = None,
               serif: bool | None = None, family: str | None = None,
               script: bool | None = False, strict: bool = False) -> FontFace:
        """Draws a face: a family uniformly, then a face of it uniformly.

        Only families with at least one matching face take part. Each
        criterion is ``True`` / ``False`` to require it or ``None`` for either.
        When no face matches, criteria are dropped one at a time in the order
        ``italic``, ``bold``, ``serif``, ``family``, ``monospace``, ``script``
        until one does (asking for a bold monospace face where there is none
        gives a regular monospace one).

        Args:
            rng: the generator; the only source of randomness.
            monospace, bold, italic, serif: style wanted, or ``None``.
            family: keep to this family (e.g. the body font of a document).
            script: handwriting/chancery faces are left out by default
                (``False``); ``None`` allows them, ``True`` asks for one.
            strict: raise instead of dropping criteria.

        Raises:
            FontError: if the library is empty, if ``family`` is not in it, or
                (``strict``) if no face matches.
        """
        if not self.faces:
            raise FontError(
                "The font library is empty: no usable .ttf/.otf face was found. Install "
                "fonts (e.g. fonts-dejavu) or pass extra_dirs to FontLibrary.discover().")
        if family is not None and family not in self._by_family:
            raise FontError(f"No font family {family!r} in this library; it has "
                            f"{self._families}.")
        wanted = {"italic": italic, "bold": bold, "serif": serif, "family": family,
                  "monospace": monospace, "script": script}
        for relax in range(len(wanted) + 1):
            crit = {k: v for i, (k, v) in enumerate(wanted.items())
                    if i >= relax and v is not None}
            groups = self._matching(crit)
            if groups:
                break
            if strict:
                raise FontError(f"No font face matches {crit}.")
        names = sorted(groups)
        faces = groups[names[int(rng.integers(len(names)))]]
        return faces[int(rng.integers(len(faces)))]

    def _matching(self, crit: dict) -> dict[str, list[FontFace]]:
        fams = [crit["family"]] if "family" in crit else self._families
        out = {}
        for fam in fams:
            faces = [f for f in self._by_family[fam]
                     if all(getattr(f, k) == v for k, v in crit.items() if k != "family")]
            if faces:
                out[fam] = faces
        return out

    @functools.cached_property
    def math_italic(self) -> FontFace | None:
        """The math italic of TeX (matplotlib's ``cmmi10``), for variables set in text.

        Skipped as a face (its spaces, digits and punctuation are other glyphs), its
        letters are the *x*, *n*, *f* of every LaTeX paper and reference card: this
        face claims only ``a-z A-Z``. ``None`` without matplotlib's fonts.
        """
        folder = _matplotlib_font_dir()
        path = None if folder is None else os.path.join(folder, "cmmi10.ttf")
        if path is None or not os.path.isfile(path):
            return None
        letters = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        return FontFace(path=path, family="Computer Modern Math Italic", bold=False,
                        italic=True, monospace=False, serif=True, characters=letters,
                        style="Italic")

    def pil_font(self, face: FontFace, size_px: int, layout_engine: int | None = None):
        """A ``PIL.ImageFont.FreeTypeFont`` of ``face`` at ``size_px`` pixels (em size).

        Cached (LRU, 1024 entries, shared by all libraries): the same arguments
        return the same object. ``layout_engine`` is Pillow's
        (``ImageFont.Layout.BASIC`` / ``RAQM``); ``None`` picks Pillow's default.

        Raises:
            FontError: for a size that is not a positive integer.
        """
        if int(size_px) != size_px or size_px < 1:
            raise FontError(f"size_px must be a positive integer; received {size_px!r}.")
        return _open_font(face.path, face.index, int(size_px), layout_engine)


@functools.lru_cache(maxsize=1024)
def _open_font(path: str, index: int, size: int, layout_engine: int | None):
    from PIL import ImageFont

    return ImageFont.truetype(path, size, index=index, layout_engine=layout_engine)


# --------------------------------------------------------------------------
# Reading one file
# --------------------------------------------------------------------------

def _matplotlib_font_dir() -> str | None:
    try:
        import matplotlib
    except ImportError:
        return None
    d = os.path.join(os.path.dirname(matplotlib.__file__), "mpl-data", "fonts", "ttf")
    return d if os.path.isdir(d) else None


def _font_files(roots: Iterable[str]) -> Iterable[str]:
    for root in roots:
        if os.path.isfile(root):
            if root.lower().endswith(_FONT_EXTENSIONS):
                yield root
            continue
        if not os.path.isdir(root):
            continue
        for dirpath, _, names in os.walk(root, followlinks=True):
            for name in names:
                if name.lower().endswith(_FONT_EXTENSIONS):
                    yield os.path.join(dirpath, name)


def _read_file(path: str) -> list[tuple[int, FontFace | str]]:
    """``[(face index, FontFace or the reason it was skipped)]`` for one file."""
    from fontTools.ttLib import TTCollection, TTFont, TTLibError

    try:
        if path.lower().endswith((".ttc", ".otc")):
            with TTCollection(path, lazy=True) as coll:
                count = len(coll.fonts)
            fonts = range(count)
        else:
            fonts = range(1)
    except (OSError, TTLibError, struct.error, AssertionError) as e:
        return [(0, f"unreadable: {type(e).__name__}: {e}")]
    results = []
    for index in fonts:
        try:
            with TTFont(path, fontNumber=index, lazy=True) as tt:
                results.append((index, _read_face(tt, path, index)))
        except Exception as e:  # fontTools raises many kinds on damaged fonts
            results.append((index, f"unreadable: {type(e).__name__}: {e}"))
    return results


def _read_face(tt, path: str, index: int) -> FontFace | str:
    reader = tt.reader
    for tag in ("cmap", "name", "head", "hhea", "hmtx", "maxp"):
        if tag not in reader:
            return f"no {tag!r} table"
    name = tt["name"]
    family = (name.getBestFamilyName() or "").strip()
    style = (name.getBestSubFamilyName() or "").strip()
    if not family:
        return "no family name"
    if _SKIP_NAME.search(family):
        return f"symbol, math or fallback font (family {family!r})"

    os2 = tt["OS/2"] if "OS/2" in reader else None
    post = tt["post"] if "post" in reader else None
    head = reader["head"]  # raw: fontTools' parser warns about old timestamps
    panose = getattr(os2, "panose", None)
    pan_family = getattr(panose, "bFamilyType", 0)
    if pan_family in (4, 5):
        return f"decorative or pictorial font (PANOSE family kind {pan_family})"

    num_glyphs = struct.unpack_from(">H", reader["maxp"], 4)[0]
    gids = _cmap_lookup(reader["cmap"], [ord(c) for c in ASCII_PRINTABLE])
    if gids is None:  # an unusual cmap layout: let fontTools read it
        best = tt.getBestCmap() or {}
        gids = {ord(c): tt.getGlyphID(best[ord(c)]) for c in ASCII_PRINTABLE if ord(c) in best}
    gids = {c: g for c, g in gids.items() if 0 < g < num_glyphs}

    advances = _advances(reader["hhea"], reader["hmtx"], gids)
    inked = _inked(tt, reader, head, gids)
    names = _glyph_names(tt, post)

    chars = set()
    for c in ASCII_PRINTABLE:
        g = gids.get(ord(c))
        if g is None:
            continue
        if c == " ":
            if advances.get(g, 0) <= 0:
                continue
        elif not inked.get(g, True):
            continue
        if names is not None and g < len(names) and not _name_agrees(c, names[g]):
            continue
        chars.add(c)

    weight = int(getattr(os2, "usWeightClass", 400) or 400)
    fs = int(getattr(os2, "fsSelection", 0) or 0)
    mac = struct.unpack_from(">H", head, 44)[0]
    angle = float(getattr(post, "italicAngle", 0) or 0)
    low_style = style.lower()
    bold = weight >= 600 or bool(fs & 0x20) or bool(mac & 0x01)
    italic = (bool(fs & 0x201) or bool(mac & 0x02) or angle != 0
              or "italic" in low_style or "oblique" in low_style)
    visible_adv = {advances[g] for c, g in gids.items() if chr(c) != " " and g in advances}
    monospace = (bool(getattr(post, "isFixedPitch", 0))
                 or (pan_family == 2 and getattr(panose, "bProportion", 0) == 9)
                 or len(visible_adv) == 1)
    if _SANS_NAME.search(family):
        serif = False
    elif _SERIF_NAME.search(family):
        serif = True
    elif pan_family == 2 and 2 <= getattr(panose, "bSerifStyle", 0) <= 10:
        serif = True
    elif pan_family == 2 and getattr(panose, "bSerifStyle", 0) >= 11:
        serif = False
    else:
        serif = None
    script = pan_family == 3 or bool(_SCRIPT_NAME.search(family))

    cm = _COMPUTER_MODERN.get(family)
    if cm is not None:
        family, style, bold, italic, monospace, serif, wrong = cm
        chars -= wrong

    missing = _REQUIRED - chars
    if missing:
        return (f"does not draw all of a-z A-Z 0-9 and space (missing "
                f"{''.join(sorted(missing))!r})")
    return FontFace(path=path, family=family, bold=bold, italic=italic, monospace=monospace,
                    serif=serif, characters=frozenset(chars), style=style, weight=weight,
                    script=script, index=index)


def _name_agrees(char: str, glyph_name: str) -> bool:
    """Whether a glyph name is that of ``char`` (or unknown, or an accepted form)."""
    from fontTools.agl import toUnicode

    meant = toUnicode(glyph_name)
    if not meant or meant == char:
        return True
    # A glyph shared with an equivalent character keeps that one's name:
    # Liberation's ";" is "uni037E" (GREEK QUESTION MARK, which NFKC maps to ";").
    return len(meant) == 1 and (meant in _ACCEPTED_FORMS.get(char, "")
                                or unicodedata.normalize("NFKC", meant) == char)


def _glyph_names(tt, post) -> list[str] | None:
    """Glyph names by glyph id, or None when the face has none worth reading."""
    if "CFF " in tt.reader:
        return tt.getGlyphOrder()
    if post is None or post.formatType not in (1.0, 2.0):
        return None  # format 3: fontTools would only invent names from the cmap
    return tt.getGlyphOrder()


def _u16_array(raw: bytes, offset: int, count: int) -> array.array:
    a = array.array("H", raw[offset:offset + 2 * count])
    if sys.byteorder == "little":
        a.byteswap()
    return a


def _cmap_lookup(raw: bytes, codes: list[int]) -> dict[int, int] | None:
    """``{code point: glyph id}`` for ``codes`` from a raw cmap, or None if unsupported.

    Reads only the subtable needed (format 4, 12, 6 or 0 of a Unicode or
    Mac Roman encoding, whose ASCII range is Unicode's); fontTools would
    decompile whole tables. Measured on the 121 font files of the dev machine
    (issue 11): :meth:`FontLibrary.discover` took 412-562 ms with this reader
    and 700-843 ms with fontTools' ``getBestCmap`` (fastest of 8 scans in each
    of two runs on 2 busy cores; the same 63 faces); the lookups alone took
    4 ms and 1.3 s. Every process pays a
    discovery before its first synthetic page, so the reader stays; a cmap it
    cannot read (None) goes to fontTools.
    """
    _, num = struct.unpack_from(">HH", raw, 0)
    records = {}
    for i in range(num):
        pid, eid, off = struct.unpack_from(">HHI", raw, 4 + 8 * i)
        records.setdefault((pid, eid), off)
    for key in ((3, 1), (0, 3), (3, 10), (0, 4), (0, 6), (0, 2), (0, 1), (0, 0), (1, 0)):
        off = records.get(key)
        if off is None:
            continue
        fmt = struct.unpack_from(">H", raw, off)[0]
        if fmt == 4:
            return _cmap4(raw, off, codes)
        if fmt == 12:
            return _cmap12(raw, off, codes)
        if fmt == 6:
            first, count = struct.unpack_from(">HH", raw, off + 6)
            ids = _u16_array(raw, off + 10, count)
            return {c: ids[c - first] for c in codes if first <= c < first + count}
        if fmt == 0:
            return {c: raw[off + 6 + c] for c in codes if c < 256}
    return None


def _cmap4(raw: bytes, off: int, codes: list[int]) -> dict[int, int]:
    seg_x2 = struct.unpack_from(">H", raw, off + 6)[0]
    n = seg_x2 // 2
    ends_at = off + 14
    starts_at = ends_at + seg_x2 + 2
    deltas_at = starts_at + seg_x2
    ranges_at = deltas_at + seg_x2
    ends = _u16_array(raw, ends_at, n)
    starts = _u16_array(raw, starts_at, n)
    deltas = _u16_array(raw, deltas_at, n)
    ranges = _u16_array(raw, ranges_at, n)
    out = {}
    for c in codes:
        i = bisect.bisect_left(ends, c)
        if i >= n or starts[i] > c:
            continue
        if ranges[i] == 0:
            g = (c + deltas[i]) & 0xFFFF
        else:
            at = ranges_at + 2 * i + ranges[i] + 2 * (c - starts[i])
            if at + 2 > len(raw):
                continue
            g = struct.unpack_from(">H", raw, at)[0]
            if g:
                g = (g + deltas[i]) & 0xFFFF
        if g:
            out[c] = g
    return out


def _cmap12(raw: bytes, off: int, codes: list[int]) -> dict[int, int]:
    n = struct.unpack_from(">I", raw, off + 12)[0]
    groups = array.array("I", raw[off + 16:off + 16 + 12 * n])
    if sys.byteorder == "little":
        groups.byteswap()
    starts, ends, first = groups[0::3], groups[1::3], groups[2::3]
    out = {}
    for c in codes:
        i = bisect.bisect_left(ends, c)
        if i < n and starts[i] <= c:
            out[c] = first[i] + c - starts[i]
    return out


def _advances(hhea: bytes, hmtx: bytes, gids: dict[int, int]) -> dict[int, int]:
    n_metrics = struct.unpack_from(">H", hhea, 34)[0]
    if n_metrics == 0:
        return {}
    out = {}
    for g in gids.values():
        at = 4 * min(g, n_metrics - 1)
        if at + 2 <= len(hmtx):
            out[g] = struct.unpack_from(">H", hmtx, at)[0]
    return out


def _inked(tt, reader, head, gids: dict[int, int]) -> dict[int, bool]:
    """``{glyph id: whether its outline draws anything}`` (True when unknown)."""
    out = {}
    if "glyf" in reader and "loca" in reader:
        loca = reader["loca"]
        long_format = struct.unpack_from(">h", head, 50)[0] == 1
        fmt, scale = (">I", 1) if long_format else (">H", 2)
        step = 4 if long_format else 2
        for g in gids.values():
            at = step * g
            if at + 2 * step <= len(loca):
                a, b = (struct.unpack_from(fmt, loca, at)[0],
                        struct.unpack_from(fmt, loca, at + step)[0])
                out[g] = (b - a) * scale > 0
    elif "CFF " in reader:
        charstrings = tt["CFF "].cff.topDictIndex[0].CharStrings
        index = getattr(charstrings, "charStringsIndex", None)
        if index is not None:
            for g in gids.values():
                if g < len(index):
                    out[g] = _t2_draws(index[g].bytecode)
    return out


def _t2_draws(code: bytes | None) -> bool:
    """Whether a Type 2 charstring draws (or calls a subroutine that may)."""
    if code is None:
        return True
    i, n, nargs, stems = 0, len(code), 0, 0
    while i < n:
        b = code[i]
        if b >= 32 or b == 28:  # an operand
            i += 1 if b <= 246 else 2 if b <= 254 else 5
            if b == 28:
                i += 2
            nargs += 1
            continue
        if b in _T2_DRAW:
            return True
        if b == 12:
            if i + 1 < n and code[i + 1] in _T2_FLEX:
                return True
            i += 2
        elif b == 14:  # endchar; 4 operands more = an accented (seac) glyph
            return nargs >= 4
        elif b in _T2_STEMS:
            stems += nargs // 2
            i += 1
        elif b in (19, 20):  # hintmask / cntrmask: implicit vstems, then mask bytes
            stems += nargs // 2
            i += 1 + (stems + 7) // 8
        else:
            i += 1
        nargs = 0
    return False


__all__ = ["ASCII_PRINTABLE", "FontError", "FontFace", "FontLibrary", "restrict_to_face"]
