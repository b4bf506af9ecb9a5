#!/usr/bin/env python3
"""Generates benchmarks/data/chat-requests.jsonl: ~200 chat-completions requests for the load generator.

All text is written here from templates (nothing is copied from any dataset). The mix is meant to look like
real traffic to an LLM gateway: many short questions, code with snippets, math, some long multi-turn
conversations, system prompts, a few requests naming a model explicitly instead of "auto", and optional
session/tenant headers. Deterministic (fixed seed): rerunning produces the same file.

Usage: python3 benchmarks/data/make_corpus.py [--out benchmarks/data/chat-requests.jsonl] [--count 200]
"""
import argparse
import json
import random
from pathlib import Path

SEED = 20261129

TOPICS = ["photosynthesis", "the French Revolution", "plate tectonics", "black holes", "the immune system",
          "compound interest", "the water cycle", "supply and demand", "the Roman Empire", "machine learning",
          "climate change", "the printing press", "vaccines", "quantum entanglement", "inflation",
          "the Silk Road", "DNA replication", "electric cars", "the stock market", "volcanoes"]

SHORT_QUESTIONS = [
    "What is {topic}? Explain in two sentences.",
    "Give me three surprising facts about {topic}.",
    "How would you explain {topic} to a ten-year-old?",
    "Why does {topic} matter today?",
    "Summarise the main debate around {topic}.",
    "What are common misconceptions about {topic}?",
    "Recommend two books about {topic} and say why.",
    "Is it true that {topic} was discovered recently?",
]

CHITCHAT = [
    "hi there!", "Thanks, that helped a lot.", "Can you suggest a name for my cat?",
    "What should I cook tonight with rice, eggs and spinach?", "Tell me a short joke about programmers.",
    "Translate 'good morning, how are you?' into Spanish and German.",
    "Write a haiku about autumn rain.", "What's a good way to start learning the guitar?",
    "Plan a three-day trip to Lisbon on a budget.", "Draft a polite email declining a meeting invitation.",
]

LANGUAGES = ["Python", "C#", "Go", "Rust", "TypeScript", "Java", "SQL", "Bash"]

CODE_TASKS = [
    "Write a {lang} function that checks whether a string is a palindrome, ignoring punctuation.",
    "In {lang}, how do I read a large file line by line without loading it all into memory?",
    "Implement an LRU cache in {lang} with O(1) get and put.",
    "Write a {lang} program that merges two sorted lists into one sorted list.",
    "Explain the difference between a process and a thread, with a short {lang} example.",
    "How do I parse JSON in {lang} and handle missing fields safely?",
    "Write unit tests in {lang} for a function that computes the median of a list.",
]

SNIPPETS = {
    "Python": "def average(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n\nprint(average([]))",
    "C#": "public static int Sum(List<int> items)\n{\n    int sum = 0;\n    foreach (var i in items)\n        sum += i;\n    return sum;\n}\n\nConsole.WriteLine(Sum(null));",
    "Go": "func worker(jobs <-chan int, results chan<- int) {\n\tfor j := range jobs {\n\t\tresults <- j * 2\n\t}\n}\n\nfunc main() {\n\tjobs := make(chan int)\n\tresults := make(chan int)\n\tgo worker(jobs, results)\n\tjobs <- 1\n\tfmt.Println(<-results)\n}",
    "Rust": "fn longest(a: &str, b: &str) -> &str {\n    if a.len() > b.len() { a } else { b }\n}",
    "TypeScript": "async function load(ids: string[]) {\n  const out = [];\n  ids.forEach(async id => {\n    out.push(await fetchItem(id));\n  });\n  return out;\n}",
    "Java": "Map<String, Integer> counts = new HashMap<>();\nfor (String w : words) {\n    counts.put(w, counts.get(w) + 1);\n}",
    "SQL": "SELECT customer_id, COUNT(*)\nFROM orders\nWHERE created_at > '2024-01-01'\nGROUP BY customer_id\nHAVING COUNT(*) > 5\nORDER BY 2 DESC;",
    "Bash": "for f in $(ls *.log); do\n  grep ERROR $f | wc -l\ndone",
}

DEBUG_PROMPTS = [
    "This {lang} code fails. What is wrong and how do I fix it?\n\n```\n{snippet}\n```",
    "Can you review this {lang} snippet for bugs and style issues?\n\n```\n{snippet}\n```",
    "Rewrite this {lang} code to be more idiomatic and explain each change:\n\n```\n{snippet}\n```",
]

MATH = [
    "Solve for x: {a}x + {b} = {c}.",
    "What is the derivative of x^{n} * sin(x)?",
    "Compute the integral of {a}x^2 + {b}x from 0 to {n}.",
    "A train travels {a} km in {n} hours. What is its average speed in m/s?",
    "Prove that the sum of the first n odd numbers equals n^2.",
    "What is the probability of getting at least two heads in {n} fair coin flips?",
    "Find the eigenvalues of the matrix [[{a}, 1], [1, {b}]].",
    "If I invest {c} dollars at {n}% annual interest compounded monthly, how much do I have after {a} years?",
    "Is {big} a prime number? Show your reasoning.",
    "Simplify ({a}x^2 - {b}x) / x and state any restrictions on x.",
]

SYSTEM_PROMPTS = [
    "You are a concise assistant. Answer in at most three sentences.",
    "You are a senior software engineer. Prefer correct, production-quality code with brief explanations.",
    "You are a patient math tutor. Show each step and check the final answer.",
    "You are a customer support agent for an online bookstore. Be friendly and never promise refunds.",
    "You are a helpful assistant. Respond in Markdown.",
    "You are a legal research assistant. Cite the relevant principle and note that this is not legal advice.",
]

# Mostly models a router config would list, one it would not (the router answers that with a 400).
EXPLICIT_MODELS = ["gpt-4o", "qwen3-8b", "deepseek-r1", "gpt-4o-mini"]

FILLER_SENTENCES = [
    "The team has been discussing this for a couple of weeks without reaching agreement.",
    "We need something that works on both Linux and Windows servers.",
    "Performance matters because the service handles a few thousand requests per second at peak.",
    "The previous attempt was abandoned because it was hard to test.",
    "Budget is limited, so open-source options are preferred.",
    "Our users are mostly non-technical, so the output should be easy to read.",
    "There is a deadline at the end of the month for the first version.",
    "Security review will look at how secrets and personal data are handled.",
    "The data arrives as CSV exports from an old accounting system.",
    "Some records have missing dates and inconsistent currency codes.",
]


def message(role, content):
    return {"role": role, "content": content}


def short_question(rng):
    return [message("user", rng.choice(SHORT_QUESTIONS).format(topic=rng.choice(TOPICS)))], "general"


def chitchat(rng):
    return [message("user", rng.choice(CHITCHAT))], "chitchat"


def code_task(rng):
    return [message("user", rng.choice(CODE_TASKS).format(lang=rng.choice(LANGUAGES)))], "code"


def code_debug(rng):
    lang = rng.choice(list(SNIPPETS))
    return [message("user", rng.choice(DEBUG_PROMPTS).format(lang=lang, snippet=SNIPPETS[lang]))], "code"


def math_question(rng):
    q = rng.choice(MATH).format(a=rng.randint(2, 19), b=rng.randint(1, 40), c=rng.randint(50, 5000),
                                n=rng.randint(2, 9), big=rng.choice([97, 221, 561, 7919, 10007, 65537, 1000001]))
    return [message("user", q)], "math"


def long_context(rng):
    # A long single request: background paragraphs followed by a question (a few KB).
    paragraphs = []
    for _ in range(rng.randint(6, 14)):
        paragraphs.append(" ".join(rng.choice(FILLER_SENTENCES) for _ in range(rng.randint(3, 6))))
    topic = rng.choice(["a data pipeline", "a migration plan", "an internal dashboard", "a reporting tool"])
    text = "Here is some context about our project.\n\n" + "\n\n".join(paragraphs) + \
           f"\n\nGiven all of this, propose a step-by-step plan for building {topic}, with risks and mitigations."
    return [message("user", text)], "long"


def multi_turn(rng):
    turns = rng.randint(3, 7)
    msgs = []
    lang = rng.choice(LANGUAGES)
    topic = rng.choice(TOPICS)
    opening = [f"I'm learning {lang}. Can you explain how error handling works?",
               f"Let's talk about {topic}. Where should a beginner start?",
               "I want to build a small budgeting app. What features should the first version have?"]
    follow_ups = ["Can you give a concrete example?", "What are the trade-offs of that approach?",
                  "How would this change for a much larger system?", "Can you make that shorter?",
                  "What would you test first?", "Now write the code for the second step.",
                  "What did people do before this existed?", "Summarise our conversation so far in bullet points."]
    msgs.append(message("user", rng.choice(opening)))
    for _ in range(turns - 1):
        reply = " ".join(rng.choice(FILLER_SENTENCES) for _ in range(rng.randint(2, 8)))
        msgs.append(message("assistant", "Sure. " + reply))
        msgs.append(message("user", rng.choice(follow_ups)))
    return msgs, "multi-turn"


GENERATORS = [(short_question, 30), (chitchat, 15), (code_task, 15), (code_debug, 12), (math_question, 18),
              (long_context, 5), (multi_turn, 5)]


def build(rng, index):
    gens, weights = zip(*GENERATORS)
    messages, category = rng.choices(gens, weights=weights)[0](rng)
    if rng.random() < 0.3:
        messages.insert(0, message("system", rng.choice(SYSTEM_PROMPTS)))
    model = rng.choice(EXPLICIT_MODELS) if rng.random() < 0.06 else "auto"
    body = {"model": model, "messages": messages}
    if rng.random() < 0.25:
        body["temperature"] = round(rng.uniform(0, 1.2), 1)
    if rng.random() < 0.15:
        body["max_tokens"] = rng.choice([256, 512, 1024, 2048])
    if rng.random() < 0.1:
        body["stream"] = True
    row = {"id": f"req-{index:04d}", "category": category}
    headers = {}
    if category == "multi-turn" or rng.random() < 0.2:
        headers["x-session-id"] = f"sess-{rng.randrange(16**8):08x}"
    if rng.random() < 0.15:
        headers["x-tenant-id"] = rng.choice(["acme", "globex", "initech"])
    if headers:
        row["headers"] = headers
    row["body"] = body
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).with_name("chat-requests.jsonl")))
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(SEED)
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.count):
            f.write(json.dumps(build(rng, i), ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {args.count} requests to {args.out}")


if __name__ == "__main__":
    main()
