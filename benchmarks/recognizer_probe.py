"""Does the text recognition head learn? Train it alone on rendered text lines.

A probe, not project training code. Lines of text (from the synthetic
:class:`~keras_textnet.data.synthetic.text.TextSampler` when available,
else random ASCII words) are rendered with PIL in matplotlib's DejaVu fonts,
cropped to their ink (like the project's ink-tight line boxes), resized to
32 px height keeping the aspect ratio, and fed to a small conv stem (total
stride 4, 64 channels: a stand-in for the backbone's C2). So the stem output
has height ``Hp = 8`` and ``8 * w / h`` columns, exactly what dynamic RoI
pooling gives the recognizer, which is trained with CTC.

Every ``--log-every`` steps it prints the training loss and the greedy-decoding
character error rate (CER) on held-out lines in the training fonts and in a
font never trained on.

Usage::

    python benchmarks/recognizer_probe.py --minutes 12
    python benchmarks/recognizer_probe.py --recognizer bilstm --minutes 5
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

from keras_textnet.charset import Charset
from keras_textnet.evaluation.text_metrics import levenshtein
from keras_textnet.layers.recognizers import build_recognizer
from keras_textnet.ops.ctc import ctc_greedy_decode, ctc_loss, ctc_required_length

LINE_HEIGHT = 32  # px; the stem's stride 4 makes Hp = 8
STRIDE = 4
TRAIN_FONTS = ("DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSerif",
               "DejaVuSerif-Bold", "DejaVuSerif-Italic", "DejaVuSansMono", "DejaVuSansMono-Bold")
HELD_OUT_FONT = "DejaVuSerif-BoldItalic"


def font_path(name):
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / f"{name}.ttf"
    if not path.exists():
        raise FileNotFoundError(f"Font {name!r} not found at {path}.")
    return str(path)


class LineSource:
    """Random text lines (strings) of at most ``max_chars`` characters."""

    def __init__(self, charset, max_chars):
        self.charset = charset
        self.max_chars = max_chars
        try:
            from keras_textnet.data.synthetic.text import TextSampler

            self.sampler = TextSampler(charset)
        except ImportError:  # the synthetic-data extras are not installed
            self.sampler = None
        self.kinds = ("sentence", "sentence", "sentence", "heading", "number", "amount", "date",
                      "identifier", "email", "phone", "person_name", "company", "code_line",
                      "product", "url")

    def __call__(self, rng):
        if self.sampler is None:
            letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    ".,;:!?'\"()-/&%$#@"))
            words = ["".join(rng.choice(letters, rng.integers(1, 9))) for _ in range(8)]
            text = " ".join(words)
        else:
            kind = self.kinds[rng.integers(len(self.kinds))]
            text = getattr(self.sampler, kind)(rng)
        if len(text) > self.max_chars:  # a random window, without partial words at its ends
            start = int(rng.integers(0, len(text) - self.max_chars + 1))
            end = start + self.max_chars
            window = text[start:end]
            if start > 0 and text[start - 1] != " " and " " in window:
                window = window[window.find(" ") + 1:]
            if end < len(text) and text[end] != " " and " " in window:
                window = window[:window.rfind(" ")]
            text = window.strip()
        return text or "x"


class LineRenderer:
    """Renders a string into a ``(32, width)`` float32 image, ink 1, background 0."""

    def __init__(self, fonts, max_width):
        self.fonts = {name: {} for name in fonts}
        self.max_width = max_width

    def _font(self, name, size):
        cache = self.fonts[name]
        if size not in cache:
            cache[size] = ImageFont.truetype(font_path(name), size)
        return cache[size]

    def __call__(self, text, rng, augment=True):
        name = list(self.fonts)[rng.integers(len(self.fonts))]
        size = int(rng.integers(24, 41))
        font = self._font(name, size)
        left, top, right, bottom = font.getbbox(text)
        canvas = Image.new("L", (right - left + 16, bottom - top + 16), 0)
        ImageDraw.Draw(canvas).text((8 - left, 8 - top), text, fill=255, font=font)
        ink = np.asarray(canvas)
        rows, cols = np.nonzero(ink.max(axis=1) > 40)[0], np.nonzero(ink.max(axis=0) > 40)[0]
        if rows.size == 0:
            return None
        pad = rng.integers(0, 3, size=4) if augment else np.ones(4, int)
        y0, y1 = max(rows[0] - pad[0], 0), min(rows[-1] + 1 + pad[1], ink.shape[0])
        x0, x1 = max(cols[0] - pad[2], 0), min(cols[-1] + 1 + pad[3], ink.shape[1])
        crop = canvas.crop((x0, y0, x1, y1))
        width = max(round(LINE_HEIGHT * crop.width / crop.height), STRIDE)
        if width > self.max_width:
            return None
        image = np.asarray(crop.resize((width, LINE_HEIGHT), Image.BILINEAR), np.float32) / 255.0
        if augment:
            contrast = rng.uniform(0.5, 1.0)
            image = image * contrast + rng.normal(0, 0.04, image.shape).astype(np.float32)
        return image


def make_batch(source, renderer, charset, rng, batch, max_label, augment=True):
    max_width = renderer.max_width
    images = np.zeros((batch, LINE_HEIGHT, max_width, 1), np.float32)
    widths = np.zeros((batch,), np.int32)
    labels = np.zeros((batch, max_label), np.int32)
    lengths = np.zeros((batch,), np.int32)
    texts = []
    i = 0
    while i < batch:
        text = source(rng)[:max_label]
        image = renderer(text, rng, augment)
        if image is None:
            continue
        images[i, :, :image.shape[1], 0] = image
        widths[i] = -(-image.shape[1] // STRIDE)
        labels[i], lengths[i] = charset.encode_padded(text, max_label)
        texts.append(text)
        i += 1
    return images, widths, labels, lengths, texts


def build_model(args, num_classes, width_px):
    """Conv stem (stride 4, 64 channels) -> recognizer."""
    images = keras.Input((LINE_HEIGHT, width_px, 1), name="images")
    widths = keras.Input((), dtype="int32", name="widths")
    x = images
    for filters, stride in ((32, 2), (64, 2), (64, 1)):
        x = keras.layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    if args.recognizer == "conv_attention":
        kwargs = {"filters": args.filters, "num_blocks": args.blocks, "num_heads": args.heads,
                      "downsample": args.downsample, "dropout": args.dropout}
    else:
        kwargs = {"units": args.units, "num_layers": args.layers, "downsample": args.downsample,
                      "dropout": args.dropout}
    recognizer = build_recognizer(args.recognizer, num_classes, **kwargs)
    logits, logit_lengths = recognizer(x, widths)
    return keras.Model([images, widths], [logits, logit_lengths]), recognizer


def character_error_rate(truths, predictions):
    errors = sum(levenshtein(t, p) for t, p in zip(truths, predictions))
    return errors / max(sum(len(t) for t in truths), 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recognizer", default="conv_attention", choices=("conv_attention", "bilstm"))
    parser.add_argument("--minutes", type=float, default=12.0, help="training wall-clock budget")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-width", type=int, default=128,
                        help="Wmax, in stem columns (images are 4x wider)")
    parser.add_argument("--max-label", type=int, default=40)
    parser.add_argument("--filters", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--units", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--downsample", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--log-every", type=int, default=200)
    parser.add_argument("--eval-lines", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the curve and results here")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(args.seed)
    charset = Charset()
    width_px = args.max_width * STRIDE
    source = LineSource(charset, max_chars=min(args.max_label, int(args.max_width / 4.4)))
    train_renderer = LineRenderer(TRAIN_FONTS, width_px)
    rng = np.random.default_rng(args.seed)
    eval_rng = np.random.default_rng(10_000 + args.seed)
    held_out = make_batch(source, train_renderer, charset, eval_rng, args.eval_lines,
                          args.max_label, augment=False)
    held_out_font = make_batch(source, LineRenderer((HELD_OUT_FONT,), width_px), charset,
                               eval_rng, args.eval_lines, args.max_label, augment=False)

    model, recognizer = build_model(args, charset.num_classes, width_px)
    schedule = keras.optimizers.schedules.PolynomialDecay(  # linear warmup, then constant
        args.lr / args.warmup, args.warmup, args.lr, power=1.0)
    optimizer = keras.optimizers.Adam(schedule, global_clipnorm=5.0)

    @tf.function(jit_compile=False)
    def train_step(images, widths, labels, label_lengths):
        with tf.GradientTape() as tape:
            logits, logit_lengths = model([images, widths], training=True)
            losses = ctc_loss(labels, label_lengths, logits, logit_lengths)
            loss = tf.reduce_mean(losses)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        feasible = ctc_required_length(labels, label_lengths) <= logit_lengths
        return loss, tf.reduce_mean(tf.cast(feasible, tf.float32))

    @tf.function(jit_compile=False)
    def predict(images, widths):
        logits, logit_lengths = model([images, widths], training=False)
        return ctc_greedy_decode(logits, logit_lengths, max_length=args.max_label)

    def evaluate(batch):
        images, widths, _, _, texts = batch
        predictions = []
        for start in range(0, len(texts), 100):
            out = predict(images[start:start + 100], widths[start:start + 100])
            predictions += charset.decode_batch(out["ids"].numpy(), out["lengths"].numpy())
        return character_error_rate(texts, predictions), predictions

    print(f"model: {model.count_params():,} parameters ({recognizer.count_params():,} in the "
          f"recognizer); T = {recognizer.compute_output_shape((None, 8, args.max_width, 64))[0][1]}",
          flush=True)
    curve = []
    step = 0
    start = time.time()
    train_seconds = data_seconds = 0.0
    losses, feasibles = [], []
    while True:
        t0 = time.time()
        images, widths, labels, lengths, _ = make_batch(source, train_renderer, charset, rng,
                                                        args.batch, args.max_label)
        t1 = time.time()
        loss, feasible = train_step(images, widths, labels, lengths)
        losses.append(float(loss))
        feasibles.append(float(feasible))
        t2 = time.time()
        data_seconds += t1 - t0
        train_seconds += t2 - t1
        step += 1
        if step == 1:
            first_step_seconds = t2 - t1  # tracing included; kept out of the per-step mean
            print(f"first step (tracing): {first_step_seconds:.1f} s", flush=True)
        done = train_seconds + data_seconds >= args.minutes * 60
        if step % args.log_every == 0 or done:
            cer, _ = evaluate(held_out)
            cer_font, _ = evaluate(held_out_font)
            row = {"step": step, "lines": step * args.batch, "minutes": round((time.time() - start) / 60, 2),
                       "train_loss": round(float(np.mean(losses)), 3), "cer": round(cer, 4),
                       "cer_held_out_font": round(cer_font, 4),
                       "s_per_step": round((train_seconds - first_step_seconds) / max(step - 1, 1), 3),
                       "data_s_per_step": round(data_seconds / step, 3),
                       "feasible": round(float(np.mean(feasibles)), 4)}
            curve.append(row)
            losses, feasibles = [], []
            print(json.dumps(row), flush=True)
        if done:
            break

    cer, predictions = evaluate(held_out)
    images, widths, _, _, texts = held_out
    print("examples (truth -> prediction):")
    for truth, prediction in list(zip(texts, predictions))[:8]:
        print(f"  {truth!r} -> {prediction!r}")
    result = {"args": vars(args), "parameters": model.count_params(),
                  "recognizer_parameters": recognizer.count_params(), "curve": curve,
                  "final_cer": cer, "final_cer_held_out_font": curve[-1]["cer_held_out_font"],
                  "examples": list(zip(texts[:8], predictions[:8]))}
    print(f"final CER on {len(texts)} held-out lines: {cer:.4f} "
          f"(held-out font {HELD_OUT_FONT}: {curve[-1]['cer_held_out_font']:.4f})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
