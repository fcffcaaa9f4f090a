"""TFLite export for phones (LiteRT), builtin ops only, and a runner that reads words with it.

The model is converted from a SavedModel of the network at a fixed input size
(:func:`~keras_textnet.export.model_source.write_tensor_saved_model`), with
``TFLITE_BUILTINS`` as the only op set: no Flex (``SELECT_TF_OPS``), no custom
op; the conversion fails rather than fall back. Three variants:

* ``fp32``: float32 weights and compute;
* ``fp16``: float16 weights (half the file), dequantized to float32 at load time
  on the CPU; a GPU delegate computes in float16;
* ``int8``: dynamic-range quantization: int8 weights, activations quantized on
  the fly by the CPU kernels (for the CPU, not the GPU).

In both quantized variants only weights stay quantized: the converter also
quantizes other large constants, among them the anchor table, which moved boxes
by pixels (fp16) or tens of pixels (int8);
:func:`restore_float32_constants` stores it exactly again (int16 with a
power-of-two scale).

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

import numpy as np

from keras_textnet.export import outputs as output_helpers
from keras_textnet.export.exported_text_net import ExportedTextNet
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


# Inputs that hold weights: a quantized model keeps these quantized (the point of it).
_WEIGHT_INPUTS = {"CONV_2D": (1, 2), "DEPTHWISE_CONV_2D": (1, 2), "FULLY_CONNECTED": (1, 2),
                  "TRANSPOSE_CONV": (1, 3), "BATCH_MATMUL": (0, 1), "EMBEDDING_LOOKUP": (1,)}


# Ops that only move a quantized constant's values (the converter may gather int8 values
# and dequantize after): the constant and the op's output can be float32 instead.
_MOVERS = ("GATHER", "RESHAPE", "TRANSPOSE", "STRIDED_SLICE", "SLICE")


def _exact_int16(values: np.ndarray):
    """``(int16 values, scale)`` with ``values == int16 * scale`` exactly, or ``None``.

    The scale is a power of two (``2 ** -k``, ``k <= 8``); anchor coordinates are
    multiples of 1/8 px, so the anchor table fits in half the bytes, losslessly.
    """
    for k in range(9):
        scaled = values.astype(np.float64) * 2.0 ** k
        if np.all(np.abs(scaled) <= 32767) and np.array_equal(scaled, np.round(scaled)):
            return scaled.astype(np.int16), 2.0 ** -k
    return None


def restore_float32_constants(quantized: bytes, float32: bytes) -> bytes:
    """The quantized model with its non-weight constants back in float32.

    The converter's fp16 and dynamic-range passes quantize every large float
    constant, not only weights: the anchor table (``(A, 4)`` pixel coordinates,
    up to ~1,800 px at 1024x768) became float16 (0.5-1 px steps) or int8 (a
    ~14 px step), which moved boxes by pixels (fp16) or tens of pixels (int8).
    Two patterns are undone, taking the float32 values of the same constant from
    ``float32`` (the fp32 conversion of the same graph):

    * ``const -> DEQUANTIZE -> x`` where ``x`` is not a weight input
      (:data:`_WEIGHT_INPUTS`);
    * ``const -> GATHER (or another op of _MOVERS) -> DEQUANTIZE``.

    Where the values are exactly ``int16 * 2**-k`` (the anchors are), the constant
    becomes int16 with that scale and the DEQUANTIZE stays: exact, at half the
    size of float32. Otherwise the constant (and the mover's output) become
    float32 and the DEQUANTIZE goes.
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(quantized, 0)
    reference = schema.ModelT.InitFromPackedBuf(float32, 0)
    graph, ref_graph = model.subgraphs[0], reference.subgraphs[0]
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    codes = [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "?")
             for c in model.operatorCodes]
    quantized_types = (schema.TensorType.FLOAT16, schema.TensorType.INT8)

    def data(m, tensor):
        buffer = m.buffers[tensor.buffer]
        return buffer.data if buffer.data is not None and len(buffer.data) else None

    originals = {t.name: t for t in ref_graph.tensors
                 if t.type == schema.TensorType.FLOAT32 and data(reference, t) is not None}
    consumers = {}
    for index, op in enumerate(graph.operators):
        for position, t in enumerate(op.inputs):
            consumers.setdefault(t, []).append((index, position))

    def op_name(index):
        return codes[graph.operators[index].opcodeIndex]

    def original_of(tensor):
        original = originals.get(tensor.name)
        if original is None or list(original.shape) != list(tensor.shape):
            return None
        return reference.buffers[original.buffer].data

    def new_buffer(values):
        buffer = schema.BufferT()
        buffer.data = values
        model.buffers.append(buffer)
        return len(model.buffers) - 1

    def release(tensor):
        """Drops the data of ``tensor``'s buffer when no other tensor shares it."""
        if sum(t.buffer == tensor.buffer for t in graph.tensors) == 1:
            model.buffers[tensor.buffer].data = None

    def as_int16(tensor, values) -> bool:
        """Re-encodes ``tensor`` as exact int16 (see :func:`_exact_int16`) if it can."""
        encoded = _exact_int16(np.frombuffer(bytes(np.asarray(values, np.uint8)), np.float32))
        if encoded is None:
            return False
        ints, scale = encoded
        release(tensor)
        tensor.buffer = new_buffer(np.frombuffer(ints.tobytes(), np.uint8))
        tensor.type = schema.TensorType.INT16
        tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale = [scale]
        tensor.quantization.zeroPoint = [0]
        return True

    removed, renamed, changed = set(), {}, False
    for index, op in enumerate(graph.operators):
        if op_name(index) != "DEQUANTIZE":
            continue
        source_index = op.inputs[0]
        source = graph.tensors[source_index]
        if source.type not in quantized_types:
            continue
        if data(model, source) is not None:  # const -> DEQUANTIZE
            uses = consumers.get(op.outputs[0], [])
            if uses and all(position in _WEIGHT_INPUTS.get(op_name(i), ())
                            for i, position in uses):
                continue  # a weight: quantized on purpose
            values = original_of(source)
            if values is None:
                continue
            changed = True
            if len(consumers.get(source_index, [])) == 1 and as_int16(source, values):
                continue
            graph.tensors[op.outputs[0]].buffer = new_buffer(values)
            if len(consumers.get(source_index, [])) == 1:
                release(source)
            removed.add(index)
            continue
        producers = [i for i, o in enumerate(graph.operators) if source_index in o.outputs]
        if len(producers) != 1 or op_name(producers[0]) not in _MOVERS or \
                len(consumers.get(source_index, [])) != 1:
            continue
        mover = graph.operators[producers[0]]
        constant = graph.tensors[mover.inputs[0]]
        if constant.type not in quantized_types or data(model, constant) is None or \
                len(consumers.get(mover.inputs[0], [])) != 1:
            continue
        values = original_of(constant)
        if values is None:
            continue
        changed = True
        if as_int16(constant, values):
            source.type = schema.TensorType.INT16
            source.quantization = constant.quantization
            continue
        release(constant)
        constant.buffer = new_buffer(values)
        for tensor in (constant, source):  # const -> GATHER -> float32
            tensor.type = schema.TensorType.FLOAT32
            tensor.quantization = None
        renamed[op.outputs[0]] = source_index
        removed.add(index)
    if not changed:
        return quantized
    graph.operators = [op for i, op in enumerate(graph.operators) if i not in removed]
    for op in graph.operators:
        op.inputs = [renamed.get(t, t) for t in op.inputs]
    graph.outputs = [renamed.get(t, t) for t in graph.outputs]
    for signature in model.signatureDefs or []:
        for output in signature.outputs:
            output.tensorIndex = renamed.get(output.tensorIndex, output.tensorIndex)
    return _pack(model)


def _pack(model) -> bytes:
    """Serializes a ``ModelT``, every buffer 16-byte aligned as the TFLite schema asks."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    class AlignedBuffer(schema.BufferT):
        def Pack(self, builder):
            vector = None
            if self.data is not None:
                payload = bytes(np.asarray(self.data, np.uint8).tobytes())
                builder.StartVector(1, len(payload), 16)
                builder.head -= len(payload)
                builder.Bytes[builder.head:builder.head + len(payload)] = payload
                vector = builder.EndVector(len(payload))
            schema.BufferStart(builder)
            if vector is not None:
                schema.BufferAddData(builder, vector)
            schema.BufferAddOffset(builder, self.offset)
            schema.BufferAddSize(builder, self.size)
            return schema.BufferEnd(builder)

    for buffer in model.buffers:
        buffer.__class__ = AlignedBuffer
    builder = flatbuffers.Builder(1024 * 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


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
        float32 = convert_saved_model(saved, "fp32")  # also the reference of the others
        for variant in variants:
            path = out_dir / f"{name}_{variant}.tflite"
            flatbuffer = float32 if variant == "fp32" else restore_float32_constants(
                convert_saved_model(saved, variant), float32)
            path.write_bytes(flatbuffer)
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


class TFLiteTextNet(ExportedTextNet):
    """Reads pages with an exported ``.tflite`` model in the LiteRT interpreter.

    Args:
        path, info: the ``.tflite`` file and its model info, as
            :class:`~keras_textnet.export.exported_text_net.ExportedTextNet`.
        num_threads: CPU threads of the interpreter (``None``: LiteRT's default).

    ``run(batch)`` gives the raw output tensors of a ``(1, H, W, 3)`` uint8 input;
    ``predict_image(image)`` the prediction-JSON page of any image.
    """

    format_name = "TFLite"

    def __init__(self, path, info=None, num_threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        super().__init__(path, info)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=num_threads)
        self._runner = self.interpreter.get_signature_runner("serving_default")
        shape = self._runner.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[1]), int(shape[2]))

    def run(self, batch):
        """Output tensors (name -> array) of one ``(1, H, W, 3)`` uint8 input."""
        return self._runner(images=batch)


__all__ = [
    "DEFAULT_INPUT_SIZE",
    "VARIANTS",
    "TFLiteTextNet",
    "convert_saved_model",
    "export_tflite",
    "non_builtin_ops",
    "op_names",
]
