#!/usr/bin/env bash
# Rx (cross-dataset R: all 10 CPM-15 images) under Table 2's early-stopping protocol as R ran it in the sixth session
# (stages of 250 to 1500, rate halved every 250, patience 2, best stage kept), 3 seeds, pinned to one core
# (eighth session, AMD EPYC Zen 3, AVX2: float32).
set -euo pipefail
cd /work/main
export OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1
taskset -c 0 nice -n 5 env PYTHONPATH=/work/main ~/.cache/tf-esgan/venv/bin/python -P benchmarks/table2_validation.py \
  --sets=Rx --seeds=2 --steps=250,500,750,1000,1250,1500 --epoch_steps=50 \
  --lr_halving_steps=250 --dtype_policy=auto --keep_best --patience=2 \
  --train_dir=$HOME/esgan-runs/data/tnbc_0305 --validation_dir=$HOME/esgan-runs/data/tnbc_0607 \
  --cross_dir=/work/shared/datasets/cpm15 \
  --work_dir=$HOME/esgan-runs/table2_rx --out=$HOME/esgan-runs/table2_rx/rx_validation_seed2.jsonl
