"""Diagnostic: would blending the TF-IDF baseline with the encoder help the domain head? Validation slices only.

Usage: /usr/bin/python3 training/ensemble_check.py   (~6 min: the TF-IDF + logistic-regression fit dominates)
Fits evaluate.py's baseline on the fine-tune's training texts, then scores the encoder (training/out/model.npz), the
baseline and weighted blends of their probabilities (arithmetic and geometric) on the MMLU-Pro and arena-hard
coding/math validation slices. Prints accuracies; nothing is written and no test split is read.
"""
import numpy as np
from sklearn.linear_model import LogisticRegression

from common import ARENA_DOMAIN, DOMAINS, fit_val_splits, tokenizer
from evaluate import Tfidf, predict
from export_onnx import load_model
from prepare_data import build_examples


def main():
    ex = build_examples()[0]
    tf = Tfidf([e[0] for e in ex])
    xd = [(t, d) for t, d, s, g in ex if d is not None]
    lr = LogisticRegression(C=10, max_iter=200).fit(tf([t for t, _ in xd]), [DOMAINS.index(d) for _, d in xd])
    fv = fit_val_splits()
    mm = fv["mmlu"][1]
    ar = [r for r in fv["arena"][1] if r["subcategory"] in ("coding", "math")]
    tok, model = tokenizer(), load_model()[0]
    for name, texts, y in (
            ("mmlu_val", [r["question"] for r in mm], [DOMAINS.index(r["category"]) for r in mm]),
            ("arena_val", [r["prompt"] for r in ar], [DOMAINS.index(ARENA_DOMAIN[r["subcategory"]]) for r in ar])):
        y = np.array(y)
        pe = predict(model, tok, texts)[0]
        pt = lr.predict_proba(tf(texts))
        acc = {"encoder": (pe.argmax(1) == y).mean(), "tfidf": (pt.argmax(1) == y).mean()}
        for w in (0.3, 0.5, 0.7):  # w = the encoder's weight
            acc[f"mean w={w}"] = ((w * pe + (1 - w) * pt).argmax(1) == y).mean()
            acc[f"geometric w={w}"] = ((w * np.log(pe + 1e-9) + (1 - w) * np.log(pt + 1e-9)).argmax(1) == y).mean()
        print(name, len(y), {k: round(float(v), 3) for k, v in acc.items()}, flush=True)


if __name__ == "__main__":
    main()
