"""Step 2: masked-language-model pre-training of the compact encoder on every training text we have.

Usage (repo root): /usr/bin/python3 training/pretrain.py [--budget-min 35] [--threads 2]
Corpus: prepare_data.raw_training_texts(): the MMLU-Pro explanations of TRAINING questions only (the held-out
questions' explanations would leak them), the training questions themselves, and the training splits of the prompt,
safety and PII sets, unaugmented. Texts are cut into windows of at most 126 word pieces. Masking as in BERT: 15% of pieces, of which 80%
become [MASK], 10% a random piece, 10% stay. The MLM head (dense + GELU + LayerNorm, decoder tied to the word
embeddings through the factorised projection) exists only here; train.py starts from the encoder weights.
Writes training/out/pretrained.pt.
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from common import MODEL_DIR, OUT, SEED, build_model, load_vocab, tokenizer

CFG = {"emb": 128, "hidden": 256, "layers": 4, "heads": 4, "ffn": 1024, "dropout": 0.1}
WINDOW = 126
BATCH = 32


def corpus(tok):
    """Token windows (without [CLS]/[SEP]) of every pre-training text; cached in training/out/pretrain_ids.json."""
    cache = os.path.join(OUT, "pretrain_ids.json")
    if os.path.exists(cache):
        return json.load(open(cache))
    from prepare_data import raw_training_texts
    windows = []
    for text in raw_training_texts():
        ids = tok.tokenize(text)[0]
        for s in range(0, max(1, len(ids)), WINDOW):
            w = ids[s:s + WINDOW]
            if len(w) >= 8:
                windows.append(w)
    json.dump(windows, open(cache, "w"))
    return windows


class MlmHead(nn.Module):
    def __init__(self, model, cfg, vocab):
        super().__init__()
        self.model = model
        self.dense = nn.Linear(cfg["hidden"], cfg["emb"])
        self.ln = nn.LayerNorm(cfg["emb"])
        self.bias = nn.Parameter(torch.zeros(vocab))

    def forward(self, hidden):
        # decoder tied to the input word embeddings (emb-dim space, before the projection to hidden)
        return self.ln(F.gelu(self.dense(hidden))) @ self.model.word.weight.t() + self.bias


def mask_batch(windows, tok, vocab, rng):
    t = max(len(w) for w in windows) + 2
    n = len(windows)
    ids = torch.full((n, t), tok.pad, dtype=torch.long)
    mask = torch.zeros((n, t), dtype=torch.long)
    labels = torch.full((n, t), -100, dtype=torch.long)
    mask_id = tok.vocab["[MASK]"]
    for i, w in enumerate(windows):
        seq = [tok.cls] + list(w) + [tok.sep]
        lab = [-100] * len(seq)
        for j in range(1, len(seq) - 1):
            if rng.random() < 0.15:
                lab[j] = seq[j]
                r = rng.random()
                if r < 0.8:
                    seq[j] = mask_id
                elif r < 0.9:
                    seq[j] = rng.randrange(1000, vocab)  # below 1000: special and [unused] pieces
        ids[i, :len(seq)] = torch.tensor(seq)
        mask[i, :len(seq)] = 1
        labels[i, :len(seq)] = torch.tensor(lab)
    return ids, mask, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-min", type=float, default=35.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    os.makedirs(OUT, exist_ok=True)
    tok = tokenizer()
    vocab = len(load_vocab(os.path.join(MODEL_DIR, "vocab.txt")))
    t0 = time.time()
    windows = corpus(tok)
    print(f"corpus {len(windows)} windows, {sum(map(len, windows))} pieces ({time.time() - t0:.0f}s)", flush=True)
    model = build_model(vocab, CFG)
    head = MlmHead(model, CFG, vocab)
    print("encoder params", sum(p.numel() for p in model.parameters()), flush=True)
    params = list(head.parameters())  # includes the encoder
    decay = [p for n, p in head.named_parameters() if p.dim() >= 2 and "word" not in n and "pos" not in n]
    ids_decay = {id(p) for p in decay}
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": [p for p in params if id(p) not in ids_decay], "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.98))
    budget = args.budget_min * 60
    start = time.time()
    step, tokens, epoch, losses, accs = 0, 0, 0, [], []
    done = False
    while not done:
        epoch += 1
        order = list(range(len(windows)))
        rng.shuffle(order)
        # batches of similar length: sort inside chunks of 50 batches
        chunks = [sorted(order[i:i + BATCH * 50], key=lambda k: len(windows[k]))
                  for i in range(0, len(order), BATCH * 50)]
        batches = [c[i:i + BATCH] for c in chunks for i in range(0, len(c), BATCH)]
        rng.shuffle(batches)
        for b in batches:
            frac = (time.time() - start) / budget
            if frac >= 1.0:
                done = True
                break
            lr = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
            for g in opt.param_groups:
                g["lr"] = lr
            ids, mask, labels = mask_batch([windows[k] for k in b], tok, vocab, rng)
            model.train()
            hidden = model.encode(ids, mask)
            sel = labels >= 0
            logits = head(hidden[sel])
            loss = F.cross_entropy(logits, labels[sel])
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            tokens += int(mask.sum())
            losses.append(loss.item())
            accs.append((logits.argmax(-1) == labels[sel]).float().mean().item())
            if step % 25 == 0:
                el = time.time() - start
                print(f"step {step} ep {epoch} {el / 60:.1f}min lr {lr:.2e} tok/s {tokens / el:.0f} "
                      f"mlm {np.mean(losses[-25:]):.3f} acc {np.mean(accs[-25:]):.3f}", flush=True)
            if step % 200 == 0:
                save(model, CFG, vocab, step, tokens, time.time() - start, np.mean(losses[-100:]))
    save(model, CFG, vocab, step, tokens, time.time() - start, np.mean(losses[-100:]))
    print(f"done steps {step} epochs {epoch} minutes {(time.time() - start) / 60:.1f} tokens {tokens}", flush=True)


def save(model, cfg, vocab, step, tokens, seconds, loss):
    torch.save({"state": model.state_dict(), "cfg": cfg, "vocab": vocab, "steps": step, "tokens": tokens,
                "seconds": seconds, "mlm_loss": float(loss)}, os.path.join(OUT, "pretrained.pt"))


if __name__ == "__main__":
    main()
