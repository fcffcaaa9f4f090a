"""The resumable input: a stream built from position k is the old stream from k on."""

import matplotlib
import numpy as np
import pytest
import tensorflow as tf

from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
from keras_textnet.data.synthetic_dataset import write_synthetic_dataset
from keras_textnet.data.tfrecord import write_tfrecords
from keras_textnet.training.config import (AnnotationSourceConfig, DataConfig, PDFSourceConfig,
                                           SyntheticSourceConfig, TFRecordSourceConfig,
                                           TrainingConfig)
from keras_textnet.training.resumable_dataset import (mix_counts, mix_selector, raw_stream,
                                                      render_pdf_source, render_synthetic_pages,
                                                      resumable_dataset)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Five small synthetic pages as an annotation file, and as 2 TFRecord shards."""
    root = tmp_path_factory.mktemp("pages")
    ann = write_synthetic_dataset(SyntheticDocumentGenerator(page_size=(120, 160), degrade=0.0),
                                  root, 5, seed=7, workers=1, progress=False)
    shards = write_tfrecords(ann, root / "shards" / "pages", num_shards=2, progress=False)
    return root / "annotations.json", shards


def _data(**kwargs) -> DataConfig:
    return TrainingConfig.from_dict({"data": {"image_size": [64, 64], "batch_size": 2,
                                              "synthetic_workers": 0, **kwargs}}).data


def _files(ds, n):
    return [item["file"].numpy().decode() for item in ds.take(n)]


def _batches(ds, n):
    return [(images.numpy(), targets["boxes"].numpy(), targets["texts"].numpy())
            for images, targets in ds.take(n)]


def _same(a, b):
    return all(all(np.array_equal(x, y) for x, y in zip(p, q)) for p, q in zip(a, b))


def test_a_mixed_stream_resumes_where_it_stopped(pages):
    annotations, shards = pages
    data = _data(sources=[{"kind": "annotations", "path": str(annotations), "weight": 2},
                          {"kind": "synthetic", "page_size": [120, 160], "degrade": 0.0},
                          {"kind": "tfrecords", "path": [str(s) for s in shards]}])
    whole = _batches(resumable_dataset(data), 5)
    resumed = _batches(resumable_dataset(data, examples_seen=3 * 2), 2)
    assert _same(whole[3:], resumed)
    # Another seed is another stream.
    other = _batches(resumable_dataset(_data(seed=1, sources=[
        {"kind": "annotations", "path": str(annotations)}])), 1)
    assert not _same(whole[:1], other)


def test_annotation_epochs_are_permutations_and_shards_are_disjoint(pages):
    annotations, _ = pages
    data, source = _data(), AnnotationSourceConfig(path=str(annotations))
    stream = _files(raw_stream(source, data), 10)
    assert sorted(stream[:5]) == sorted(stream[5:]) and len(set(stream[:5])) == 5
    assert _files(raw_stream(source, data, start=3), 7) == stream[3:]
    shard = [set(_files(raw_stream(source, data, shard_index=i, num_shards=2), 3))
             for i in range(2)]
    assert not shard[0] & shard[1] and len(shard[0] | shard[1]) == 5
    in_order = _files(raw_stream(source, data, training=False), 6)
    assert in_order[:5] == sorted(in_order[:5]) and in_order[5] == in_order[0]
    write_synthetic_dataset(SyntheticDocumentGenerator(page_size=(96, 96)),
                            annotations.parent / "one", 1, workers=1, progress=False)
    one = AnnotationSourceConfig(path=str(annotations.parent / "one" / "annotations.json"))
    with pytest.raises(ValueError, match="1 image.s. cannot feed 2 input pipelines"):
        raw_stream(one, data, shard_index=1, num_shards=2)


def test_synthetic_pages_follow_their_seeds(pages):
    data = _data()
    source = SyntheticSourceConfig(page_size=[96, 128], degrade=0.0, seed_offset=100)
    names = _files(raw_stream(source, data, start=2, shard_index=1, num_shards=3), 2)
    # element k of shard i of 3 is page offset + 3 k + i
    assert names == ["synthetic_0000000107.png", "synthetic_0000000110.png"]
    path = render_synthetic_pages(source, 3, annotations_root := pages[0].parent / "val")
    assert path.exists() and render_synthetic_pages(source, 3, annotations_root) == path
    assert not list(annotations_root.glob(".*tmp*"))


def test_tfrecord_stream_resumes(pages):
    _, shards = pages
    source = TFRecordSourceConfig(path=[str(s) for s in shards], shuffle_buffer=3)
    data = _data()
    stream = _files(raw_stream(source, data), 12)
    assert _files(raw_stream(source, data, start=7), 5) == stream[7:]
    assert sorted(stream[:5]) == sorted(set(stream[:5])) or len(set(stream)) == 5


def test_mix_counts_agree_with_the_selector():
    weights = [3.0, 1.0, 0.5]
    choices = np.array(list(mix_selector(weights, key=11).take(2500).as_numpy_iterator()))
    assert mix_counts(weights, 11, 2500) == [int((choices == j).sum()) for j in range(3)]
    assert mix_counts(weights, 11, 1030) == [int((choices[:1030] == j).sum()) for j in range(3)]
    share = np.bincount(choices, minlength=3) / len(choices)
    np.testing.assert_allclose(share, np.array(weights) / sum(weights), atol=0.04)
    later = np.array(list(mix_selector(weights, key=11, start=1500).take(10).as_numpy_iterator()))
    assert np.array_equal(later, choices[1500:1510])


def test_input_context_gives_per_replica_batches_of_one_shard(pages):
    annotations, _ = pages
    data = _data(batch_size=4, sources=[{"kind": "annotations", "path": str(annotations)}])
    context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=1,
                                         num_replicas_in_sync=2)
    images, targets = next(iter(resumable_dataset(data, input_context=context)))
    assert images.shape == (2, 64, 64, 3) and targets["boxes"].shape == (2, 128, 4)
    with pytest.raises(ValueError, match="multiple of the 3 input pipelines"):
        resumable_dataset(data, input_context=tf.distribute.InputContext(3, 0, 3))


def test_pdf_source_is_rendered_once_then_read_as_annotations(tmp_path):
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    pdf = tmp_path / "doc.pdf"
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(pdf) as out:
        fig = plt.figure(figsize=(3, 2))
        fig.text(0.1, 0.6, "Resumable training pages", fontsize=12)
        out.savefig(fig)
        plt.close(fig)
    source = PDFSourceConfig(pdfs=str(tmp_path / "*.pdf"), dpi=72)
    path = render_pdf_source(source, tmp_path / "cache")
    assert path.parent.parent == tmp_path / "cache"
    assert render_pdf_source(source, tmp_path / "cache") == path
    images, _ = next(iter(resumable_dataset(_data(), [source], cache_root=tmp_path / "cache")))
    assert images.shape == (2, 64, 64, 3)
    with pytest.raises(FileNotFoundError, match="no PDF matches"):
        render_pdf_source(PDFSourceConfig(pdfs=str(tmp_path / "none*.pdf")), tmp_path)
