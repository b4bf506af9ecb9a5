"""Step 3b: temperature scaling of the safety head, fitted on the validation slices (never a test split).

Fine-tuning drives the safety softmax to 0/1 (training accuracy reaches 100%), so every attack and many benign
prompts score 0.99999+ and a threshold in a config file cannot tell them apart. Dividing the safety logits by one
temperature T (fitted by negative log-likelihood on the validation prompts) keeps the ranking -- recall and false
positives at any operating point are unchanged -- and spreads the probabilities so a threshold such as 0.9 means
something. export_onnx.py bakes 1/T into the safety head's weights, so the runtime needs nothing new.

Usage: /usr/bin/python3 training/calibrate.py  -> training/out/calibration.json
"""
import json
import os

import numpy as np
import torch

from common import OUT, pad_batch, tokenizer
from export_onnx import load_model
from prepare_data import validation_sets


def main():
    torch.set_num_threads(2)
    val = validation_sets()
    texts = [(t, 0) for name in ("benign_real", "benign_mmlu") for t in val[name][0]]
    texts += list(zip(*val["attacks"]))
    model, _ = load_model(calibrated=False)
    tok = tokenizer()
    logits = []
    with torch.no_grad():
        for s in range(0, len(texts), 64):
            ids, mask = pad_batch([tok.encode(t) for t, _ in texts[s:s + 64]], tok.pad)
            logits.append(model(ids, mask)[1].double())
    z = torch.cat(logits)
    y = torch.tensor([lab for _, lab in texts])
    nll = lambda t: float(torch.nn.functional.cross_entropy(z / t, y))
    grid = np.exp(np.linspace(np.log(0.5), np.log(50.0), 400))
    best = min(grid, key=nll)
    out = {"safety_temperature": round(float(best), 4), "nll_before": round(nll(1.0), 4),
           "nll_after": round(nll(best), 4), "n_validation": len(texts)}
    json.dump(out, open(os.path.join(OUT, "calibration.json"), "w"), indent=1)
    print(out)


if __name__ == "__main__":
    main()
