"""Writes synthetic pages to disk as PNG files plus an annotation file.

Pages are rendered by worker processes (spawned, so they never inherit
TensorFlow threads) in seed order, so the written set depends only on the
generator's configuration, the seeds and the installed fonts.

>>> from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
>>> write_synthetic_dataset(SyntheticDocumentGenerator(), "synth", count=100)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_textnet.data.annotation import AnnotationSet, ImageRecord
from keras_textnet.data.worker_pool import spawn_pool

_GENERATOR = None


def _init(config):
    global _GENERATOR
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    _GENERATOR = SyntheticDocumentGenerator.from_config(config)


def _render(args) -> ImageRecord:
    seed, image_dir = args
    from keras_textnet.data.visualize import save_rgb

    page = _GENERATOR.generate(seed)
    record = page.record
    record.file = f"images/{Path(record.file).name}"
    save_rgb(Path(image_dir) / Path(record.file).name, page.image)
    record.extra["layout"] = page.layout
    record.extra["seed"] = int(seed)
    return record


def write_synthetic_dataset(generator, out_dir: str | os.PathLike, count: int, seed: int = 0,
                            workers: int | None = None, progress: bool = True) -> AnnotationSet:
    """Renders pages ``seed .. seed + count - 1`` into ``out_dir``.

    Writes ``out_dir/images/synthetic_<seed>.png`` and
    ``out_dir/annotations.json`` (each image also records its ``layout`` and
    ``seed``). Returns the written set.
    """
    from tqdm.auto import tqdm

    if count < 1:
        raise ValueError(f"count must be >= 1; received {count}")
    out_dir = Path(out_dir)
    image_dir = out_dir / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    workers = max(1, (os.cpu_count() or 2)) if workers is None else int(workers)
    jobs = [(s, str(image_dir)) for s in range(seed, seed + count)]
    bar = dict(total=count, desc="synthetic pages", unit="page", disable=not progress)
    if workers <= 1:
        _init(generator.get_config())
        records = [_render(job) for job in tqdm(jobs, **bar)]
    else:
        with spawn_pool(workers, _init, (generator.get_config(),)) as pool:
            records = list(tqdm(pool.imap(_render, jobs, chunksize=1), **bar))
    ann = AnnotationSet(images=records, root=out_dir,
                        extra={"generator": generator.get_config()})
    ann.save(out_dir / "annotations.json")
    return ann
