"""Step 5: int8 variant without onnxruntime's Python tools.

- Every MatMul/Gemm whose weight is an initializer becomes com.microsoft DynamicQuantizeMatMul with symmetric
  per-column int8 scales: training/quantize.py does that part (shared with the test fixtures).
- Each fused com.microsoft Attention node (training/fuse_attention.py) becomes DynamicQuantizeLinear + QAttention
  with the same symmetric per-column int8 q/k/v weights and per-call uint8 activations DynamicQuantizeMatMul uses,
  so the int8 graph computes what it computed before the fusion (outputs bit-identical), ~0.15 ms faster.
- On top of it, the word-embedding Gather (the bulk of the file) reads an int8 table: Gather(int8 rows) ->
  Cast(float) -> Mul(Gather(per-row scale)). Symmetric per-row scales.
Usage: /usr/bin/python3 training/int8.py [src.onnx dst.onnx]  (default models/router-encoder/model{,.int8}.onnx)
"""
import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import MODEL_DIR
from quantize import per_column_int8, quantize_model


def quantize_embedding_rows(model, min_elements=100000):
    """Rewrites large 2-D Gather tables to int8 rows with per-row scales; returns how many."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, new_inits, gathers = [], [], 0
    for node in graph.node:
        table = inits.get(node.input[0]) if node.op_type == "Gather" else None
        w = numpy_helper.to_array(table).astype(np.float32) if table is not None else None
        if w is None or w.ndim != 2 or w.size < min_elements:
            nodes.append(node)
            continue
        amax = np.abs(w).max(axis=1, keepdims=True)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        base = table.name.replace(".", "_") + "_q"
        new_inits += [numpy_helper.from_array(q, base + "_rows"), numpy_helper.from_array(scale, base + "_scale")]
        ids = node.input[1]
        nodes += [helper.make_node("Gather", [base + "_rows", ids], [base + "_g"], axis=0, name=base + "_gather"),
                  helper.make_node("Cast", [base + "_g"], [base + "_f"], to=TensorProto.FLOAT, name=base + "_cast"),
                  helper.make_node("Gather", [base + "_scale", ids], [base + "_s"], axis=0, name=base + "_gs"),
                  helper.make_node("Mul", [base + "_f", base + "_s"], list(node.output), name=base + "_mul")]
        gathers += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return gathers


def quantize_attention(model):
    """Rewrites Attention(x, W, b, mask) to QAttention over DynamicQuantizeLinear(x); returns how many."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    nodes, rewritten = [], 0
    for node in graph.node:
        if node.op_type != "Attention" or node.domain != "com.microsoft" or node.input[1] not in inits:
            nodes.append(node)
            continue
        q, scale = per_column_int8(numpy_helper.to_array(inits[node.input[1]]))
        base = node.name.replace("/", "_").replace(".", "_").strip("_") + "_q"
        graph.initializer.extend([numpy_helper.from_array(q, base + "_w"), numpy_helper.from_array(scale, base + "_scale"),
                                  numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), base + "_zp")])
        x, x_scale, x_zero = base + "_x", base + "_x_scale", base + "_x_zp"
        nodes.append(helper.make_node("DynamicQuantizeLinear", [node.input[0]], [x, x_scale, x_zero], name=base + "_dql"))
        nodes.append(helper.make_node(
            "QAttention", [x, base + "_w", node.input[2], x_scale, base + "_scale", node.input[3], x_zero, base + "_zp"],
            list(node.output), domain="com.microsoft", name=base + "_attention",
            num_heads=helper.get_attribute_value(next(a for a in node.attribute if a.name == "num_heads"))))
        rewritten += 1
    del graph.node[:]
    graph.node.extend(nodes)
    return rewritten


def quantize(src, dst):
    with tempfile.TemporaryDirectory() as tmp:
        matmuls = quantize_model(src, os.path.join(tmp, "matmul.onnx"))
        model = onnx.load(os.path.join(tmp, "matmul.onnx"))
    attentions = quantize_attention(model)
    gathers = quantize_embedding_rows(model)  # also drops the initializers nothing reads any more
    onnx.save(model, dst)
    return matmuls, attentions, gathers


if __name__ == "__main__":
    src = sys.argv[1] if len(sys.argv) > 2 else os.path.join(MODEL_DIR, "model.onnx")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(MODEL_DIR, "model.int8.onnx")
    mm, att, g = quantize(src, dst)
    print(f"{mm} MatMul/Gemm -> DynamicQuantizeMatMul, {att} Attention -> QAttention, {g} Gather -> int8 rows; "
          f"{dst} {os.path.getsize(dst)} bytes")
