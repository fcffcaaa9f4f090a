"""Regenerates the pictures under docs/images/.

    python docs/make_pictures.py [--pdf-annotations data_cache/pdf_val/annotations.json]

The synthetic sheet shows one page per layout (seed = layout index), drawn with
its ground truth; the PDF sheet needs a PDF-rendered set (see
training/build_pdf_dataset.sh); the pipeline sheet shows training examples as
the model receives them.
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).parent / "images"


def synthetic_sheet():
    from keras_textnet.data.synthetic.generator import SyntheticDocumentGenerator
    from keras_textnet.data.visualize import contact_sheet, draw_record, save_rgb

    gen = SyntheticDocumentGenerator(page_size=(1024, 768), max_rotation=2.0)
    pictures, titles = [], []
    for i, layout in enumerate(gen.LAYOUTS):
        page = gen.generate(i, layout=layout)
        pictures.append(draw_record(page.image, page.record, texts=False))
        titles.append(f"{layout} (seed {i}, {page.angle:+.1f} deg)")
        if i == 0:
            save_rgb(HERE / "synthetic_page_detail.png",
                     draw_record(page.image, page.record)[:420, :])
    # one clean page without any drawing, to see the raw input
    page = gen.generate(100)
    pictures.append(page.image)
    titles.append(f"{page.layout} (seed 100), as the model sees it")
    save_rgb(HERE / "synthetic_contact_sheet.png",
             contact_sheet(pictures, columns=4, cell_width=420, titles=titles))


def pdf_sheet(annotations):
    from keras_textnet.data.annotation import AnnotationSet
    from keras_textnet.data.visualize import contact_sheet, draw_record, load_rgb, save_rgb

    ann = AnnotationSet.load(annotations)
    recs = ann.images[1::7][:6]
    pictures = [draw_record(load_rgb(ann.image_path(r)), r, texts=False) for r in recs]
    save_rgb(HERE / "pdf_contact_sheet.png",
             contact_sheet(pictures, columns=3, cell_width=500, titles=[r.file for r in recs]))
    detail = draw_record(load_rgb(ann.image_path(recs[3])), recs[3])
    save_rgb(HERE / "pdf_page_detail.png", detail[150:650, 100:1100])


def pipeline_sheet():
    from keras_textnet.cli import main
    main(["data", "pipeline-preview", "--synthetic", "--count", "6", "--seed", "3",
          "--sheet", str(HERE / "pipeline_preview.png")])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pdf-annotations", default="data_cache/pdf_val/annotations.json")
    args = parser.parse_args()
    HERE.mkdir(parents=True, exist_ok=True)
    synthetic_sheet()
    if Path(args.pdf_annotations).exists():
        pdf_sheet(args.pdf_annotations)
    pipeline_sheet()
