"""How much of a TFLite model a mobile GPU delegate can take: our own analysis.

The GPU-compatibility analyzer shipped in this TF wheel reports every model as
compatible (docs/export.md), so it proves nothing. This module reads the flatbuffer
itself and, for every node:

1. classifies it with the rules of the upstream GPU delegate
   (``tensorflow/lite/tools/versioning/gpu_compatibility.cc``, the checks its
   ``model_builder.cc`` runs, and the tensor-type filter of ``GetOpsToReplace``):
   the op must be one the delegate parses, pass that op's checks that we
   reproduce (constant axes, ranks, broadcast shapes, softmax beta, ...), and
   every runtime (non-constant) tensor must be float32/float16, static, of
   rank <= 4. Int32 runtime tensors are accepted only where the delegate names
   them (CAST, ONE_HOT indices); bool tensors never (``allow_bool_tensors`` is
   off by default). Hybrid ops (int8 weights, float activations, as in
   dynamic-range models) are not supported. float16 weights behind a
   DEQUANTIZE are folded into their consumer, as ``FP16GraphPartitionHelper``
   does;
2. counts its FLOPs (a multiply-add is 2): convolutions, fully connected and
   batched matmuls by their MACs, element-wise ops one per output element,
   reductions one per input element, pooling one per window element, NMS ten
   per box pair; pure data movement (reshape, gather, slice, concat, cast ...)
   counts 0. Dynamic shapes take their sizes from one run of the model;
3. partitions the graph as TFLite does (``PartitionGraphIntoIndependentNodeSubsets``):
   alternating maximal sets of supported and unsupported nodes whose inputs are
   ready. The delegate takes the largest supported partitions (by node count),
   one by default (``max_delegated_partitions``).

>>> report = gpu_delegate_report("textnet_fp32.tflite")   # doctest: +SKIP
>>> print(report.to_markdown())                           # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np

_FLOAT = {"FLOAT32", "FLOAT16"}
_QUANT = {"INT8", "UINT8"}

# Ops the upstream delegate parses (gpu_compatibility.cc's CheckGpuDelegateCompatibility).
_UNARY = {"ABS", "COS", "ELU", "EXP", "FLOOR", "GELU", "LOG", "LOGISTIC", "NEG", "RSQRT",
          "SIGN", "SIN", "SQRT", "SQUARE", "TANH", "HARD_SWISH", "RELU", "RELU6", "LEAKY_RELU",
          "RELU_N1_TO_1", "PRELU"}
_BINARY = {"ADD", "DIV", "EQUAL", "FLOOR_DIV", "FLOOR_MOD", "GREATER", "GREATER_EQUAL",
           "LOGICAL_AND", "LESS", "LESS_EQUAL", "MAXIMUM", "MINIMUM", "NOT_EQUAL", "POW",
           "SQUARED_DIFFERENCE", "SUB", "MUL"}
_REDUCE = {"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"}
_SUPPORTED = _UNARY | _BINARY | _REDUCE | {
    "ADD_N", "AVERAGE_POOL_2D", "BATCH_MATMUL", "CAST", "CONCATENATION", "CONV_2D", "CUMSUM",
    "DENSIFY", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "FULLY_CONNECTED", "GATHER",
    "LSTM", "MAX_POOL_2D", "ONE_HOT", "PACK", "PAD", "PADV2", "MIRROR_PAD", "QUANTIZE",
    "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SELECT", "SELECT_V2", "SLICE",
    "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "STRIDED_SLICE", "TILE", "TRANSPOSE",
    "TRANSPOSE_CONV"}
_COMPARE = {"EQUAL", "NOT_EQUAL", "GREATER", "GREATER_EQUAL", "LESS", "LESS_EQUAL"}
_WEIGHTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV"}
_MOVEMENT = {"RESHAPE", "GATHER", "GATHER_ND", "STRIDED_SLICE", "SLICE", "CONCATENATION",
             "PACK", "UNPACK", "TRANSPOSE", "CAST", "SHAPE", "BROADCAST_TO", "TILE", "SPLIT",
             "SPLIT_V", "PAD", "PADV2", "SELECT", "SELECT_V2", "WHERE", "ZEROS_LIKE",
             "DEQUANTIZE", "QUANTIZE", "EXPAND_DIMS", "SQUEEZE", "FILL", "RANGE",
             "SCATTER_ND", "TOPK_V2"}


@dataclasses.dataclass
class Node:
    """One node of the model: its op, where it may run, and its FLOPs."""

    index: int
    op: str
    supported: bool
    reason: str
    flops: int
    inputs: list = dataclasses.field(default_factory=list)
    outputs: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class GpuDelegateReport:
    """Per-node GPU-delegate classification, FLOPs and partitions of one TFLite model."""

    path: str
    nodes: list
    partitions: list  # (supported: bool, [node indices]) in execution order

    @property
    def total_flops(self) -> int:
        return sum(n.flops for n in self.nodes)

    @property
    def supported_flops(self) -> int:
        return sum(n.flops for n in self.nodes if n.supported)

    @property
    def supported_flop_share(self) -> float:
        """Share of the model's FLOPs in nodes the GPU delegate supports."""
        return self.supported_flops / max(self.total_flops, 1)

    def gpu_partitions(self) -> list:
        """Supported partitions, largest (by node count, as the delegate ranks them) first."""
        parts = [nodes for supported, nodes in self.partitions if supported]
        return sorted(parts, key=len, reverse=True)

    def partition_flop_share(self, max_partitions: int = 1) -> float:
        """FLOP share the delegate runs when it takes ``max_partitions`` partitions."""
        flops = {n.index: n.flops for n in self.nodes}
        taken = self.gpu_partitions()[:max_partitions]
        return sum(flops[i] for part in taken for i in part) / max(self.total_flops, 1)

    def first_block(self) -> list:
        """The first supported partition holding a convolution: the conv bulk."""
        ops = {n.index: n.op for n in self.nodes}
        for supported, nodes in self.partitions:
            if supported and any(ops[i] == "CONV_2D" for i in nodes):
                return nodes
        return []

    def op_table(self) -> list:
        """``(op, count, supported count, flops, reasons)`` per op, by FLOPs."""
        rows = {}
        for n in self.nodes:
            row = rows.setdefault(n.op, [0, 0, 0, Counter()])
            row[0] += 1
            row[1] += n.supported
            row[2] += n.flops
            if not n.supported:
                row[3][n.reason] += 1
        return sorted(((op, c, s, f, r) for op, (c, s, f, r) in rows.items()),
                      key=lambda r: (-r[3], r[0]))

    def to_dict(self) -> dict:
        block = self.first_block()
        flops = {n.index: n.flops for n in self.nodes}
        return {
            "path": self.path,
            "nodes": len(self.nodes),
            "total_gflops": self.total_flops / 1e9,
            "supported_flop_share": self.supported_flop_share,
            "largest_partition_flop_share": self.partition_flop_share(1),
            "all_partitions_flop_share": self.partition_flop_share(len(self.partitions)),
            "gpu_partitions": len(self.gpu_partitions()),
            "first_block": {"nodes": len(block), "first": block[0] if block else None,
                            "last": block[-1] if block else None,
                            "flop_share": sum(flops[i] for i in block) / max(self.total_flops,
                                                                            1)},
            "ops": [{"op": op, "count": c, "supported": s, "gflops": f / 1e9,
                     "unsupported_because": dict(r)} for op, c, s, f, r in self.op_table()],
        }

    def to_markdown(self, title: str | None = None) -> str:
        d = self.to_dict()
        total = max(self.total_flops, 1)
        block = d["first_block"]
        share = f"{100 * d['supported_flop_share']:.1f}%"
        first = (f"nodes {block['first']}..{block['last']}, {block['nodes']} nodes, the "
                 f"backbone/FPN/RPN convolutions")
        default = (f"max_delegated_partitions=1, the largest by node count) runs "
                   f"{100 * d['largest_partition_flop_share']:.1f}% of the FLOPs on the GPU, "
                   f"all of them {100 * d['all_partitions_flop_share']:.1f}%")
        lines = [f"## {title or Path(self.path).name}", "",
                 f"- nodes: {d['nodes']}, total {d['total_gflops']:.3f} GFLOPs",
                 f"- **FLOPs in ops the GPU delegate supports: {share}**",
                 f"- first delegable block ({first}): {100 * block['flop_share']:.1f}% of the "
                 + "FLOPs",
                 f"- supported partitions: {d['gpu_partitions']}; the delegate's default ("
                 + default,
                 "", "| op | nodes | on GPU | GFLOPs | share | why not |",
                 "| --- | ---: | ---: | ---: | ---: | --- |"]
        for op, count, supported, flops, reasons in self.op_table():
            why = "; ".join(f"{r} (x{c})" if c > 1 else r for r, c in reasons.most_common(2))
            lines.append(f"| {op} | {count} | {supported} | {flops / 1e9:.4f} | "
                         f"{100 * flops / total:.2f}% | {why} |")
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
def _tensor_types():
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}


def _runtime_shapes(path, sample):
    """Tensor index -> shape after one run (dynamic tensors get their real sizes)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    detail = interpreter.get_input_details()[0]
    if sample is None:
        rng = np.random.default_rng(0)
        sample = rng.integers(0, 256, detail["shape"], dtype=np.uint8)
    interpreter.set_tensor(detail["index"], np.asarray(sample, detail["dtype"]))
    interpreter.invoke()
    return {t["index"]: tuple(int(v) for v in t["shape"])
            for t in interpreter.get_tensor_details()}


def gpu_delegate_report(path, sample=None) -> GpuDelegateReport:
    """The report of the ``.tflite`` model at ``path``.

    Args:
        path: a ``.tflite`` file.
        sample: an input for the run that sizes dynamic tensors (default:
            uniform noise of the input's shape; FLOPs of the dynamic parts,
            e.g. the pooled cells of detected lines, depend on it a little).
    """
    from ai_edge_litert import schema_py_generated as schema

    path = Path(path)
    model = schema.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    graph = model.subgraphs[0]
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = _tensor_types()
    runtime = _runtime_shapes(path, sample)

    def is_const(t):
        buffer = model.buffers[graph.tensors[t].buffer]
        return buffer.data is not None and len(buffer.data) > 0

    const = {t for t in range(len(graph.tensors)) if is_const(t)}

    def dtype(t):
        return type_names[graph.tensors[t].type]

    def shape(t):
        tensor = graph.tensors[t]
        static = tuple(int(v) for v in (tensor.shape if tensor.shape is not None else ()))
        return runtime.get(t, static)

    def dynamic(t):
        sig = graph.tensors[t].shapeSignature
        return sig is not None and any(int(v) < 0 for v in sig)

    nodes = []
    for index, op in enumerate(graph.operators):
        code = model.operatorCodes[op.opcodeIndex]
        name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
        if name == "CUSTOM":
            name = f"CUSTOM:{(code.customCode or b'').decode()}"
        inputs = [t for t in op.inputs if t >= 0]
        outputs = list(op.outputs)
        # fp16 weights: DEQUANTIZE of a constant is folded into its consumer.
        if name == "DEQUANTIZE" and inputs and inputs[0] in const and \
                dtype(inputs[0]) == "FLOAT16":
            const.update(outputs)
            continue
        reason = _unsupported_reason(name, op, inputs, outputs, const, dtype, shape, dynamic)
        flops = _flops(name, op, inputs, outputs, shape)
        nodes.append(Node(index, name, reason is None, reason or "", int(flops), inputs,
                          outputs))
    return GpuDelegateReport(str(path), nodes, _partition(nodes, const, graph.inputs))


# ---------------------------------------------------------------------------
def _unsupported_reason(name, op, inputs, outputs, const, dtype, shape, dynamic):
    """``None`` when the GPU delegate takes the node, else why not."""
    if name not in _SUPPORTED:
        return "op not supported"
    runtime_in = [t for t in inputs if t not in const]
    options = op.builtinOptions
    for t in runtime_in + outputs:
        if dynamic(t):
            return "dynamic shape"
        if len(shape(t)) > 4:
            return "rank > 4"
    allowed_in = _FLOAT | _QUANT
    allowed_out = _FLOAT | _QUANT
    if name == "CAST":
        src, dst = dtype(runtime_in[0]) if runtime_in else "?", dtype(outputs[0])
        ok = (src in {"FLOAT32", "INT32"} and dst in {"FLOAT32", "INT32"})
        if not ok:
            return f"CAST {src}->{dst}"
        allowed_in = allowed_out = {"FLOAT32", "INT32"}
    if name == "ONE_HOT":
        allowed_in = allowed_in | {"INT32"}
    for t in runtime_in:
        if dtype(t) not in allowed_in:
            return f"{dtype(t).lower()} input"
    for t in outputs:
        if dtype(t) not in allowed_out:
            return f"{dtype(t).lower()} output"
    if name in _WEIGHTED or name == "BATCH_MATMUL":
        weights = [t for t in inputs[1:2] if t in const]
        if weights and dtype(weights[0]) in _QUANT and dtype(inputs[0]) in _FLOAT:
            return "hybrid int8 weights"
    if name in _UNARY and len(runtime_in) != 1:
        return "needs one runtime input"
    if name in _BINARY:
        if len(inputs) != 2 or not 1 <= len(runtime_in) <= 2:
            return "needs two operands"
        if name == "MUL" and len(shape(inputs[0])) == len(shape(inputs[1])):
            a, b = shape(inputs[0]), shape(inputs[1])
            if any(x < y for x, y in zip(a, b)) and any(y < x for x, y in zip(a, b)):
                return "MUL broadcasting both ways"
    if name in _REDUCE and (len(inputs) < 2 or inputs[1] not in const):
        return "axes not constant"
    if name in ("STRIDED_SLICE", "SLICE"):
        if len(shape(inputs[0])) not in (3, 4):
            return "rank not 3 or 4"
        if name == "STRIDED_SLICE" and options is not None and (
                options.ellipsisMask or options.newAxisMask or options.shrinkAxisMask):
            return "ellipsis/new-axis/shrink mask"
    if name == "SOFTMAX" and options is not None and options.beta != 1.0:
        return "beta != 1"
    if name in ("PAD", "PADV2", "MIRROR_PAD") and len(shape(inputs[1])) == 2 and \
            shape(inputs[1])[0] not in (3, 4):
        return "padding rank not 3 or 4"
    if name in ("RESHAPE", "TILE", "TRANSPOSE") and len(runtime_in) != 1:
        return "needs one runtime input"
    if name == "FULLY_CONNECTED" and inputs[0] in const:
        return "constant input"
    return None


def _numel(s) -> int:
    return int(np.prod(s, dtype=np.int64)) if len(s) else 1


def _flops(name, op, inputs, outputs, shape) -> int:
    out = _numel(shape(outputs[0])) if outputs else 0
    if name == "CONV_2D":
        _, kh, kw, cin = shape(inputs[1])
        return 2 * out * kh * kw * cin
    if name == "DEPTHWISE_CONV_2D":
        _, kh, kw, _ = shape(inputs[1])
        return 2 * out * kh * kw
    if name == "TRANSPOSE_CONV":
        _, kh, kw, cin = shape(inputs[1])
        return 2 * _numel(shape(inputs[2])) * kh * kw * shape(inputs[1])[0]
    if name == "FULLY_CONNECTED":
        return 2 * out * shape(inputs[1])[-1]
    if name == "BATCH_MATMUL":
        a = shape(inputs[0])
        adj_x = bool(op.builtinOptions.adjX) if op.builtinOptions is not None else False
        return 2 * out * (a[-2] if adj_x else a[-1])
    if name in _REDUCE or name in ("ARG_MAX", "ARG_MIN", "CUMSUM", "REDUCE_ANY"):
        return _numel(shape(inputs[0]))
    if name == "SOFTMAX":
        return 3 * out
    if name in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        o = op.builtinOptions
        return out * o.filterHeight * o.filterWidth
    if name.startswith("NON_MAX_SUPPRESSION"):
        boxes = shape(inputs[0])[0]
        return 10 * boxes * max(out, 1)
    if name in _MOVEMENT or name.startswith("CUSTOM"):
        return 0
    return out


def _partition(nodes, const, graph_inputs):
    """TFLite's partitioning into alternating supported / unsupported node subsets."""
    ready = set(const) | {int(t) for t in graph_inputs}
    produced = {t for n in nodes for t in n.outputs}
    ready |= {t for n in nodes for t in n.inputs if t not in produced}
    pending = list(nodes)
    partitions = []
    kind = pending[0].supported if pending else True
    while pending:
        subset, progress = [], True
        while progress:
            progress = False
            rest = []
            for n in pending:
                if n.supported == kind and all(t in ready for t in n.inputs):
                    subset.append(n.index)
                    ready.update(n.outputs)
                    progress = True
                else:
                    rest.append(n)
            pending = rest
        if subset:
            partitions.append((kind, subset))
        kind = not kind
    return partitions


__all__ = ["GpuDelegateReport", "Node", "gpu_delegate_report"]
