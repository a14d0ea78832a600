#!/usr/bin/env bash
# StarDist R vs R+S as run in the seventh session of 2026-12-07 (AMD EPYC Zen 3, AVX2, 2 cores): two processes side by side, one core each (benchmarks/README.md).
set -euo pipefail
cd /work/main
D=$HOME/esgan-runs
COMMON="--train_dir=$D/data/tnbc_0305 --validation_dir=$D/data/tnbc_0607 --test_dir=$D/data/tnbc_0102
 --synthetic_dir=$D/synth_sd --real_fraction=0.5 --patch_size=128 --batch_size=4 --steps_per_epoch=50
 --epochs_max=45 --patience=8 --reduce_lr_patience=4 --threshold_maxiter=20 --threads=1
 --work_dir=$D/stardist/models"
export OMP_NUM_THREADS=1
PY=$D/stardist-venv/bin/python
# Process A: R seed 0, then R+S seed 1. Process B: R+S seed 0, then R seed 1.
( $PY benchmarks/stardist_benefit.py $COMMON --sets=R --seeds=0 --out=$D/stardist/a.jsonl &&
  $PY benchmarks/stardist_benefit.py $COMMON --sets=R+S --seeds=1 --out=$D/stardist/a.jsonl ) > $D/stardist/a.log 2>&1 &
( $PY benchmarks/stardist_benefit.py $COMMON --sets=R+S --seeds=0 --out=$D/stardist/b.jsonl &&
  $PY benchmarks/stardist_benefit.py $COMMON --sets=R --seeds=1 --out=$D/stardist/b.jsonl ) > $D/stardist/b.log 2>&1 &
wait
