"""Clean page images made to look scanned, photocopied or photographed, boxes unchanged.

:func:`degrade_page` lays the page on paper (its white becomes a textured,
tinted or grainy sheet; the ink stays) and then applies the synthetic
generator's own photometric degradations
(:func:`keras_textnet.data.synthetic.degradations.degrade`: uneven light, low
contrast, ink bleed, grey, blur, motion blur, down-then-up resampling, noise,
JPEG). Nothing moves: the image keeps its size and every pixel its place, so
the ground truth of the clean page holds as it is.

A *profile* names a paper and the probability of each effect:

* ``scan``: textured paper, maybe low contrast and grey, blur, noise, maybe JPEG;
* ``photo``: tinted paper, uneven light, blur or motion blur, maybe resampling,
  noise, JPEG;
* ``copy``: grainy paper, ink bleed, grey, maybe low contrast, resampling, noise;
* ``dim``: a paper gradient, uneven light and low contrast, maybe blur, JPEG.

:func:`degrade_annotation_set` writes a degraded copy of a whole annotation
set: the same records (``doc`` and all), each image degraded with a profile
taken in turn from ``profiles`` and a generator keyed on ``seed`` and the
image's file name, so a page degrades the same way whatever else is in the set.
What was applied is recorded in each record's ``degradation`` field.

>>> from keras_textnet.data.annotation import AnnotationSet
>>> clean = AnnotationSet.load("realval/clean/annotations.json")   # doctest: +SKIP
>>> degraded = degrade_annotation_set(clean, "realval/degraded", seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
import zlib
from pathlib import Path

import cv2
import numpy as np

from keras_textnet.data.annotation import AnnotationSet
from keras_textnet.data.synthetic.backgrounds import make_background
from keras_textnet.data.synthetic.degradations import degrade

#: profile -> (paper kind of :func:`make_background`, {effect: probability}).
PROFILES: dict[str, tuple[str, dict[str, float]]] = {
    "scan": ("paper", {"contrast": 0.5, "grayscale": 0.5, "blur": 0.8, "noise": 1.0,
                       "jpeg": 0.6}),
    "photo": ("tinted", {"illumination": 1.0, "blur": 0.5, "motion_blur": 0.6, "resample": 0.3,
                         "noise": 1.0, "jpeg": 1.0}),
    "copy": ("grain", {"contrast": 0.6, "ink_bleed": 1.0, "grayscale": 1.0, "resample": 0.3,
                       "noise": 0.6}),
    "dim": ("gradient", {"illumination": 1.0, "contrast": 1.0, "blur": 0.4, "jpeg": 1.0}),
}


def degrade_page(image: np.ndarray, rng: np.random.Generator,
                 profile: str = "scan") -> tuple[np.ndarray, dict]:
    """One page degraded with ``profile``; returns ``(image, what was applied)``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB, not modified.
        rng: the page's generator.
        profile: a name of :data:`PROFILES`.

    Returns:
        An ``(H, W, 3)`` uint8 RGB image, pixel for pixel in register with the
        input, and ``{"profile", "paper", "effects"}``.
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown degradation profile {profile!r}; known: {sorted(PROFILES)}.")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"degrade_page expects an (H, W, 3) uint8 image; received "
                         f"{image.shape} {image.dtype}.")
    paper_kind, effects = PROFILES[profile]
    h, w = image.shape[:2]
    paper, _ = make_background(rng, h, w, kind=paper_kind)
    # Ink on paper: the page's white takes the paper's colour, dark ink stays dark.
    on_paper = (image.astype(np.float32) * paper.astype(np.float32) / 255.0 + 0.5).astype(np.uint8)
    out, applied = degrade(on_paper, rng, effects=effects)
    return out, {"profile": profile, "paper": paper_kind, "effects": applied}


def page_rng(seed: int, name: str) -> np.random.Generator:
    """The generator of the page called ``name`` (its file): same seed, same page, same draw."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def degrade_annotation_set(ann: AnnotationSet, out_dir, *, seed: int = 0,
                           profiles=("scan", "photo", "copy", "dim"),
                           progress: bool = True) -> AnnotationSet:
    """Writes a degraded copy of ``ann`` (images and ``annotations.json``) into ``out_dir``.

    Image ``k`` gets ``profiles[k % len(profiles)]``; images keep their
    relative file names (PNG, lossless: the JPEG artefacts are those of the
    ``jpeg`` effect); records keep their boxes, texts, ``doc`` and extra
    fields, plus ``degradation``. Returns the new set (rooted at ``out_dir``).
    """
    profiles = list(profiles)
    if not profiles or any(p not in PROFILES for p in profiles):
        raise ValueError(f"profiles must be names of {sorted(PROFILES)}; received {profiles!r}.")
    from keras_textnet.image_io import read_image

    out_dir = Path(out_dir)
    records = []
    items = list(enumerate(ann.images))
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(items, desc="degrade", unit="page")
    for k, rec in items:
        image = read_image(ann.image_path(rec))
        degraded, info = degrade_page(image, page_rng(seed, rec.file), profiles[k % len(profiles)])
        target = out_dir / rec.file
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), cv2.cvtColor(degraded, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 3]):
            raise OSError(f"cannot write {target}")
        new = copy.deepcopy(rec)
        new.extra["degradation"] = info
        records.append(new)
    extra = copy.deepcopy(ann.extra)
    extra["degraded"] = {"seed": int(seed), "profiles": profiles,
                         "source": os.path.relpath(Path(ann.root), out_dir)}
    result = AnnotationSet(images=records, root=out_dir, extra=extra)
    result.save(out_dir / "annotations.json")
    return result


__all__ = ["PROFILES", "degrade_annotation_set", "degrade_page", "page_rng"]
