"""Step 2b: masked-language-model pre-training of the encoder on every training-side text, before the fine-tune.

Usage (repo root):
  /usr/bin/python3 training/pretrain.py --build-corpus              # CPU, ~2 min: training/out/pretrain_windows.npz
  python3 training/pretrain.py --device cuda --budget-min 3         # the training itself (GPU; CPU works, slowly)
Corpus: the MMLU-Pro explanations of FIT-side training questions only (neither the validation slice's nor the test
split's: an explanation paraphrases its question), every text the fine-tune trains on (prepare_data.build_examples,
deduplicated, without prepare_data.added_prompts) and the fit-side PII
sentences; cut into windows of at most 126 word pieces.
The batch lives on the device: windows are sampled, padded and masked there (BERT's 15% of pieces; 80% [MASK], 10% a
random piece, 10% unchanged), so the GPU is not left waiting on Python. The MLM head (dense + GELU + LayerNorm,
decoder tied to the word embeddings) exists only here; train.py --init starts from the encoder weights.
Writes training/out/pretrained.npz (common.save_checkpoint) every 500 steps and at the end.
"""
import argparse
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import MAX_LEN, MODEL_DIR, OUT, SEED, build_model, load_vocab, save_checkpoint, tokenizer

WINDOW = MAX_LEN - 2
CORPUS = os.path.join(OUT, "pretrain_windows.npz")


def build_corpus():
    from common import read_jsonl
    from prepare_data import added_prompts, build_examples
    tok = tokenizer()
    ex, pii_train, mm_fit = build_examples()
    fit_ids = {r["question_id"] for r in mm_fit}
    added = {t for t, _ in added_prompts()}  # came after the shipped pre-train
    texts = list(dict.fromkeys([e[0] for e in ex if e[0] not in added] + [r["text"] for r in pii_train]))
    n_train_texts = len(texts)
    texts += [r["text"] for r in read_jsonl("mmlu-pro", "explanations-train.jsonl.gz") if r["question_id"] in fit_ids]
    windows = []
    for text in texts:
        ids = tok.tokenize(text)[0]
        for s in range(0, max(1, len(ids)), WINDOW):
            w = ids[s:s + WINDOW]
            if len(w) >= 8:
                windows.append(w)
    arr = np.zeros((len(windows), WINDOW), dtype=np.uint16)
    lens = np.zeros(len(windows), dtype=np.int16)
    for i, w in enumerate(windows):
        arr[i, :len(w)] = w
        lens[i] = len(w)
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(CORPUS, ids=arr, lens=lens)
    print(f"corpus: {n_train_texts} training texts + {len(texts) - n_train_texts} explanations -> "
          f"{len(windows)} windows, {int(lens.sum())} pieces -> {CORPUS}")


class MlmHead(nn.Module):
    def __init__(self, model, cfg, vocab):
        super().__init__()
        self.model = model
        self.dense = nn.Linear(cfg["hidden"], cfg["emb"])
        self.ln = nn.LayerNorm(cfg["emb"])
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, hidden):
        # decoder tied to the input word embeddings (emb-dim space, before any projection to hidden)
        return self.ln(F.gelu(self.dense(hidden))) @ self.model.word.weight.t() + self.bias


def masked_batch(windows, lens, batch, specials, vocab, ids_cls, ids_sep, ids_mask, gen):
    """Samples `batch` windows and builds [CLS] w [SEP] sequences with BERT masking, all on the windows' device."""
    dev = windows.device
    pick = torch.randint(len(windows), (batch,), device=dev, generator=gen)
    w, n = windows[pick], lens[pick]
    t = int(n.max()) + 2
    pos = torch.arange(t, device=dev).unsqueeze(0)
    seq = torch.zeros((batch, t), dtype=torch.long, device=dev)
    seq[:, 1:t - 1] = w[:, :t - 2]
    seq[:, 0] = ids_cls
    seq.scatter_(1, (n + 1).unsqueeze(1), ids_sep)
    attention = (pos < (n + 2).unsqueeze(1)).long()
    inside = (pos >= 1) & (pos <= n.unsqueeze(1))
    r = torch.rand((batch, t), device=dev, generator=gen)
    chosen = inside & (r < 0.15)
    labels = torch.where(chosen, seq, torch.full_like(seq, -100))
    how = torch.rand((batch, t), device=dev, generator=gen)
    seq = torch.where(chosen & (how < 0.8), torch.full_like(seq, ids_mask), seq)
    rand_ids = torch.randint(specials, vocab, (batch, t), device=dev, generator=gen)
    seq = torch.where(chosen & (how >= 0.8) & (how < 0.9), rand_ids, seq)
    return seq, attention, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-corpus", action="store_true", help="tokenise the corpus (CPU) and exit")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budget-min", type=float, default=3.0, help="wall-clock budget; the schedule follows it")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=os.path.join(OUT, "pretrained.npz"))
    args = ap.parse_args()
    if args.build_corpus:
        build_corpus()
        return
    from train import CFG  # the encoder shape train.py fine-tunes
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    dev = torch.device(args.device)
    vocab_map = load_vocab(os.path.join(MODEL_DIR, "vocab.txt"))
    vocab = len(vocab_map)
    specials = max(i for t, i in vocab_map.items() if t.startswith("[") and t.endswith("]")) + 1
    with np.load(CORPUS) as z:
        windows = torch.from_numpy(z["ids"].astype(np.int64)).to(dev)
        lens = torch.from_numpy(z["lens"].astype(np.int64)).to(dev)
    print(f"corpus {len(windows)} windows, {int(lens.sum())} pieces; device {dev}", flush=True)
    model = build_model(vocab, CFG).to(dev)
    head = MlmHead(model, CFG, vocab).to(dev)
    print("encoder params", sum(p.numel() for p in model.parameters()), flush=True)
    decay = [p for n, p in head.named_parameters() if p.dim() >= 2 and "word" not in n and "pos" not in n]
    decay_ids = {id(p) for p in decay}
    rest = [p for p in head.parameters() if id(p) not in decay_ids]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), **({"fused": True} if dev.type == "cuda" else {}))
    gen = torch.Generator(device=dev)
    gen.manual_seed(SEED)
    cuda = dev.type == "cuda"
    budget = args.budget_min * 60
    start = time.time()
    step, tokens, loss_sum, acc_sum, n_log, last = 0, 0, 0.0, 0.0, 0, {}
    meta = lambda: {"cfg": CFG, "vocab": vocab, "steps": step, "tokens": tokens, "seconds": round(time.time() - start),
                    "batch": args.batch, "lr": args.lr, "device": str(dev), **last}
    while True:
        frac = (time.time() - start) / budget
        if frac >= 1.0:
            break
        lr = args.lr * min(1.0, (step + 1) / 300) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        ids, attention, labels = masked_batch(windows, lens, args.batch, specials, vocab, vocab_map["[CLS]"],
                                              vocab_map["[SEP]"], vocab_map["[MASK]"], gen)
        model.train()
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=cuda):
            hidden = model.encode(ids, attention)
            sel = labels >= 0
            logits = head(hidden[sel]).float()
            loss = F.cross_entropy(logits, labels[sel])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:  # .item() synchronises: only when logging
            loss_sum += loss.item()
            acc_sum += (logits.argmax(-1) == labels[sel]).float().mean().item()
            tokens += int(attention.sum()) * 50
            n_log += 1
        if step % 500 == 0:
            el = time.time() - start
            print(f"step {step} {el / 60:.2f}min lr {lr:.2e} tok/s {tokens / el:.0f} "
                  f"mlm {loss_sum / n_log:.3f} acc {acc_sum / n_log:.3f}", flush=True)
            last = {"mlm_loss": round(loss_sum / n_log, 4), "mlm_accuracy": round(acc_sum / n_log, 4)}
            loss_sum, acc_sum, n_log = 0.0, 0.0, 0
            ck = meta()
            ck["state"] = model.state_dict()
            save_checkpoint(args.out, ck)
    ck = meta()
    ck["state"] = model.state_dict()
    save_checkpoint(args.out, ck)
    print(f"done steps {step} minutes {(time.time() - start) / 60:.1f} tokens ~{tokens} -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
