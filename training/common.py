"""Shared pieces of the router-encoder training scripts: paths, seeds, the WordPiece tokenizer, splits, the model.

Run every script from the repository root with Debian's /usr/bin/python3 (torch 1.13, onnx 1.12, sklearn).
Data is read from ../shared/data (never copied into the repository); intermediate files go to training/out/
(git-ignored); shipped files go to models/router-encoder/.
"""
import gzip
import json
import os
import random
import unicodedata

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
if not os.path.isdir(DATA):  # worktrees live one level deeper than the main checkout
    DATA = os.path.normpath(os.path.join(REPO, "..", "..", "shared", "data"))
OUT = os.path.join(REPO, "training", "out")
MODEL_DIR = os.path.join(REPO, "models", "router-encoder")
SEED = 13
MAX_LEN = 128

DOMAINS = ["biology", "business", "chemistry", "computer science", "economics", "engineering", "health", "history",
           "law", "math", "other", "philosophy", "physics", "psychology"]
SAFETY = ["benign", "jailbreak", "harmful"]
PII_TYPES = ["PERSON", "STREET_ADDRESS", "GPE", "ORGANIZATION", "CREDIT_CARD", "DATE_TIME", "TITLE", "PHONE_NUMBER",
             "AGE", "NRP", "EMAIL_ADDRESS", "ZIP_CODE", "DOMAIN_NAME", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
             "US_DRIVER_LICENSE"]
PII_TAGS = ["O"] + [f"{p}-{t}" for t in PII_TYPES for p in ("B", "I")]


def data_path(*parts):
    return os.path.join(DATA, *parts)


def read_jsonl(*parts):
    path = data_path(*parts)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def split(items, test_fraction, seed=SEED):
    """Deterministic shuffle split; returns (train, test)."""
    idx = list(range(len(items)))
    random.Random(seed).shuffle(idx)
    n_test = int(round(len(items) * test_fraction))
    test = set(idx[:n_test])
    return [x for i, x in enumerate(items) if i not in test], [x for i, x in enumerate(items) if i in test]


def mmlu_splits():
    """80/20 split of MMLU-Pro by question (the same split for every script)."""
    return split(read_jsonl("mmlu-pro", "train.jsonl"), 0.2)


def arena_splits():
    """Arena-hard v2 prompts split 50/50 within each subcategory: the test half is the 'real prompts' domain test."""
    rows = read_jsonl("traffic", "arena_hard_v2_questions.jsonl")
    train, test = [], []
    for sub in sorted({r["subcategory"] for r in rows}):
        a, b = split([r for r in rows if r["subcategory"] == sub], 0.5)
        train += a
        test += b
    return train, test


ARENA_DOMAIN = {"coding": "computer science", "math": "math", "creative_writing": "other"}


# Do-Not-Answer categories that are not plainly harmful requests: questions about rumours and health worries ("Is it
# true that a new drug has been developed ...?", "could it be appendicitis?") and chats with the bot itself. As
# `harmful` safety rows they taught the head that "Is it true that ...?" and "common misconceptions about ...?" are
# harmful (0.99 on benign fact-check questions; 5.5% of the load generator's benign prompts flagged at the deployment
# threshold). evaluate.py reports the held-out set with and without them. ROUTER_SAFETY_DATA=v2 (session 7, not
# what the shipped model was trained on) keeps them out of safety training and validation and adds benign myth
# questions (prepare_data.myth_prompts); unset, the scripts rebuild the data the shipped model was trained on.
NOT_PLAINLY_HARMFUL = ("do-not-answer/misinformation_harms", "do-not-answer/human_chatbox")
SAFETY_DATA_V2 = os.environ.get("ROUTER_SAFETY_DATA") == "v2"


def is_plainly_harmful(row):
    return row.get("source") not in NOT_PLAINLY_HARMFUL


def plainly_harmful(rows):
    return [r for r in rows if is_plainly_harmful(r)]


def fit_val_splits():
    """Validation slices carved from the training side of every split (the test sides stay untouched): the
    fine-tune trains on "fit", picks its checkpoint on "val", and evaluate.py chooses the safety operating point on
    "val". Returns {source: (fit, val)}."""
    mm_train, _ = mmlu_splits()
    ar_train, _ = arena_splits()
    ar_fit, ar_val = [], []
    for sub in sorted({r["subcategory"] for r in ar_train}):
        a, b = split([r for r in ar_train if r["subcategory"] == sub], 0.3, seed=SEED + 1)
        ar_fit += a
        ar_val += b
    warden_train, _ = split(read_jsonl("jailbreak", "llm-warden-train.jsonl"), 0.2)
    harm_train, _ = split(read_jsonl("harmful", "harmbench-donotanswer.jsonl"), 0.2)
    pii_train, _ = split(read_jsonl("pii", "presidio-synth-train.jsonl"), 0.2)
    return {"mmlu": split(mm_train, 0.1, seed=SEED + 1), "arena": (ar_fit, ar_val),
            "warden": split(warden_train, 0.15, seed=SEED + 1), "harmful": split(harm_train, 0.15, seed=SEED + 1),
            "pii": split(pii_train, 0.1, seed=SEED + 1)}


def entities(tag_ids):
    """BIO tag ids -> set of (type, start, end) token spans."""
    out, cur = set(), None
    for i, t in enumerate(list(tag_ids) + [0]):
        name = PII_TAGS[t]
        if name == "O" or name.startswith("B-") or (cur and name[2:] != cur[0]):
            if cur:
                out.add((cur[0], cur[1], i))
            cur = (name[2:], i) if name != "O" else None
    return out


def _tag_transitions():
    """Allowed BIO moves as additive masks, [continuation piece?][prev tag, tag]: I-X only after B-X/I-X, and a
    WordPiece continuation (##) piece keeps its word's entity: O after O, I-X after B-X/I-X, never a B- tag."""
    kind = [None if t == "O" else t[2:] for t in PII_TAGS]
    begin = [t.startswith("B-") for t in PII_TAGS]
    masks = []
    for continuation in (False, True):
        m = np.full((len(PII_TAGS), len(PII_TAGS)), -1e9, np.float32)
        for a in range(len(PII_TAGS)):
            for b in range(len(PII_TAGS)):
                if continuation:
                    ok = (kind[b] is None) if kind[a] is None else (kind[b] == kind[a] and not begin[b])
                else:
                    ok = kind[b] is None or begin[b] or kind[a] == kind[b]
                if ok:
                    m[a, b] = 0.0
        masks.append(m)
    return masks


_TRANSITIONS = None
_LEARNED = None


def learned_transitions():
    """The word-start tag bigram scores every decoder uses (prepare_data.pii_transition_scores), computed once."""
    global _LEARNED
    if _LEARNED is None:
        from prepare_data import pii_transition_scores  # prepare_data imports this module
        _LEARNED = pii_transition_scores(tokenizer())
    return _LEARNED


def decode_tags(log_probs, continuation, transitions="learned"):
    """Most probable valid BIO path (Viterbi over per-piece log-probabilities, rows 0 = [CLS] and -1 = [SEP]
    skipped), as the runtime's HeadDecoder does. Word-consistent decoding instead of per-piece argmax: argmax split
    names and e-mail addresses mid-word ("E" EMAIL, "wan" PERSON) and let I- tags open entities. Moves into a word's
    first piece also score `transitions` (previous tag x tag; by default the learned bigram scores that config.json
    ships, None for hard constraints only): they stop the model cutting one street address into three."""
    global _TRANSITIONS
    if _TRANSITIONS is None:
        _TRANSITIONS = _tag_transitions()
    if isinstance(transitions, str):
        transitions = learned_transitions()
    word_start = _TRANSITIONS[0] if transitions is None else _TRANSITIONS[0] + transitions
    n = len(log_probs)
    if n <= 2:
        return [0] * n
    score = np.full(len(PII_TAGS), -1e9, np.float32)
    score[0] = 0.0  # [CLS] counts as O
    back = []
    for t in range(1, n - 1):
        m = score[:, None] + (_TRANSITIONS[1] if continuation[t] else word_start)
        back.append(m.argmax(0))
        score = m.max(0) + log_probs[t]
    path = [int(score.argmax())]
    for b in reversed(back[1:]):
        path.append(int(b[path[-1]]))
    return [0] + path[::-1] + [0]


def safety_score(probs):
    """What a jailbreak signal with labels [jailbreak, harmful] compares with its threshold: the larger of the two."""
    return max(float(probs[1]), float(probs[2]))


def operating_threshold(benign_scores, max_flagged=0.01):
    """Smallest threshold that flags at most max_flagged of the benign validation prompts (score >= threshold)."""
    s = sorted(benign_scores, reverse=True)
    k = int(max_flagged * len(s))  # this many may be flagged
    return float(min(1.0, s[k] + 1e-6)) if k < len(s) else 0.0


# ---------------------------------------------------------------- tokenizer (BERT BasicTokenizer + WordPiece)
def _is_whitespace(ch):
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def _is_control(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


_norm_cache = {}


def _norm_char(ch):
    r = _norm_cache.get(ch)
    if r is None:
        r = "".join(c for c in unicodedata.normalize("NFD", ch.lower()) if unicodedata.category(c) != "Mn")
        _norm_cache[ch] = r
    return r


def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


class WordPiece:
    """Uncased BERT tokenization with character offsets into the original text (for PII span alignment)."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]
        self.pad = vocab["[PAD]"]
        self.continuation = np.zeros(max(vocab.values()) + 1, bool)  # by id: a "##" piece
        for piece, i in vocab.items():
            self.continuation[i] = piece.startswith("##") and len(piece) > 2
        self._cache = {}

    def basic(self, text):
        """Yields (normalised word, [orig char index per normalised char])."""
        words = []
        cur, cur_map = [], []

        def flush():
            if cur:
                words.append(("".join(cur), list(cur_map)))
                cur.clear()
                cur_map.clear()

        for i, ch in enumerate(text):
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_whitespace(ch):
                flush()
                continue
            if _is_cjk(cp):
                flush()
                words.append((ch, [i]))
                continue
            n = _norm_char(ch)
            if not n:
                continue
            for c in n:
                if _is_punct(c):
                    flush()
                    words.append((c, [i]))
                else:
                    cur.append(c)
                    cur_map.append(i)
        flush()
        return words

    def wordpiece(self, word):
        r = self._cache.get(word)
        if r is not None:
            return r
        if len(word) > 100:
            r = [(self.unk, 0, len(word))]
        else:
            r = []
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    tid = self.vocab.get(piece)
                    if tid is not None:
                        found = tid
                        break
                    end -= 1
                if found is None:
                    r = [(self.unk, 0, len(word))]
                    break
                r.append((found, start, end))
                start = end
        self._cache[word] = r
        return r

    def tokenize(self, text):
        """Returns (ids, starts, ends) without special tokens; offsets index the original text."""
        ids, starts, ends = [], [], []
        for word, cmap in self.basic(text):
            for tid, s, e in self.wordpiece(word):
                ids.append(tid)
                starts.append(cmap[s])
                ends.append(cmap[e - 1] + 1)
        return ids, starts, ends

    def encode(self, text, max_len=MAX_LEN):
        """[CLS] head-truncated tokens [SEP], as the runtime does."""
        ids, _, _ = self.tokenize(text)
        return [self.cls] + ids[: max_len - 2] + [self.sep]


def tokenizer():
    return WordPiece(load_vocab(os.path.join(MODEL_DIR, "vocab.txt")))


# ---------------------------------------------------------------- model
# torch 1.13 from Debian uses a generic (reference) BLAS: nn.Linear runs at ~0.5 GFLOPS here, while the same
# product as a 1x1 convolution goes through oneDNN at 3-7 GFLOPS. Training and evaluation use the convolution;
# export sets FAST_LINEAR = False so the ONNX graph holds plain MatMul + Add (same weights, same result).
# With OpenBLAS installed (apt-get install libopenblas0-openmp) plain nn.Linear is ~10x faster than the convolution:
# ROUTER_TRAIN_BLAS=1 turns the workaround off.
FAST_LINEAR = os.environ.get("ROUTER_TRAIN_BLAS") != "1"


def build_model(vocab_size, cfg):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Linear(nn.Linear):
        def forward(self, x):
            if not FAST_LINEAR:
                return F.linear(x, self.weight, self.bias)
            shape = x.shape
            y = F.conv1d(x.reshape(-1, shape[-1], 1), self.weight.unsqueeze(-1), self.bias)
            return y.reshape(*shape[:-1], self.out_features)

    class Layer(nn.Module):
        # pre-LayerNorm BERT block: trains stably from scratch in few steps
        def __init__(self, h, heads, ffn, drop):
            super().__init__()
            self.heads = heads
            self.ln1 = nn.LayerNorm(h)
            self.qkv = Linear(h, 3 * h)
            self.o = Linear(h, h)
            self.ln2 = nn.LayerNorm(h)
            self.f1 = Linear(h, ffn)
            self.f2 = Linear(ffn, h)
            self.drop = nn.Dropout(drop)

        def forward(self, x, bias):
            b, t, h = x.shape
            d = h // self.heads
            q, k, v = self.qkv(self.ln1(x)).split(h, dim=-1)
            q = q.view(b, t, self.heads, d).transpose(1, 2)
            k = k.view(b, t, self.heads, d).transpose(1, 2)
            v = v.view(b, t, self.heads, d).transpose(1, 2)
            att = torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5) + bias
            att = self.drop(torch.softmax(att, dim=-1))
            y = torch.matmul(att, v).transpose(1, 2).reshape(b, t, h)
            x = x + self.drop(self.o(y))
            x = x + self.drop(self.f2(F.gelu(self.f1(self.ln2(x)))))
            return x

    class RouterEncoder(nn.Module):
        def __init__(self):
            super().__init__()
            e, h = cfg["emb"], cfg["hidden"]
            self.word = nn.Embedding(vocab_size, e)
            self.proj = Linear(e, h) if e != h else None
            self.pos = nn.Embedding(MAX_LEN, h)
            self.ln_in = nn.LayerNorm(h)
            self.drop = nn.Dropout(cfg["dropout"])
            self.layers = nn.ModuleList(
                [Layer(h, cfg["heads"], cfg["ffn"], cfg["dropout"]) for _ in range(cfg["layers"])])
            self.ln_out = nn.LayerNorm(h)
            self.domain = Linear(h, len(DOMAINS))
            self.safety = Linear(h, len(SAFETY))
            self.pii = Linear(h, len(PII_TAGS))

        def encode(self, input_ids, attention_mask):
            """Final hidden states (after ln_out): what the heads and pretrain.py's MLM head read."""
            t = input_ids.shape[1]
            x = self.word(input_ids)
            if self.proj is not None:
                x = self.proj(x)
            pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
            x = self.drop(self.ln_in(x + self.pos(pos)))
            m = attention_mask.to(x.dtype)
            bias = ((1.0 - m) * -10000.0).unsqueeze(1).unsqueeze(2)
            for layer in self.layers:
                x = layer(x, bias)
            return self.ln_out(x)

        def forward(self, input_ids, attention_mask):
            x = self.encode(input_ids, attention_mask)
            m = attention_mask.to(x.dtype)
            mm = m.unsqueeze(-1)
            pooled = (x * mm).sum(1) / mm.sum(1).clamp(min=1.0)
            dp = self.drop(pooled)
            emb = pooled / pooled.norm(dim=-1, keepdim=True).clamp(min=1e-6)
            return self.domain(dp), self.safety(dp), self.pii(self.drop(x)), emb

    return RouterEncoder()


def pad_batch(seqs, pad_id=0):
    import torch
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), t), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def save_checkpoint(path, ck):
    """Checkpoint as .npz (numpy arrays + one JSON metadata string): readable by Debian's torch 1.13 here and by the
    GPU machine's torch 2.x alike, which torch.save's pickles are not guaranteed to be. ck: {"state": state_dict,
    ...JSON-serialisable metadata}."""
    import numpy as np
    arrays = {"state/" + k: v.detach().float().cpu().numpy() for k, v in ck["state"].items()}
    meta = {k: v for k, v in ck.items() if k != "state"}
    tmp = path + ".tmp.npz"
    np.savez(tmp, __meta__=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def load_checkpoint(path):
    """Reads save_checkpoint's .npz (or a torch.save file from earlier runs) -> {"state": {name: tensor}, ...meta}."""
    import numpy as np
    import torch
    if not path.endswith(".npz"):
        return torch.load(path)
    with np.load(path) as z:
        ck = json.loads(str(z["__meta__"]))
        ck["state"] = {k[len("state/"):]: torch.from_numpy(z[k].copy()) for k in z.files if k.startswith("state/")}
    return ck
