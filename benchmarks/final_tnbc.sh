#!/usr/bin/env bash
# The one look at TNBC's test slides 01-02 (issue 20, item 3), after every choice is fixed.
#
# Everything before this script chose on slides 03-07 only: the generator trained on 03-05 and
# its architecture and schedule were chosen on 06-07; Table 2's SegNets trained on 03-05 (+
# synthetic) and their stage was chosen on 06-07 (table2_validation.py --keep_best). This
# script scores, once, on 01-02:
#   1. the shipped `tnbc` generator, Table 1 protocol (esgan-evaluate --split=test: the card's
#      evaluation split, slides 01-02), with SegNet-R's AJI on the synthetic images;
#   2. each Table 2 run's best-on-validation SegNet (<run>/best), per image, with the paired
#      bootstrap interval of S* - R (table2_validation.py --score_only --keep_best).
# It refuses to run when its results folder exists: a second look would let the test slides
# choose. Delete that folder only if the first look failed before scoring anything.
#
#   bash benchmarks/final_tnbc.sh
#
# Environment: ESGAN_RUNS (run root, default ~/esgan-runs), ESGAN_SHARED, ESGAN_PYTHON,
# TABLE2_WORK (Table 2's run folders, default $ESGAN_RUNS/table2_es), TABLE2_RECORDS (the JSONL
# they were trained and scored into), SETS (default R,S*), SEEDS (default 0,1,2), TABLE2_LAST_STAGE
# (the last stage of their --steps, default 2000: the label of the records; <run>/best is scored).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${ESGAN_RUNS:-$HOME/esgan-runs}
shared=${ESGAN_SHARED:-$repo/../shared}
python=${ESGAN_PYTHON:-$HOME/.cache/tf-esgan/venv/bin/python}
work=${TABLE2_WORK:-$root/table2_es}
records=${TABLE2_RECORDS:-$work/table2_es_validation.jsonl}
results=$repo/benchmarks/results/final_tnbc
if [ -e "$results" ]; then
  echo "final_tnbc: $results exists: the test slides were already scored once" >&2
  exit 2
fi
mkdir -p "$results"
test_dir=$root/data/tnbc_0102
if [ ! -d "$test_dir/images" ]; then
  mkdir -p "$test_dir/images" "$test_dir/masks"
  for slide in 01 02; do
    cp "$shared"/datasets/tnbc/images/"${slide}"_*.png "$test_dir/images/"
    cp "$shared"/datasets/tnbc/masks/"${slide}"_*.png "$test_dir/masks/"
  done
fi
echo "== generator (pretrained:tnbc) on slides 01-02 ($(date -u +%H:%M))"
PYTHONPATH=$repo "$python" -m tf_esgan.cli.evaluate --model=pretrained:tnbc --split=test \
  --dataset_dir="$shared/datasets/tnbc" --segnet_dir=pretrained:tnbc_r --out_dir="$results/generator"
echo "== Table 2's best-on-validation SegNets on slides 01-02 ($(date -u +%H:%M))"
PYTHONPATH=$repo "$python" "$repo/benchmarks/table2_validation.py" --score_only --keep_best \
  --sets="${SETS:-R,S*}" --seeds="${SEEDS:-0,1,2}" --steps="${TABLE2_LAST_STAGE:-2000}" --epoch_steps=50 \
  --work_dir="$work" --trained_records="$records" --validation_dir="$test_dir" \
  --out="$results/table2_test.jsonl"
PYTHONPATH=$repo "$python" "$repo/benchmarks/table2_validation.py" --summary --summary_steps="${TABLE2_LAST_STAGE:-2000}" \
  --out="$results/table2_test.jsonl" | tee "$results/table2_test.md"
echo "== done ($(date -u +%H:%M)); results in $results"
