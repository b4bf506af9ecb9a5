"""Step 2 (cheap stand-in for MLM pre-training): word-piece embeddings from PPMI + truncated SVD.

Counts co-occurrences (window 4) of pruned-vocabulary pieces over the MMLU-Pro explanations of the training-split
questions plus the training questions, takes positive PMI and a 128-d randomized SVD. On this 2-core shared machine
an MLM pre-train does not fit the time; this gives the fine-tune distributional word vectors for ~2 minutes of CPU.
Usage: nice -n 19 /usr/bin/python3 training/embed_init.py  -> training/out/emb_init.npy
"""
import os

import numpy as np
import scipy.sparse as sp
from sklearn.utils.extmath import randomized_svd

from common import OUT, SEED, fit_val_splits, read_jsonl, tokenizer

DIM = 128
WINDOW = 4


def main():
    tok = tokenizer()
    v = len(tok.vocab)
    mm_train = fit_val_splits()["mmlu"][0]  # validation questions stay unseen
    train_ids = {r["question_id"] for r in mm_train}
    texts = [r["question"] for r in mm_train]
    texts += [r["text"][:1500] for r in read_jsonl("mmlu-pro", "explanations-train.jsonl.gz")
              if r["question_id"] in train_ids]
    rows, cols = [], []
    for t in texts:
        ids = np.asarray(tok.tokenize(t)[0], dtype=np.int32)
        for k in range(1, WINDOW + 1):
            if len(ids) > k:
                rows.append(ids[:-k])
                cols.append(ids[k:])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    m = sp.coo_matrix((np.ones(len(r), dtype=np.float32), (r, c)), shape=(v, v)).tocsr()
    m = m + m.T
    total = m.sum()
    rs = np.asarray(m.sum(1)).ravel()
    cs = np.asarray(m.sum(0)).ravel() ** 0.75  # context-distribution smoothing
    cs = cs / cs.sum() * total
    m = m.tocoo()
    pmi = np.log(m.data * total / (rs[m.row] * cs[m.col] + 1e-9) + 1e-9)
    keep = pmi > 0
    ppmi = sp.csr_matrix((pmi[keep], (m.row[keep], m.col[keep])), shape=(v, v))
    u, s, _ = randomized_svd(ppmi, DIM, random_state=SEED, n_iter=4)
    emb = u * np.sqrt(s)
    seen = rs > 0
    emb[seen] /= emb[seen].std()
    emb[~seen] = np.random.RandomState(SEED).normal(0, 1.0, (int((~seen).sum()), DIM))
    np.save(os.path.join(OUT, "emb_init.npy"), (emb * 0.5).astype(np.float32))
    print("pairs", len(r), "vocab seen", int(seen.sum()), "of", v)


if __name__ == "__main__":
    main()
