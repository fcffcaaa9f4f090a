"""Deployment exports of a TextNet: SavedModel (TF Serving), TFLite (LiteRT), ONNX.

* ``saved_model``: TF Serving layout, image bytes or pixels in, boxes and text out;
* ``tflite``: builtin-ops-only LiteRT models (fp32, fp16, int8) and a runner;
* ``onnx``: tf2onnx conversion and an ONNX Runtime runner;
* ``exported_text_net``: what the TFLite and ONNX runners share (model info, pages);
* ``outputs``: the exported tensors and how to turn them into words (NumPy);
* ``gpu_report``: how much of a TFLite model a mobile GPU delegate can take;
* ``parity``, ``runtimes``: comparing and timing every format alike;
* ``model_source``: what an export starts from, traced with pure-TF pooling;
* the ``keras-textnet export`` command is :mod:`keras_textnet.cli.export`.

Nothing here is imported by the package itself: TensorFlow loads only when an
export runs. See ``docs/export.md``.
"""
