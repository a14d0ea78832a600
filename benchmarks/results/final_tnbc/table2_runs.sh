#!/usr/bin/env bash
# Table 2 early-stopping protocol, compressed to fit one session (session 6, AMD EPYC Zen 4 AVX512_BF16, SegNets in mixed_bfloat16, 1000 steps, rate halved every 250): R or S* (arg 1), seeds 0,1,2.
set -euo pipefail
cd /work/main
set_name=$1
PYTHONPATH=/work/main ~/.cache/tf-esgan/venv/bin/python -P benchmarks/table2_validation.py \
  --sets="$set_name" --seeds=0,1,2 --steps=250,500,750,1000 --epoch_steps=50 \
  --lr_halving_steps=250 --dtype_policy=auto --keep_best --patience=2 \
  --train_dir=$HOME/esgan-runs/data/tnbc_0305 --validation_dir=$HOME/esgan-runs/data/tnbc_0607 \
  --synthetic_dir=$HOME/esgan-runs/synth_tnbc_1000 \
  --synthetic_name=pretrained_tnbc_step10200_1000pairs_tnbc0307preset \
  --work_dir=$HOME/esgan-runs/table2_es --out=$HOME/esgan-runs/table2_es/table2_es_validation.jsonl
