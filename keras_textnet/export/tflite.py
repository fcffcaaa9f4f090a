"""TFLite export for phones (LiteRT), builtin ops only, and a runner that reads words with it.

The model is converted from a SavedModel of the network at a fixed input size
(:func:`~keras_textnet.export.model_source.write_tensor_saved_model`), with
``TFLITE_BUILTINS`` as the only op set: no Flex (``SELECT_TF_OPS``), no custom
op; the conversion fails rather than fall back. Three variants:

* ``fp32``: float32 weights and compute;
* ``fp16``: float16 weights (half the file), dequantized to float32 at load time
  on the CPU; a GPU delegate computes in float16;
* ``int8``: dynamic-range quantization: int8 weights, activations quantized on
  the fly by the CPU kernels (a quarter of the file; for the CPU, not the GPU).

The graph keeps the order of the network: the convolutional bulk (backbone, FPN,
recognition adapter, RPN head convolutions) comes first as one block of ops a
mobile GPU delegate supports, then the ops it cannot take (top-k, NMS, gathers),
then the box head and recognizer. :mod:`keras_textnet.export.gpu_report`
measures it.

>>> paths = export_tflite("model.keras", "export/tflite", input_size=(1024, 768))  # doctest: +SKIP
>>> reader = TFLiteTextNet(paths["fp32"])                                       # doctest: +SKIP
>>> reader.predict_image("page.png")["words"][:3]                               # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from keras_textnet.export import outputs as output_helpers
from keras_textnet.export.model_source import (
    ExportError,
    check_input_size,
    load_model,
    write_tensor_saved_model,
)

#: The TFLite variants, in the order they are written.
VARIANTS = ("fp32", "fp16", "int8")

#: The default fixed input, height x width (a 3:4 portrait page).
DEFAULT_INPUT_SIZE = (1024, 768)


def convert_saved_model(saved_model_dir, variant: str = "fp32") -> bytes:
    """A ``.tflite`` flatbuffer of ``saved_model_dir``, builtin ops only.

    Raises:
        ExportError: for an unknown variant, or when some op has no builtin
            TFLite kernel (the converter's message lists them).
    """
    import tensorflow as tf

    if variant not in VARIANTS:
        raise ExportError(f"unknown TFLite variant {variant!r}; choose from {', '.join(VARIANTS)}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic range: no dataset
    try:
        flatbuffer = converter.convert()
    except Exception as e:  # the converter raises ConverterError and others
        raise ExportError(f"TFLite conversion with builtin ops only failed: {e}") from e
    non_builtin = non_builtin_ops(flatbuffer)
    if non_builtin:
        raise ExportError(f"the TFLite model holds non-builtin ops {non_builtin}")
    return flatbuffer


def op_names(flatbuffer: bytes) -> list[str]:
    """The op of every node of the main subgraph, in execution order."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(flatbuffer, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for code in model.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = names.get(builtin, str(builtin))
        codes.append(name if name != "CUSTOM" else f"CUSTOM:{(code.customCode or b'').decode()}")
    return [codes[op.opcodeIndex] for op in model.subgraphs[0].operators]


def non_builtin_ops(flatbuffer: bytes) -> list[str]:
    """Custom (including Flex) ops of the model, sorted; empty for a builtin-only model."""
    return sorted({name for name in op_names(flatbuffer) if name.startswith("CUSTOM")})


def export_tflite(model, out_dir, input_size=DEFAULT_INPUT_SIZE, variants=VARIANTS,
                  name: str = "textnet", report: bool = True, preset: str | None = None,
                  **overrides) -> dict:
    """Writes ``OUT/NAME_<variant>.tflite`` for each variant, ``model_info.json`` and a GPU report.

    Args:
        model: a TextNet, a ``.keras`` file, a ``.weights.h5`` file (with
            ``preset``), or ``None`` with ``preset`` (an untrained model).
        out_dir: the folder to write (created).
        input_size: the fixed ``(H, W)`` input, multiples of 32.
        variants: some of :data:`VARIANTS`.
        name: file name stem.
        report: also write ``gpu_report.md`` (:mod:`~keras_textnet.export.gpu_report`).

    Returns:
        ``{variant: path}``, plus ``"info"`` and (with ``report``) ``"gpu_report"``.
    """
    net = load_model(model, preset=preset, **overrides)
    input_size = check_input_size(input_size)
    variants = tuple(variants)
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ExportError(f"unknown TFLite variant(s) {unknown or variants}; choose from "
                          f"{', '.join(VARIANTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    with tempfile.TemporaryDirectory(prefix="textnet_tflite_") as tmp:
        saved = write_tensor_saved_model(net, Path(tmp) / "saved_model", input_size)
        for variant in variants:
            path = out_dir / f"{name}_{variant}.tflite"
            path.write_bytes(convert_saved_model(saved, variant))
            written[variant] = path
    info = output_helpers.model_info(
        net, input_size, format="tflite",
        files={v: p.name for v, p in written.items() if v in VARIANTS},
        ops="TFLite builtins only (no Flex, no custom op)")
    written["info"] = output_helpers.write_model_info(out_dir / output_helpers.MODEL_INFO, info)
    if report:
        from keras_textnet.export.gpu_report import gpu_delegate_report

        sections = [f"# GPU-delegate report: {net.name}, input {input_size[0]}x{input_size[1]}\n"]
        for variant in variants:
            sections.append(gpu_delegate_report(written[variant]).to_markdown(
                title=f"{name}_{variant}.tflite"))
        written["gpu_report"] = out_dir / "gpu_report.md"
        written["gpu_report"].write_text("\n".join(sections), encoding="utf-8")
    return written


class TFLiteTextNet:
    """Reads pages with an exported ``.tflite`` model in the LiteRT interpreter.

    Args:
        path: the ``.tflite`` file.
        info: its model info (dict or path); by default ``model_info.json``
            next to the model.
        num_threads: CPU threads of the interpreter (``None``: LiteRT's default).

    ``run(batch)`` gives the raw output tensors of a ``(1, H, W, 3)`` uint8 input;
    ``predict_image(image)`` the prediction-JSON page of any image.
    """

    def __init__(self, path, info=None, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"TFLite model not found: {path}")
        if not isinstance(info, dict):
            info = output_helpers.read_model_info(info if info is not None else path.parent)
        self.path = path
        self.info = info
        self.charset = output_helpers.charset_of(info)
        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._runner = self.interpreter.get_signature_runner("serving_default")
        shape = self._runner.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[1]), int(shape[2]))

    def run(self, batch):
        """Output tensors (name -> array) of one ``(1, H, W, 3)`` uint8 input."""
        return self._runner(images=batch)

    def predict_image(self, image, file: str | None = None, min_score: float = 0.0) -> dict:
        """Words and lines of one image (path, bytes or array), prediction-JSON shaped."""
        return output_helpers.predict_page(self.run, image, self.input_size, self.charset,
                                           file=file, min_score=min_score)


__all__ = [
    "DEFAULT_INPUT_SIZE",
    "VARIANTS",
    "TFLiteTextNet",
    "convert_saved_model",
    "export_tflite",
    "non_builtin_ops",
    "op_names",
]
