"""Writes the domain texts of the encoder's splits as JSONL for the C# lexical trainer (training/lexical/train.sh
domain trains the shipped lexical-domain model on them) and for the host's evaluate verb (blend weight and domain
thresholds, chosen on the validation files).

Usage: /usr/bin/python3 training/lexical/export_domain.py  -> training/out/lexical-domain/*.jsonl (git-ignored)
fit.jsonl: the domain-labelled texts the encoder's fine-tune trains on (prepare_data.build_examples: MMLU-Pro fit
questions in one chat rendering each, arena-hard fit prompts, MT-Bench, the project's own prompts), each once;
val-*.jsonl: the validation slices (val-arena-other.jsonl: the arena-hard validation prompts outside coding/math,
labelled "none": a math or code signal firing on them is a wrong route); test-*.jsonl: the held-out sets of the encoder's model card (MMLU-Pro test
questions, arena-hard coding/math test half). Same splits as the encoder, so held-out numbers compare directly.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from common import ARENA_DOMAIN, DOMAINS, OUT, arena_splits, fit_val_splits, mmlu_splits  # noqa: E402
from prepare_data import build_examples, validation_sets  # noqa: E402


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for text, label in rows:
            f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")
    print(os.path.basename(path), len(rows))


def main():
    out = os.path.join(OUT, "lexical-domain")
    os.makedirs(out, exist_ok=True)
    ex = build_examples()[0]
    # once per text and one rendering per question: the trainer's own holdout must not see a copy of a training row
    seen_texts, seen_groups, fit = set(), set(), []
    for text, domain, _, group in ex:
        if domain is None or text in seen_texts or (group >= 0 and group in seen_groups):
            continue
        seen_texts.add(text)
        seen_groups.add(group)
        fit.append((text, domain))
    write(os.path.join(out, "fit.jsonl"), fit)
    val = validation_sets()
    for name, key in (("val-mmlu", "mmlu_domain"), ("val-arena", "arena_coding_math")):
        texts, labels = val[key]
        write(os.path.join(out, name + ".jsonl"), [(t, DOMAINS[y]) for t, y in zip(texts, labels)])
    write(os.path.join(out, "val-arena-other.jsonl"), [(r["prompt"], "none") for r in fit_val_splits()["arena"][1]
                                                       if r["subcategory"] not in ("coding", "math")])
    write(os.path.join(out, "test-mmlu.jsonl"), [(r["question"], r["category"]) for r in mmlu_splits()[1]])
    write(os.path.join(out, "test-arena.jsonl"), [(r["prompt"], ARENA_DOMAIN[r["subcategory"]])
                                                  for r in arena_splits()[1] if r["subcategory"] in ("coding", "math")])


if __name__ == "__main__":
    main()
