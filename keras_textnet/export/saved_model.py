"""SavedModel for TF Serving: image bytes or pixels in, lines with boxes and text out.

Layout: ``OUT/NAME/VERSION/`` (``saved_model.pb``, ``variables/``), the folder
TF Serving's ``--model_base_path=OUT/NAME`` expects; ``model_info.json`` sits in
``assets.extra/``. Two signatures share one per-image ``serve`` function
(Model Garden's ``export_base`` pattern), so both give the same numbers:

* ``serving_default``: ``images`` ``(B,)`` string, encoded PNG or JPEG files;
* ``serve_images``: ``images`` ``(B, H, W, 3)`` uint8 RGB.

Every image goes through what :class:`~keras_textnet.predictor.TextNetPredictor`
does, in the graph: shrink so its longer side is at most ``max_side``, pad
with white (bottom, right) to a multiple of 32, run the network, map the
boxes back to the image's own pixels. PNGs are decoded to RGBA and composited
over white (as the predictor does with transparency); JPEGs to RGB with the
accurate integer DCT. These are the pixels of
:func:`keras_textnet.image_io.decode_image` for 8-bit PNGs and RGB / grey
JPEGs; EXIF orientation is not applied (the predictor applies it), 16-bit PNGs
keep their high byte and CMYK JPEGs convert a little differently
(docs/export.md).

Outputs (``D = detections_per_image``, ``L = max_text_length``), rows past
``count`` are padding:

=================  ===========  ==================================================
``boxes``          (B, D, 4)    float32 ``(y0, x0, y1, x1)`` in the input image's pixels
``scores``         (B, D)       float32 text probability, decreasing
``count``          (B,)         int32 valid rows
``transcriptions`` (B, D)       string, the text of each line
``angles``         (B, D)       float32 radians, counter-clockwise
``text_scores``    (B, D)       float32 recognizer confidence
``char_ids``       (B, D, L)    int32 charset ids (0 = padding)
``lengths``        (B, D)       int32
``positions``      (B, D, L)    int32 recognizer step of each character
``num_steps``      (B, D)       int32
``image_size``     (B, 2)       int32 ``(height, width)`` of each decoded image
=================  ===========  ==================================================

The last five let a client split lines into words
(:func:`keras_textnet.export.outputs.decode_page` with scale ``(1, 1)``).

A request whose bytes are not a PNG or JPEG, are truncated, or whose image
has more than ``max_pixels`` pixels fails with ``INVALID_ARGUMENT`` and a
message naming the batch index; the server keeps serving.

>>> path = export_saved_model("model.keras", "export/serving", name="textnet")  # doctest: +SKIP
>>> # tensorflow_model_server --model_name=textnet --model_base_path=$PWD/export/serving/textnet
"""

from __future__ import annotations

from pathlib import Path

from keras_textnet.export import outputs as output_helpers
from keras_textnet.export.model_source import ExportError, load_model, pure_tf_pooling
from keras_textnet.image_io import DEFAULT_MAX_PIXELS

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"

#: Output names of both signatures, in this order.
SERVING_OUTPUTS = ("boxes", "scores", "count", "transcriptions", "angles", "text_scores",
                   "char_ids", "lengths", "positions", "num_steps", "image_size")


class ServingGraph:
    """The per-image serving computation around a TextNet (pure TF, traced once per signature).

    Args:
        model: the TextNet.
        max_side, scale, pad_multiple: as :class:`~keras_textnet.predictor.TextNetPredictor`.
        max_pixels: larger decoded images are refused before decoding.
    """

    def __init__(self, model, max_side: int = 2048, scale: float = 1.0, pad_multiple: int = 32,
                 max_pixels: int = DEFAULT_MAX_PIXELS):
        import tensorflow as tf

        if max_side < pad_multiple:
            raise ExportError(f"max_side must be >= {pad_multiple}; received {max_side}")
        if scale <= 0:
            raise ExportError(f"scale must be positive; received {scale}")
        self.model = model
        self.max_side = int(max_side)
        self.scale = float(scale)
        self.pad_multiple = int(pad_multiple)
        self.max_pixels = int(max_pixels)
        self.vocabulary = tf.constant([""] + list(model.charset.characters))
        d, length = model.detections_per_image, model.max_text_length
        self.output_signature = {
            "boxes": tf.TensorSpec([d, 4], tf.float32),
            "scores": tf.TensorSpec([d], tf.float32),
            "count": tf.TensorSpec([], tf.int32),
            "transcriptions": tf.TensorSpec([d], tf.string),
            "angles": tf.TensorSpec([d], tf.float32),
            "text_scores": tf.TensorSpec([d], tf.float32),
            "char_ids": tf.TensorSpec([d, length], tf.int32),
            "lengths": tf.TensorSpec([d], tf.int32),
            "positions": tf.TensorSpec([d, length], tf.int32),
            "num_steps": tf.TensorSpec([d], tf.int32),
            "image_size": tf.TensorSpec([2], tf.int32),
        }

    # ----------------------------------------------------------- decoding
    def decode(self, data, index):
        """One encoded PNG/JPEG string -> ``(H, W, 3)`` uint8, with clear errors."""
        import tensorflow as tf

        length = tf.strings.length(data)
        is_png = tf.logical_and(length >= 24,
                                tf.equal(tf.strings.substr(data, 0, 8), _PNG_MAGIC))
        is_jpeg = tf.equal(tf.strings.substr(data, 0, 3), _JPEG_MAGIC)
        check = tf.debugging.Assert(is_png | is_jpeg, [tf.strings.format(
            "keras_textnet: images[{}] is not a PNG or JPEG file ({} bytes)", (index, length))],
            name="check_image_format")
        with tf.control_dependencies([check]):
            data = tf.identity(data)

        def png_size():
            # IHDR: width, height as big-endian uint32 at bytes 16..24.
            wh = tf.io.decode_raw(tf.strings.substr(data, 16, 8), tf.int32, little_endian=False)
            return tf.stack([wh[1], wh[0]])

        def jpeg_size():
            return tf.image.extract_jpeg_shape(data)[:2]

        size = tf.cond(is_png, png_size, jpeg_size)
        pixels = tf.cast(size[0], tf.int64) * tf.cast(size[1], tf.int64)
        check = tf.debugging.Assert((pixels <= self.max_pixels) & (pixels > 0), [tf.strings.format(
            "keras_textnet: images[{}] is {}x{} pixels; images of 1 to {} pixels are served",
            (index, size[1], size[0], self.max_pixels))], name="check_image_size")
        with tf.control_dependencies([check]):
            data = tf.identity(data)

        def rgba_8bit():
            return tf.io.decode_png(data, channels=4, dtype=tf.uint8)  # tRNS keys become alpha

        def rgba_low_depth():
            # Asked for 4 channels, TF fills the alpha of a 1-, 2- or 4-bit PNG (bilevel
            # scans, small palettes) with 2**depth - 1, not 255: the page came out near white.
            img = tf.io.decode_png(data, channels=0, dtype=tf.uint8)
            c = tf.shape(img)[-1]
            rgb = tf.cond(c < 3, lambda: tf.tile(img[..., :1], [1, 1, 3]), lambda: img[..., :3])
            opaque = tf.fill(tf.concat([tf.shape(img)[:2], [1]], 0), tf.constant(255, tf.uint8))
            alpha = tf.case([(tf.equal(c, 4), lambda: img[..., 3:]),
                             (tf.equal(c, 2), lambda: img[..., 1:2])], default=lambda: opaque)
            return tf.ensure_shape(tf.concat([rgb, alpha], -1), [None, None, 4])

        def png():
            # IHDR bit depth (byte 24); "\x08" stands in when the file is cut short there.
            depth = tf.io.decode_raw(tf.strings.join([tf.strings.substr(data, 24, 1), "\x08"]),
                                     tf.uint8)[0]
            rgba = tf.cast(tf.cond(depth < 8, rgba_low_depth, rgba_8bit), tf.float32)
            alpha = rgba[..., 3:] / 255.0
            rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)
            return tf.cast(tf.clip_by_value(tf.round(rgb), 0.0, 255.0), tf.uint8)

        def jpeg():
            # The accurate integer DCT, as Pillow (the predictor, training) decodes.
            return tf.io.decode_jpeg(data, channels=3, dct_method="INTEGER_ACCURATE")

        image = tf.cond(is_png, png, jpeg)
        return tf.ensure_shape(image, [None, None, 3])

    # ------------------------------------------------------------ serving
    def serve(self, image):
        """One ``(H, W, 3)`` uint8 image -> the output dict of one row (see the module doc)."""
        import tensorflow as tf

        shape = tf.shape(image)
        h, w = shape[0], shape[1]
        hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
        factor = self.scale * tf.minimum(1.0, self.max_side / (tf.maximum(hf, wf) * self.scale))
        new_h = tf.maximum(1, tf.cast(tf.round(hf * factor), tf.int32))
        new_w = tf.maximum(1, tf.cast(tf.round(wf * factor), tf.int32))

        def resized():
            method = tf.cond(factor < 1.0,
                             lambda: tf.image.resize(image, [new_h, new_w], method="area"),
                             lambda: tf.image.resize(image, [new_h, new_w], method="bilinear"))
            return tf.cast(tf.clip_by_value(tf.round(method), 0.0, 255.0), tf.uint8)

        image = tf.cond(tf.abs(factor - 1.0) > 1e-6, resized, lambda: image)
        m = self.pad_multiple
        ph = (new_h + m - 1) // m * m
        pw = (new_w + m - 1) // m * m
        padded = tf.pad(image, [[0, ph - new_h], [0, pw - new_w], [0, 0]], constant_values=255)
        out = self.model(padded[tf.newaxis], training=False)
        sy = tf.cast(new_h, tf.float32) / hf
        sx = tf.cast(new_w, tf.float32) / wf
        boxes = out["boxes"][0] / tf.stack([sy, sx, sy, sx])
        boxes = tf.minimum(tf.maximum(boxes, 0.0), tf.stack([hf, wf, hf, wf]))
        count = out["count"][0]
        valid = tf.range(self.model.detections_per_image) < count
        boxes = tf.where(valid[:, tf.newaxis], boxes, 0.0)
        char_ids = out["char_ids"][0]
        text = tf.strings.reduce_join(tf.gather(self.vocabulary, char_ids), axis=-1)
        return {
            "boxes": boxes,
            "scores": out["scores"][0],
            "count": count,
            "transcriptions": text,
            "angles": out["angles"][0],
            "text_scores": out["text_scores"][0],
            "char_ids": char_ids,
            "lengths": out["lengths"][0],
            "positions": out["positions"][0],
            "num_steps": out["num_steps"][0],
            "image_size": tf.stack([h, w]),
        }

    def serve_encoded(self, images):
        """``(B,)`` encoded PNG/JPEG strings -> batched outputs."""
        import tensorflow as tf

        indices = tf.range(tf.shape(images)[0])
        return tf.map_fn(lambda args: self.serve(self.decode(args[0], args[1])),
                         (images, indices), fn_output_signature=self.output_signature,
                         parallel_iterations=1)

    def serve_images(self, images):
        """``(B, H, W, 3)`` uint8 -> batched outputs."""
        import tensorflow as tf

        return tf.map_fn(self.serve, images, fn_output_signature=self.output_signature,
                         parallel_iterations=1)


def export_saved_model(model, out_dir, name: str = "textnet", version: int = 1,
                       max_side: int = 2048, scale: float = 1.0,
                       max_pixels: int = DEFAULT_MAX_PIXELS, preset: str | None = None,
                       overwrite: bool = False, **overrides) -> Path:
    """Writes the serving SavedModel to ``out_dir/name/version`` and returns that path.

    Args:
        model: a TextNet, a ``.keras`` file, a ``.weights.h5`` file (with
            ``preset``), or ``None`` with ``preset`` (an untrained model).
        out_dir: the model base folder's parent.
        name, version: TF Serving's model name and version folder.
        max_side, scale: preprocessing, as the predictor's.
        max_pixels: bigger images are refused with INVALID_ARGUMENT.
        overwrite: replace an existing version folder.
        **overrides: inference settings (e.g. ``detections_per_image``) or,
            for presets, any preset override.
    """
    import keras
    import tensorflow as tf

    if not isinstance(version, int) or version < 1:
        raise ExportError(f"version must be a positive integer; received {version!r}")
    net = load_model(model, preset=preset, **overrides)
    target = Path(out_dir) / name / str(version)
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise ExportError(f"{target} exists; pass another version or overwrite=True")
        import shutil

        shutil.rmtree(target)
    graph = ServingGraph(net, max_side=max_side, scale=scale, max_pixels=max_pixels)
    with pure_tf_pooling():
        archive = keras.export.ExportArchive()
        archive.track(net)
        archive.add_endpoint("serving_default", graph.serve_encoded,
                             input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        archive.add_endpoint("serve_images", graph.serve_images, input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.uint8, name="images")])
        archive.write_out(str(target), verbose=False)
    extra = target / "assets.extra"
    extra.mkdir(exist_ok=True)
    d, length = net.detections_per_image, net.max_text_length
    shapes = {"boxes": f"(B, {d}, 4)", "char_ids": f"(B, {d}, {length})",
              "positions": f"(B, {d}, {length})", "count": "(B,)", "image_size": "(B, 2)"}
    info = output_helpers.model_info(
        net, None, format="saved_model", max_side=max_side, scale=scale, max_pixels=max_pixels,
        input={"serving_default": "images (B,) string: encoded PNG or JPEG files",
               "serve_images": "images (B, H, W, 3) uint8 RGB"},
        outputs=[{"name": n, "shape": shapes.get(n, f"(B, {d})")} for n in SERVING_OUTPUTS],
        boxes="(y0, x0, y1, x1) in the input image's pixels")
    output_helpers.write_model_info(extra / output_helpers.MODEL_INFO, info)
    return target


__all__ = ["SERVING_OUTPUTS", "ServingGraph", "export_saved_model"]
