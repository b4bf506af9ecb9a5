"""Step 3: one multi-head fine-tune (domain, safety, PII tags, contrastive embedding) of a compact encoder.

Usage: ROUTER_TRAIN_BLAS=1 /usr/bin/python3 training/train.py --init training/out/pretrained.npz --lr 1e-3 \
         --budget-min 40 --threads 2 --dropout 0.15 --token-dropout 0.1 --val-every 500   [--device cuda]
--init starts from pretrain.py's MLM encoder (without it: random layers, emb_init.npy word vectors).
--teacher refines a fine-tuned checkpoint: it starts from it and distils its domain/safety logits and embedding
while the PII head learns (training/README.md, session 6; run it with --dropout 0 --token-dropout 0).
The learning-rate schedule is a function of elapsed time (warm-up, then cosine to zero at the budget), so the run
fits the wall-clock budget on a shared CPU; the number of steps done is logged and saved with the checkpoint.
Every --val-every steps the validation slices (prepare_data.py's val.json) are scored; the best step is written to
--checkpoint (training/out/model.npz: weights, config, step, validation scores, the run's settings).
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

from common import (OUT, SEED, MODEL_DIR, build_model, decode_tags, entities, load_checkpoint, load_vocab,
                    operating_threshold, pad_batch, safety_score, save_checkpoint, tokenizer)

CFG = {"emb": 128, "hidden": 128, "layers": 2, "heads": 4, "ffn": 512, "dropout": 0.1}
TRAIN_LEN = 80
BATCH = 32


def batches(rows, rng):
    groups = {}
    units = []
    for r in rows:
        if r["pair"] >= 0:
            groups.setdefault(r["pair"], []).append(r)
        else:
            units.append([r])
    units += list(groups.values())
    rng.shuffle(units)
    # sort by length inside chunks of ~40 batches: less padding, still mixed tasks
    out = []
    chunk = BATCH * 40
    flat = []
    for u in units:
        flat.append(u)
    i = 0
    while i < len(flat):
        part = sorted(flat[i:i + chunk // 2], key=lambda u: len(u[0]["ids"]))
        cur = []
        for u in part:
            cur.extend(u)
            if len(cur) >= BATCH:
                out.append(cur)
                cur = []
        if cur:
            out.append(cur)
        i += chunk // 2
    rng.shuffle(out)
    return out


def collate(batch, token_dropout=0.0, mask_id=0, rng=None):
    """Pads/truncates a batch; with token_dropout, that share of the word pieces (never [CLS]/[SEP]) becomes
    [MASK], so a head cannot lean on one memorised piece (the labels stay: context has to carry them)."""
    t = min(TRAIN_LEN, max(len(r["ids"]) for r in batch))
    n = len(batch)
    ids = torch.zeros((n, t), dtype=torch.long)
    mask = torch.zeros((n, t), dtype=torch.long)
    pii = torch.full((n, t), -100, dtype=torch.long)
    for i, r in enumerate(batch):
        s = r["ids"][:t]
        if len(r["ids"]) > t:
            s = s[:-1] + [r["ids"][-1]]  # keep [SEP]
        if token_dropout > 0:
            s = [mask_id if 0 < j < len(s) - 1 and rng.random() < token_dropout else x for j, x in enumerate(s)]
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
        if r["pii"] is not None:
            p = r["pii"][:t]
            pii[i, :len(p)] = torch.tensor(p)
            pii[i, len(s) - 1] = -100
    dom = torch.tensor([r["domain"] for r in batch])
    saf = torch.tensor([r["safety"] for r in batch])
    pair = [r["pair"] for r in batch]
    return ids, mask, dom, saf, pii, pair


def contrastive(emb, pair, temp=0.05):
    idx = {}
    for i, g in enumerate(pair):
        if g >= 0:
            idx.setdefault(g, []).append(i)
    a = [v[0] for v in idx.values() if len(v) == 2]
    b = [v[1] for v in idx.values() if len(v) == 2]
    if len(a) < 2:
        return emb.sum() * 0.0
    ea, eb = emb[a], emb[b]
    logits = ea @ eb.t() / temp
    target = torch.arange(len(a), device=emb.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def validate(model, val):
    """Scores on the validation slices (never trained on); their mean picks the checkpoint that is kept."""
    continuation = tokenizer().continuation
    model.eval()
    dev = next(model.parameters()).device
    out = {}
    with torch.no_grad():
        for name, v in val.items():
            seqs = v["ids"]
            order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
            dom, saf, pii = [None] * len(seqs), [None] * len(seqs), [None] * len(seqs)
            for s in range(0, len(order), 128):
                idx = order[s:s + 128]
                ids, mask = pad_batch([seqs[i] for i in idx])
                d, sf, p, _ = (x.cpu() for x in model(ids.to(dev), mask.to(dev)))
                for j, i in enumerate(idx):
                    dom[i] = int(d[j].argmax())
                    saf[i] = safety_score(torch.softmax(sf[j], -1).tolist())
                    pii[i] = decode_tags(torch.log_softmax(p[j, : len(seqs[i])], -1).numpy(),
                                         continuation[seqs[i]])
            out[name] = (dom, saf, pii)
    model.train()
    acc = lambda name: float(np.mean([p == y for p, y in zip(out[name][0], val[name]["labels"])]))
    th = max(operating_threshold(out["benign_real"][1]), operating_threshold(out["benign_mmlu"][1]))
    recall = float(np.mean([x >= th for x in out["attacks"][1]]))
    tp = fp = fn = 0
    for pred, gold in zip(out["pii"][2], val["pii"]["labels"]):
        g = entities([max(0, t) for t in gold[:-1]])
        p = {e for e in entities(pred[:-1]) if e[1] > 0}
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
    f1 = 2 * tp / max(1, 2 * tp + fp + fn)
    scores = {"mmlu": acc("mmlu_domain"), "arena": acc("arena_coding_math"), "safety_recall_at_1pct": recall,
              "pii_f1": f1}
    scores["mean"] = float(np.mean(list(scores.values())))
    return scores


def keep_if_best(model, val, best, steps, epoch, seconds, path, run):
    scores = validate(model, val)
    print("validation", steps, " ".join(f"{k} {v:.3f}" for k, v in scores.items()), flush=True)
    if scores["mean"] > best["val"]["mean"]:
        best = {"state": model.state_dict(), "cfg": CFG, "vocab": model.word.num_embeddings, "steps": steps,
                "epochs": epoch, "train_seconds": round(seconds), "val": scores, "run": run}
        save_checkpoint(path, best)
        best = {k: v for k, v in best.items() if k != "state"}
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-min", type=float, default=45.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--token-dropout", type=float, default=0.0, help="share of word pieces replaced by [MASK]")
    ap.add_argument("--dropout", type=float, default=CFG["dropout"])
    ap.add_argument("--checkpoint", default=os.path.join(OUT, "model.npz"), help="where the kept step is written")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--init", help="pretrain.py's checkpoint: encoder weights to start from (else emb_init.npy)")
    ap.add_argument("--extra", action="append", default=[],
                    help="more training rows (JSON list in train.json's format), e.g. training/out/explanations.json")
    ap.add_argument("--val-every", type=int, default=250, help="steps between validation passes")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint (second, shorter run)")
    ap.add_argument("--teacher", help="a fine-tuned checkpoint to start from AND distil from (frozen copy): domain "
                    "and safety learn the teacher's logits and the embedding its vectors, while PII keeps "
                    "its labels; refines one head on new data without moving the others (learning without forgetting)")
    ap.add_argument("--learn-safety", action="store_true",
                    help="with --teacher: the safety head learns its labels (new safety data) instead of the teacher's "
                         "logits; domain and embedding are still distilled")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = True
    rows = json.load(open(os.path.join(OUT, "train.json")))
    for path in args.extra:
        more = json.load(open(path))
        rows += more
        print("extra rows", len(more), "from", path)
    val = json.load(open(os.path.join(OUT, "val.json")))
    vocab_map = load_vocab(os.path.join(MODEL_DIR, "vocab.txt"))
    vocab = len(vocab_map)
    CFG["dropout"] = args.dropout
    model = build_model(vocab, CFG)
    init = os.path.join(OUT, "emb_init.npy")
    if args.init:
        pre = load_checkpoint(args.init)
        assert pre["cfg"]["hidden"] == CFG["hidden"] and pre["cfg"]["layers"] == CFG["layers"], pre["cfg"]
        encoder = {k: v for k, v in pre["state"].items() if k.split(".")[0] not in ("domain", "safety", "pii")}
        missing = model.load_state_dict(encoder, strict=False).missing_keys
        assert all(k.split(".")[0] in ("domain", "safety", "pii") for k in missing), missing
        print(f"encoder initialised from {args.init} ({pre['steps']} MLM steps, loss {pre.get('mlm_loss')})")
    elif os.path.exists(init):
        e = np.load(init)
        assert e.shape == (vocab, CFG["emb"])
        model.word.weight.data.copy_(torch.from_numpy(e))
        print("embeddings initialised from", init)
    prev_steps, prev_seconds = 0, 0.0
    if args.resume:
        ck = load_checkpoint(args.checkpoint)
        model.load_state_dict(ck["state"])
        prev_steps, prev_seconds = ck.get("total_steps", ck["steps"]), ck.get("total_seconds", ck.get("train_seconds", 0))
        rng = random.Random(SEED + 1)
        print("resumed after", prev_steps, "steps")
    teacher = None
    if args.teacher:
        ck = load_checkpoint(args.teacher)
        model.load_state_dict(ck["state"])
        teacher = build_model(vocab, CFG)
        teacher.load_state_dict(ck["state"])
        teacher.to(dev).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
        print("starting from and distilling", args.teacher, "step", ck["steps"])
    model.to(dev)
    print("params", sum(p.numel() for p in model.parameters()), "device", dev)
    run = {"init": os.path.basename(args.init) if args.init else "emb_init", "seed": args.seed, "lr": args.lr,
           "dropout": args.dropout, "token_dropout": args.token_dropout, "budget_min": args.budget_min,
           "extra": [os.path.basename(p) for p in args.extra], "device": str(dev),
           "teacher": os.path.basename(args.teacher) if args.teacher else None}
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "word" not in n and "pos" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "word" not in n and "pos" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": other, "weight_decay": 0.0}],
                            lr=args.lr)
    saf_w = torch.tensor([1.0, 4.0, 3.0], device=dev)
    budget = args.budget_min * 60
    start = time.time()
    step, epoch, tokens = 0, 0, 0
    stats = {"dom": [], "saf": [], "pii": [], "con": [], "acc": []}
    best = {"val": {"mean": -1.0}, "steps": 0}
    done = False
    while not done:
        epoch += 1
        for batch in batches(rows, rng):
            frac = (time.time() - start) / budget
            if frac >= 1.0:
                done = True
                break
            warm = 30 if args.resume or args.teacher else 150
            lr = args.lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * frac))
            for g in opt.param_groups:
                g["lr"] = lr
            ids, mask, dom, saf, pii, pair = (x.to(dev, non_blocking=True) if torch.is_tensor(x) else x for x in
                                              collate(batch, args.token_dropout, vocab_map["[MASK]"], rng))
            model.train()
            dl, sl, pl, emb = model(ids, mask)
            loss = 0.0
            if teacher is not None:
                with torch.no_grad():
                    t_dl, t_sl, _, t_emb = teacher(ids, mask)
                # logits, not probabilities: a saturated softmax hides the tail a safety threshold of 0.978 lives in
                ld = F.mse_loss(dl, t_dl)
                le = (1 - (emb * t_emb).sum(-1)).mean()  # both unit-length
                loss = loss + ld + 10.0 * le
                if not args.learn_safety:
                    ls = F.mse_loss(sl, t_sl)
                    loss = loss + 2.0 * ls
                    stats["saf"].append(ls.item())
                    saf = torch.full_like(saf, -1)
                stats["dom"].append(ld.item())
                stats["con"].append(le.item())
                dom = torch.full_like(dom, -1)  # labels unused: the teacher's outputs stand in for them
                pair = [-1] * len(pair)
            if (dom >= 0).any():
                ld = F.cross_entropy(dl, dom, ignore_index=-1, label_smoothing=0.05)
                loss = loss + ld
                stats["dom"].append(ld.item())
                sel = dom >= 0
                stats["acc"].append((dl[sel].argmax(-1) == dom[sel]).float().mean().item())
            if (saf >= 0).any():
                ls = F.cross_entropy(sl, saf, weight=saf_w, ignore_index=-1)
                loss = loss + ls
                stats["saf"].append(ls.item())
            if (pii >= 0).any():
                lp = F.cross_entropy(pl.reshape(-1, pl.shape[-1]), pii.reshape(-1), ignore_index=-100)
                loss = loss + 2.0 * lp
                stats["pii"].append(lp.item())
            if teacher is None:
                lc = contrastive(emb, pair)
                loss = loss + 0.3 * lc
                stats["con"].append(lc.item())
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            tokens += int(mask.sum())
            if step % 25 == 0:
                el = time.time() - start
                print(f"step {step} ep {epoch} {el/60:.1f}min lr {lr:.2e} tok/s {tokens/el:.0f} "
                      + " ".join(f"{k} {np.mean(v[-25:]):.3f}" for k, v in stats.items() if v), flush=True)
            if step % args.val_every == 0:
                best = keep_if_best(model, val, best, prev_steps + step, epoch, prev_seconds + time.time() - start,
                                    args.checkpoint, run)
    el = time.time() - start
    best = keep_if_best(model, val, best, prev_steps + step, epoch, prev_seconds + el, args.checkpoint, run)
    print(f"done steps {step} epochs {epoch} minutes {el/60:.1f} tokens {tokens}; kept step {best['steps']} "
          f"(validation {best['val']})", flush=True)


if __name__ == "__main__":
    main()
