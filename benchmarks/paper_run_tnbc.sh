#!/usr/bin/env bash
# The paper-schedule GAN run of issue 20 on TNBC, resumable: rerun this script after any stop.
#
# Trains esgan-train's defaults (enhanced variant, instance norm, transposed convolutions,
# 256x256, batch 1, Adam 1e-4, 150 epochs = 150 passes over every 256 tile of the training
# slides) on TNBC slides 03-05 only, keeps every 1000-step checkpoint aside for the learning
# curve on validation slides 06-07 (benchmarks/learning_curve.py). Slides 01-02 are never read.
# The run folder lives outside the work tree (default ~/esgan-runs) so a new checkout keeps it;
# the code is frozen at the commit the run started from (copied into the run folder; python -P keeps
# the current folder's tf_esgan from shadowing it: before that flag, restarts from the repository
# root ran its working tree), so later
# changes to the repository do not change a run in progress.
#
#   bash benchmarks/paper_run_tnbc.sh            # start or resume, in the foreground
#   nohup bash benchmarks/paper_run_tnbc.sh >> ~/esgan-runs/enhanced_paper_s0.log 2>&1 &
#
# Environment: ESGAN_RUNS (run root), ESGAN_SHARED (folder holding datasets/), ESGAN_PYTHON,
# ESGAN_DTYPE (the run's dtype policy; fixed at the start: mixed_bfloat16 on AVX512_BF16 CPUs).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${ESGAN_RUNS:-$HOME/esgan-runs}
shared=${ESGAN_SHARED:-$repo/../shared}
python=${ESGAN_PYTHON:-$HOME/.cache/tf-esgan/venv/bin/python}
run=$root/enhanced_paper_s0
mkdir -p "$root/data" "$root/curve_ckpts"

for split in "0305:03 04 05" "0607:06 07"; do
  name=${split%%:*}; folder=$root/data/tnbc_$name
  if [ ! -d "$folder/images" ]; then
    mkdir -p "$folder/images" "$folder/masks"
    for slide in ${split#*:}; do
      cp "$shared"/datasets/tnbc/images/"${slide}"_*.png "$folder/images/"
      cp "$shared"/datasets/tnbc/masks/"${slide}"_*.png "$folder/masks/"
    done
  fi
done

code=$(ls -d "$root"/code/* 2>/dev/null | head -1 || true)
if [ -z "$code" ]; then
  code=$root/code/$(git -C "$repo" rev-parse --short HEAD)
  mkdir -p "$code" && git -C "$repo" archive HEAD tf_esgan | tar -x -C "$code"
fi
dtype=${ESGAN_DTYPE:-}
if [ -z "$dtype" ] && [ -f "$run/config.json" ]; then
  dtype=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['model']['dtype_policy'])" "$run/config.json")
fi
dtype=${dtype:-auto}

# Every 1000-step checkpoint copied aside (the run keeps only its last three).
( started=$SECONDS
  while pgrep -f "model_dir=$run" >/dev/null || (( SECONDS - started < 600 )); do
    for index in "$run"/checkpoints/ckpt-*000.index; do
      [ -e "$index" ] || continue
      name=$(basename "${index%.index}")
      [ -e "$root/curve_ckpts/$name.index" ] && continue
      sleep 5; cp "${index%.index}".data-* "$index" "$root/curve_ckpts/"
    done
    sleep 30
  done ) &

PYTHONPATH=$code exec "$python" -P -m tf_esgan.cli.train_gan \
  --dataset_dir="$root/data/tnbc_0305" --model_dir="$run" --test_fraction=0 \
  --dtype_policy="$dtype" --checkpoint_every_steps=1000 --seed=0 --quiet
