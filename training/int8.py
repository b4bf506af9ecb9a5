"""Step 5: int8 variant without onnxruntime's Python tools.

- Every MatMul/Gemm whose weight is an initializer (resolved through Identity) becomes com.microsoft
  DynamicQuantizeMatMul with symmetric per-column int8 scales (zero point 0), as shared/reference/cpu-inference.md
  describes.
- The word-embedding Gather (the bulk of the file) reads an int8 table: Gather(int8 rows) -> Cast(float) ->
  Mul(Gather(per-row scale)). Symmetric per-row scales.
Usage: /usr/bin/python3 training/int8.py [src.onnx dst.onnx]  (default models/router-encoder/model{,.int8}.onnx)
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from common import MODEL_DIR


def quantize(src, dst, min_elements=256):
    model = onnx.load(src)
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    ident = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}

    def resolve(name):
        for _ in range(16):
            if name in inits or name not in ident:
                break
            name = ident[name]
        return inits.get(name)

    nodes, new_inits, mm, gathers = [], [], 0, 0
    for node in graph.node:
        if node.op_type == "Gather":
            table = resolve(node.input[0])
            if table is not None and numpy_helper.to_array(table).ndim == 2 and numpy_helper.to_array(table).size >= 100000:
                w = numpy_helper.to_array(table).astype(np.float32)
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
                continue
        weight, bias = None, ""
        if node.op_type == "MatMul":
            init = resolve(node.input[1])
            if init is not None and numpy_helper.to_array(init).ndim == 2:
                weight = numpy_helper.to_array(init)
        elif node.op_type == "Gemm":
            a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
            init = resolve(node.input[1])
            if init is not None and a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0 and a.get("transA", 0) == 0:
                w = numpy_helper.to_array(init)
                weight = w.T if a.get("transB", 0) else w
                if len(node.input) > 2 and node.input[2]:
                    b = resolve(node.input[2])
                    if b is None or numpy_helper.to_array(b).ndim != 1:
                        weight = None
                    else:
                        bias = b.name
        if weight is None or weight.size < min_elements:
            nodes.append(node)
            continue
        w = weight.astype(np.float32)
        amax = np.abs(w).max(axis=0)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
        base = (node.name or node.output[0]).replace("/", "_").replace(".", "_").strip("_") + "_q"
        new_inits += [numpy_helper.from_array(q, base + "_w"), numpy_helper.from_array(scale, base + "_scale"),
                      numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), base + "_zp")]
        inputs = [node.input[0], base + "_w", base + "_scale", base + "_zp"] + ([bias] if bias else [])
        nodes.append(helper.make_node("DynamicQuantizeMatMul", inputs, list(node.output), name=base,
                                      domain="com.microsoft"))
        mm += 1
    del graph.node[:]
    graph.node.extend(nodes)
    graph.initializer.extend(new_inits)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.save(model, dst)
    return mm, gathers


if __name__ == "__main__":
    src = sys.argv[1] if len(sys.argv) > 2 else os.path.join(MODEL_DIR, "model.onnx")
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(MODEL_DIR, "model.int8.onnx")
    mm, g = quantize(src, dst)
    print(f"{mm} MatMul/Gemm -> DynamicQuantizeMatMul, {g} Gather -> int8 rows; {dst} {os.path.getsize(dst)} bytes")
