#!/usr/bin/python3
"""int8 weight quantisation of an ONNX encoder without onnxruntime's Python tools.

Replaces every MatMul (and Gemm with alpha=beta=1, transA=0) whose weight is an initializer -- looked up through
Identity nodes, which torch emits for shared weights -- by ONNX Runtime's contrib op com.microsoft
DynamicQuantizeMatMul: activations are quantised per call by the runtime, weights are stored as int8 with symmetric
per-column scales and a zero point of 0. See shared/reference/cpu-inference.md for the measured speed-up.

Usage: /usr/bin/python3 training/quantize.py model.onnx model.int8.onnx
Run with Debian's python3 (python3-onnx, numpy); the pyenv python on PATH lacks onnx.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper


def per_column_int8(w: np.ndarray):
    """Symmetric per-column int8: w[:, j] ~= q[:, j] * scale[j]."""
    w = w.astype(np.float32)
    max_abs = np.max(np.abs(w), axis=0)
    scale = np.where(max_abs > 0, max_abs / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
    return q, scale


def quantize_model(src: str, dst: str, min_elements: int = 256) -> int:
    """Writes the quantised graph to dst; returns how many MatMul/Gemm nodes were replaced."""
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    identity_src = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}

    def resolve(name):
        seen = 0
        while name not in inits and name in identity_src and seen < 16:
            name = identity_src[name]
            seen += 1
        return inits.get(name)

    new_nodes = []
    new_inits = []
    replaced = 0
    for node in graph.node:
        weight = None
        bias_name = ""
        if node.op_type == "MatMul":
            weight_init = resolve(node.input[1])
            if weight_init is not None:
                w = numpy_helper.to_array(weight_init)
                if w.ndim == 2:
                    weight = w
        elif node.op_type == "Gemm":
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("alpha", 1.0) == 1.0 and attrs.get("beta", 1.0) == 1.0 and attrs.get("transA", 0) == 0:
                weight_init = resolve(node.input[1])
                if weight_init is not None:
                    w = numpy_helper.to_array(weight_init)
                    if w.ndim == 2:
                        weight = w.T if attrs.get("transB", 0) == 1 else w
                        if len(node.input) > 2 and node.input[2]:
                            bias_init = resolve(node.input[2])
                            if bias_init is None or numpy_helper.to_array(bias_init).ndim != 1:
                                weight = None  # broadcast bias forms the contrib op cannot take
                            else:
                                bias_name = bias_init.name
        if weight is None or weight.size < min_elements:
            new_nodes.append(node)
            continue

        q, scale = per_column_int8(weight)
        base = (node.name or node.output[0]).replace("/", "_").replace(".", "_").strip("_") + "_q"
        q_name, s_name, z_name = base + "_w", base + "_scale", base + "_zp"
        new_inits.append(numpy_helper.from_array(q, q_name))
        new_inits.append(numpy_helper.from_array(scale, s_name))
        new_inits.append(numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), z_name))
        inputs = [node.input[0], q_name, s_name, z_name]
        if bias_name:
            inputs.append(bias_name)
        new_nodes.append(helper.make_node("DynamicQuantizeMatMul", inputs, list(node.output),
                                          name=base, domain="com.microsoft"))
        replaced += 1

    del graph.node[:]
    graph.node.extend(new_nodes)
    graph.initializer.extend(new_inits)

    # Drop float weights nothing reads any more (they are most of the file).
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)

    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, dst)
    return replaced


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    n = quantize_model(sys.argv[1], sys.argv[2])
    print(f"replaced {n} MatMul/Gemm nodes -> {sys.argv[2]}")
