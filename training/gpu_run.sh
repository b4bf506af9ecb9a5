#!/usr/bin/env bash
# One GPU session, as run on the lent H200 (python3 there: torch 2.x with CUDA). Needs, beside the checkout,
# training/out/{train,val,explanations}.json, emb_init.npy and pretrain_windows.npz (made here on CPU by
# prepare_data.py, embed_init.py and pretrain.py --build-corpus). Writes every kept checkpoint straight to $DEST
# (default training/out/gpu), so whatever finished survives a run cut short.
#
#   t=0        MLM pre-training (PRETRAIN_MIN)     | fine-tune from emb_init.npy, the CPU recipe (ablation)
#   t=PRETRAIN fine-tunes from the MLM encoder, in parallel: lr 1e-3, lr 2e-3, lr 1e-3 + explanations
#
# Usage: DEST=$OUT PRETRAIN_MIN=3 FINETUNE_MIN=5 bash training/gpu_run.sh
set -u
cd "$(dirname "$0")"
DEST=${DEST:-out/gpu}
PRETRAIN_MIN=${PRETRAIN_MIN:-3}
FINETUNE_MIN=${FINETUNE_MIN:-5}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
export ROUTER_TRAIN_BLAS=1 PYTHONUNBUFFERED=1
mkdir -p "$DEST" /tmp/gpu-logs
LOGS=/tmp/gpu-logs
common=(--device "$DEVICE" --threads 2 --dropout 0.15 --token-dropout 0.1 --val-every 500)

$PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
$PY train.py "${common[@]}" --budget-min "$(awk "BEGIN { print $PRETRAIN_MIN + $FINETUNE_MIN }")" --lr 2e-3 \
  --checkpoint "$DEST/ft-scratch.npz" > $LOGS/ft-scratch.log 2>&1 &
$PY pretrain.py --device "$DEVICE" --budget-min "$PRETRAIN_MIN" --out "$DEST/pretrained.npz" > $LOGS/pretrain.log 2>&1
tail -3 $LOGS/pretrain.log
$PY train.py "${common[@]}" --budget-min "$FINETUNE_MIN" --lr 1e-3 --init "$DEST/pretrained.npz" \
  --checkpoint "$DEST/ft-mlm-lr1e3.npz" > $LOGS/ft-mlm-lr1e3.log 2>&1 &
$PY train.py "${common[@]}" --budget-min "$FINETUNE_MIN" --lr 2e-3 --init "$DEST/pretrained.npz" \
  --checkpoint "$DEST/ft-mlm-lr2e3.npz" > $LOGS/ft-mlm-lr2e3.log 2>&1 &
$PY train.py "${common[@]}" --budget-min "$FINETUNE_MIN" --lr 1e-3 --init "$DEST/pretrained.npz" \
  --extra out/explanations.json --checkpoint "$DEST/ft-mlm-expl.npz" > $LOGS/ft-mlm-expl.log 2>&1 &
wait
for f in $LOGS/*.log; do echo "=== $f"; grep -v '^step ' "$f"; grep '^step ' "$f" | awk 'NR % 20 == 0'; done > "$DEST/logs.txt"
grep -h -E '^done|kept step' $LOGS/*.log
ls -la "$DEST"
