"""Latency probe for encoder shapes before training one: a random-weight model of the given shape, exported like
export_onnx.py and quantised like int8.py, so EncoderLatencyBenchmarks can time it.

Usage (repo root): /usr/bin/python3 training/shape_probe.py LAYERS HIDDEN EMB FFN OUT_DIR
  then copy OUT_DIR/model.onnx and OUT_DIR/model.int8.onnx over models/router-encoder/'s, run the benchmark
  (benchmarks/RESULTS.md) and `git checkout models/router-encoder` afterwards.
"""
import os
import sys

import torch

import common
from export_onnx import export_graph
from int8 import quantize


def main():
    layers, hidden, emb, ffn = map(int, sys.argv[1:5])
    out = sys.argv[5]
    os.makedirs(out, exist_ok=True)
    common.FAST_LINEAR = False
    torch.manual_seed(0)
    vocab = len(common.load_vocab(os.path.join(common.MODEL_DIR, "vocab.txt")))
    cfg = {"emb": emb, "hidden": hidden, "layers": layers, "heads": 4, "ffn": ffn, "dropout": 0.1}
    model = common.build_model(vocab, cfg).eval()
    ids = torch.randint(5, vocab, (2, 20))
    path = os.path.join(out, "model.onnx")
    export_graph(model, ids, torch.ones_like(ids), path)
    mm, att, g = quantize(path, os.path.join(out, "model.int8.onnx"))
    print(f"{cfg}: {path} ({os.path.getsize(path)} bytes), int8: {mm} MatMuls, {att} Attention, {g} Gather")


if __name__ == "__main__":
    main()
