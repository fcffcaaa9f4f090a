"""Deployment exports of a TextNet: SavedModel (TF Serving), TFLite (LiteRT), ONNX.

Each format is one module (``saved_model``, ``tflite``, ``onnx``); ``outputs``
turns the exported models' output tensors into words, ``gpu_report`` measures
how much of a TFLite model a mobile GPU delegate can take, and ``cli`` is the
``keras-textnet export`` command. Nothing here is imported by the package
itself: TensorFlow loads only when an export runs.
"""
