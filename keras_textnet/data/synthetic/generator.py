"""Synthetic complex documents with exact word and line ground truth.

:class:`SyntheticDocumentGenerator` draws a page from a seed: a background, one of
the layouts of :mod:`keras_textnet.data.synthetic.layouts` (articles, reports,
tables, forms, invoices, receipts, slides, reference cards, code listings, tables
of contents, mixed pages), maybe a watermark or a stamp, then the page transform
(rotation, rescaling, a small shift) and photometric degradations.

Ground truth (see ``shared/FORMATS.md``):

* a word is a maximal run of non-space characters as drawn; its box is tight to
  its ink (pixels where the word's own glyph coverage is >= 64/255 in the clean,
  unrotated render), mapped through the page transform (the bounds of the
  transformed ink outline, rounded outward);
* a line is the run of words drawn on one baseline in one go; table cells, form
  labels and form values are separate lines;
* ``ignore`` marks watermarks and stamps, text under 5 px x-height, text cut by
  the page edge, text too faint to read and characters outside the charset;
* rotated pages carry ``angle`` (degrees CCW) and ``quad`` on words and lines.

Everything random comes from ``numpy.random.default_rng(seed)``: the same seed
and the same installed fonts give the same bytes.

Example:

>>> gen = SyntheticDocumentGenerator(page_size=(1024, 768), max_rotation=3)
>>> page = gen.generate(7)
>>> page.image.shape, page.record.file
((1024, 768, 3), 'synthetic_0000000007.png')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from keras_textnet.charset import Charset
from keras_textnet.data.annotation import ImageRecord
from keras_textnet.data.synthetic.backgrounds import make_background
from keras_textnet.data.synthetic.canvas import PageCanvas, RenderedWord
from keras_textnet.data.synthetic.degradations import degrade as apply_degradations
from keras_textnet.data.synthetic.layouts import DEFAULT_WEIGHTS, LAYOUTS, Ctx, TextSource
from keras_textnet.data.synthetic.layouts.common import font_at

__all__ = ["RenderedWord", "SyntheticDocumentGenerator", "SyntheticPage"]

_WATERMARKS = ("CONFIDENTIAL", "DRAFT", "COPY", "SAMPLE", "VOID", "DO NOT COPY", "INTERNAL",
               "PRELIMINARY", "SPECIMEN", "ORIGINAL", "DUPLICATE", "NOT FOR DISTRIBUTION")


@dataclass
class SyntheticPage:
    """One generated page.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB, final (after rotation and degradations).
        record: the ground truth; boxes in ``image`` pixels.
        layout: the name of the layout that made it.
        render_log: every word drawn (:class:`RenderedWord`), in the render page.
        transform: 2x3 affine from the unrotated, unscaled render page to ``image``
            (OpenCV pixel-centre convention, what ``cv2.warpAffine`` takes); identity
            when the page was neither rotated, scaled nor shifted.
        clean: the page before photometric degradations (same geometry as
            ``image``) when ``keep_clean=True``, else ``None``.
        angle: the page rotation, degrees CCW.
        scale: the render-to-image scale.
        degradations: names of the photometric effects applied.
    """

    image: np.ndarray
    record: ImageRecord
    layout: str
    render_log: list[RenderedWord]
    transform: np.ndarray
    clean: np.ndarray | None = None
    angle: float = 0.0
    scale: float = 1.0
    degradations: tuple[str, ...] = ()


def _check_size_range(v, name):
    if isinstance(v, (int, np.integer)):
        if v < 64:
            raise ValueError(f"page_size {name} must be at least 64 pixels; received {v!r}.")
        return (int(v), int(v))
    if (isinstance(v, (tuple, list)) and len(v) == 2
            and all(isinstance(x, (int, np.integer)) for x in v) and 64 <= v[0] <= v[1]):
        return (int(v[0]), int(v[1]))
    raise ValueError(f"page_size {name} must be an int >= 64 or a (min, max) pair of such ints; "
                     f"received {v!r}.")


class SyntheticDocumentGenerator:
    """Draws synthetic document pages with exact word/line ground truth.

    Args:
        page_size: ``(height, width)`` of the output image, or
            ``((hmin, hmax), (wmin, wmax))`` to draw a size per page.
        layouts: ``{layout name: sampling weight}``; ``None`` = all layouts with
            their default weights (:data:`DEFAULT_WEIGHTS`). Names: :attr:`LAYOUTS`.
        degrade: probability scale of the degradations and of the rescaling/shift of
            the page (``False``/``0`` = clean pages; ``True`` = ``1.0``).
        max_rotation: pages are rotated uniformly in ``[-max, max]`` degrees (30% of
            pages stay unrotated); 0 = never.
        min_x_height: smallest x-height of (learnable) text in output pixels.
        charset: the :class:`~keras_textnet.charset.Charset` (default printable ASCII);
            words with other characters would be ``ignore``.
        fonts: a ``FontLibrary`` (default: ``FontLibrary.discover()``).
        text: a ``TextSampler`` (default: ``TextSampler(charset)``).
        keep_clean: also return each page before degradations.

    Raises:
        ValueError: for an unknown layout name, a negative weight or rotation, a bad
            page size or a non-positive ``min_x_height``.
    """

    LAYOUTS: tuple[str, ...] = tuple(LAYOUTS)

    def __init__(self, page_size=(1024, 768), layouts: dict[str, float] | None = None,
                 degrade: bool | float = True, max_rotation: float = 0.0,
                 min_x_height: float = 8.0, charset: Charset | None = None, fonts=None,
                 text=None, keep_clean: bool = False):
        if (not isinstance(page_size, (tuple, list))) or len(page_size) != 2:
            raise ValueError(f"page_size must be (height, width) or ((hmin, hmax), (wmin, wmax)); "
                             f"received {page_size!r}.")
        self._h_range = _check_size_range(page_size[0], "height")
        self._w_range = _check_size_range(page_size[1], "width")
        self.page_size = (tuple(page_size[0]) if isinstance(page_size[0], (tuple, list))
                          else int(page_size[0]),
                          tuple(page_size[1]) if isinstance(page_size[1], (tuple, list))
                          else int(page_size[1]))
        if layouts is None:
            layouts = dict(DEFAULT_WEIGHTS)
        else:
            if not isinstance(layouts, dict) or not layouts:
                raise ValueError(f"layouts must be a non-empty dict {{name: weight}}; received "
                                 f"{layouts!r}.")
            unknown = sorted(set(layouts) - set(LAYOUTS))
            if unknown:
                raise ValueError(f"Unknown layout(s) {unknown}; available: {sorted(LAYOUTS)}.")
            bad = {k: v for k, v in layouts.items()
                   if not isinstance(v, (int, float)) or v < 0 or not math.isfinite(v)}
            if bad or sum(layouts.values()) <= 0:
                raise ValueError(f"Layout weights must be finite, >= 0 and not all 0; received "
                                 f"{layouts!r}.")
        self.layouts = {k: float(v) for k, v in layouts.items()}
        self._names = [k for k in self.layouts if self.layouts[k] > 0]
        w = np.array([self.layouts[k] for k in self._names], np.float64)
        self._p = w / w.sum()
        if isinstance(degrade, bool):
            degrade = 1.0 if degrade else 0.0
        if not isinstance(degrade, (int, float)) or degrade < 0 or not math.isfinite(degrade):
            raise ValueError(f"degrade must be a bool or a number >= 0; received {degrade!r}.")
        self.degrade = float(degrade)
        if not isinstance(max_rotation, (int, float)) or not 0 <= max_rotation <= 45:
            raise ValueError(f"max_rotation must be in [0, 45] degrees; received {max_rotation!r}.")
        self.max_rotation = float(max_rotation)
        if not isinstance(min_x_height, (int, float)) or min_x_height <= 0:
            raise ValueError(f"min_x_height must be a positive number of pixels; received "
                             f"{min_x_height!r}.")
        self.min_x_height = float(min_x_height)
        self.charset = charset if charset is not None else Charset()
        if fonts is None:
            from keras_textnet.data.synthetic.fonts import FontLibrary
            fonts = FontLibrary.discover()
        # ``RenderedWord.font_path`` must reopen the same face: keep single-face files only.
        if any(getattr(f, "index", 0) for f in fonts.faces):
            fonts = fonts.filter(lambda f: getattr(f, "index", 0) == 0)
        if not len(fonts.faces):
            raise ValueError("The font library has no usable face.")
        self.fonts = fonts
        if text is None:
            from keras_textnet.data.synthetic.text import TextSampler
            text = TextSampler(self.charset)
        self.text = text
        self.keep_clean = bool(keep_clean)
        try:
            from keras_textnet.data.synthetic.fonts import restrict_to_face
        except ImportError:  # pragma: no cover - fonts.py ships with the package
            def restrict_to_face(text, face):
                return " ".join("".join(c for c in text if face.covers(c)).split())
        self._restrict = restrict_to_face

    # -- configuration ---------------------------------------------------------
    def get_config(self) -> dict:
        """Constructor arguments (fonts and text sampler are not serialized)."""
        return {"page_size": self.page_size, "layouts": dict(self.layouts),
                "degrade": self.degrade, "max_rotation": self.max_rotation,
                "min_x_height": self.min_x_height, "charset": self.charset.get_config(),
                "keep_clean": self.keep_clean}

    @classmethod
    def from_config(cls, config: dict) -> "SyntheticDocumentGenerator":
        config = dict(config)
        cs = config.get("charset")
        if isinstance(cs, dict):
            config["charset"] = Charset.from_config(cs)
        ps = config.get("page_size")
        if isinstance(ps, list):
            config["page_size"] = tuple(tuple(v) if isinstance(v, list) else v for v in ps)
        return cls(**config)

    def __repr__(self):
        return (f"SyntheticDocumentGenerator(page_size={self.page_size}, degrade={self.degrade}, "
                f"max_rotation={self.max_rotation}, min_x_height={self.min_x_height}, "
                f"layouts={sorted(self._names)})")

    # -- generation ----------------------------------------------------------
    def generate(self, seed: int, layout: str | None = None) -> SyntheticPage:
        """The page of ``seed`` (deterministic). ``layout`` forces a layout."""
        if int(seed) != seed or seed < 0:
            raise ValueError(f"seed must be a non-negative integer; received {seed!r}.")
        seed = int(seed)
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f"Unknown layout {layout!r}; available: {sorted(LAYOUTS)}.")
        rng = np.random.default_rng(seed)
        H = int(rng.integers(self._h_range[0], self._h_range[1] + 1))
        W = int(rng.integers(self._w_range[0], self._w_range[1] + 1))
        name = self._names[int(rng.choice(len(self._names), p=self._p))]
        if layout is not None:
            name = layout

        # page geometry: rotation, scale (render at H/s x W/s), shift
        angle = 0.0
        if self.max_rotation > 0 and rng.random() >= 0.3:
            angle = float(rng.uniform(-self.max_rotation, self.max_rotation))
        s = 1.0
        if rng.random() < min(1.0, 0.3 * self.degrade):
            s = float(rng.uniform(0.7, 1.3))
        shift = (0.0, 0.0)
        if rng.random() < min(1.0, 0.08 * self.degrade):
            shift = (float(rng.uniform(-0.05, 0.05) * W), float(rng.uniform(-0.05, 0.05) * H))
        Hr, Wr = max(32, int(round(H / s))), max(32, int(round(W / s)))

        background, _ = make_background(rng, Hr, Wr)
        canvas = PageCanvas(background, charset=self.charset, restrict=self._restrict)
        paper = tuple(int(v) for v in np.median(background[::37, ::37].reshape(-1, 3), axis=0))
        ctx = Ctx(rng, canvas, self.fonts, TextSource(self.text, self.charset, rng),
                  unit=Hr / H, min_xh=self.min_x_height, paper=paper)
        if name not in ("receipt", "blank") and rng.random() < 0.12:
            self._watermark(ctx)
        LAYOUTS[name](ctx)

        # the page transform
        M, image = self._transform(canvas.image, (H, W), angle, shift, rng)
        scale = H / Hr
        words, lines, index = canvas.finalize(M, (H, W), scale=scale, page_angle=angle)
        clean = image.copy() if self.keep_clean else None
        image, applied = apply_degradations(image, rng, self.degrade)
        log = []
        for i, p in enumerate(canvas.words):
            k = index[i]
            log.append(RenderedWord(
                text=p.text, font_path=p.font.path, size_px=p.font.size,
                origin=(float(p.origin[0]), float(p.origin[1])), fill=p.fill,
                box=tuple(int(v) for v in p.box), angle=p.angle,
                ignore=bool(words[k].ignore) if k is not None else True, word_index=k,
                overlay=p.overlay))
        record = ImageRecord(file=f"synthetic_{seed:010d}.png", width=W, height=H, words=words,
                             lines=lines)
        return SyntheticPage(image=image, record=record, layout=name, render_log=log,
                             transform=M, clean=clean, angle=angle, scale=scale,
                             degradations=tuple(applied))

    def _watermark(self, ctx: Ctx) -> None:
        rng = ctx.rng
        text = _WATERMARKS[int(rng.integers(len(_WATERMARKS)))]
        if rng.random() < 0.2:
            text = ctx.text.company().upper()
        face = ctx.heading.get(bold=bool(rng.random() < 0.7))
        r = rng.random()
        if r < 0.7:
            ang = math.degrees(math.atan2(ctx.height, ctx.width)) * (1 if rng.random() < 0.85
                                                                    else -1)
            ang += float(rng.uniform(-8, 8))
            span = math.hypot(ctx.width, ctx.height)
        else:
            ang = 0.0
            span = ctx.width
        probe = font_at(self.fonts, face, 100)
        width100 = max(1.0, probe.length(text))
        frac = float(rng.uniform(0.4, 0.85))
        size = int(np.clip(100 * span * frac / width100, 12, ctx.height * 0.3))
        font = font_at(self.fonts, face, size)
        col = [(128, 128, 128), (200, 40, 40), (40, 70, 180), (0, 0, 0)][int(rng.integers(4))]
        opacity = float(rng.uniform(0.07, 0.2))
        center = (ctx.width * float(rng.uniform(0.4, 0.6)),
                  ctx.height * float(rng.uniform(0.4, 0.6)))
        ctx.canvas.draw_rotated_text(text, center, ang, font, col, opacity=opacity)

    @staticmethod
    def _transform(render: np.ndarray, out_size, angle: float, shift, rng):
        """The final image and the 2x3 matrix render -> image (cv2 convention)."""
        H, W = out_size
        Hr, Wr = render.shape[:2]
        M = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        image = render
        if (Hr, Wr) != (H, W):
            sx, sy = W / Wr, H / Hr
            inter = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
            image = cv2.resize(render, (W, H), interpolation=inter)
            M = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])
        if angle != 0.0 or shift != (0.0, 0.0):
            R = cv2.getRotationMatrix2D(((W - 1) / 2.0, (H - 1) / 2.0), angle, 1.0)
            R[0, 2] += shift[0]
            R[1, 2] += shift[1]
            border = image[[0, 0, -1, -1], [0, -1, 0, -1]].mean(axis=0)
            if rng.random() < 0.25:
                g = float(rng.uniform(0, 90))
                border = np.array([g, g, g])
            image = cv2.warpAffine(image, R, (W, H), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_CONSTANT,
                                   borderValue=tuple(float(v) for v in border))
            M = R @ np.vstack([M, [0.0, 0.0, 1.0]])
        else:
            image = image.copy() if image is render else image
        return M, np.ascontiguousarray(image)
