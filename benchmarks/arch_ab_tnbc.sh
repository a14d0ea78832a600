#!/usr/bin/env bash
# Architecture A/B of issue 20 (item 1) on TNBC: short runs of esgan-train's defaults with one
# choice changed, each scored on validation slides 06-07 at its last step. Resumable: rerun the
# same command after any stop (finished variants are skipped, a stopped one resumes).
#
# Every variant trains 2000 steps (20 epochs of 100 steps: same steps for all, so a decay
# schedule ends where the others are scored) on slides 03-05, seed 0, at the machine's auto
# dtype policy fixed at its start (mixed_bfloat16 on AVX512_BF16 CPUs); slides 01-02 are never
# read. "control" is the defaults under the same protocol; "control_s1" the same with seed 1,
# to show what a seed alone changes; "half_width" a generator of 32 base filters (a quarter of the
# weights: 27 MB in float16 instead of 109, the size question of shipping it); "reflect" the
# generator's convolutions padded with the image's mirror (models/padding.py); "d_patch142" a
# discriminator of 4 stride-2 blocks (each logit judges 142x142 pixels, pix2pix's 70). The validation
# curve of the paper-schedule run is flat from step 2000 on (benchmarks/README.md), so 2000 steps compare choices at the point where
# the pixel-aligned scores stop moving; pictures decide the rest.
#
#   bash benchmarks/arch_ab_tnbc.sh [variant ...]     # default: every variant, in order
#   nohup bash benchmarks/arch_ab_tnbc.sh >> ~/esgan-runs/arch_ab.log 2>&1 &
#
# Environment: ESGAN_RUNS (run root, default ~/esgan-runs), ESGAN_PYTHON. The data folders are
# the ones paper_run_tnbc.sh makes (run it once first, or copy slides 03-05 / 06-07 there).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${ESGAN_RUNS:-$HOME/esgan-runs}
python=${ESGAN_PYTHON:-$HOME/.cache/tf-esgan/venv/bin/python}
ab=$root/arch_ab
results=$repo/benchmarks/results/arch_ab
mkdir -p "$ab" "$results"
for folder in "$root/data/tnbc_0305" "$root/data/tnbc_0607"; do
  [ -d "$folder/images" ] || { echo "missing $folder (run benchmarks/paper_run_tnbc.sh once)" >&2; exit 2; }
done

# The code of each variant is frozen at the commit this script first trains or scores it from
# ($ab/code_<variant>; variants finished before that rule ran the working tree of their time).
# Python runs with -P, so the current folder's tf_esgan cannot shadow the frozen one.
freeze() {
  local frozen=$ab/code_$1
  [ -d "$frozen" ] || { mkdir -p "$frozen" && git -C "$repo" archive HEAD tf_esgan | tar -x -C "$frozen"; }
  echo "$frozen"
}

declare -A flags=(
  [control]=""
  [bilinear]="--upsampling=bilinear"
  [nearest]="--upsampling=resize"
  [lr_decay]="--lr_decay_epochs=10"
  [half_width]="--generator_base_filters=32"
  [control_s1]="--seed=1"
  [reflect]="--padding=reflect"
  [d_patch142]="--discriminator_strided_blocks=4"
)
order=(control bilinear half_width lr_decay nearest control_s1 reflect d_patch142)
[ $# -gt 0 ] && order=("$@")

for name in "${order[@]}"; do
  [ -n "${flags[$name]+x}" ] || { echo "unknown variant $name (one of ${!flags[*]})" >&2; exit 2; }
  run=$ab/$name
  seed="--seed=0"; [[ "${flags[$name]}" == *--seed=* ]] && seed=""
  dtype=auto  # fixed at the first start: a resumed run keeps its policy on another CPU
  if [ -f "$run/config.json" ]; then
    dtype=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['model']['dtype_policy'])" \
            "$run/config.json")
  fi
  if ! grep -qs '"step": 2000' "$results/$name.jsonl"; then
    code=$(freeze "$name")
    echo "== $name: training ($(date -u +%H:%M))"
    PYTHONPATH=$code "$python" -P -m tf_esgan.cli.train_gan \
      --dataset_dir="$root/data/tnbc_0305" --model_dir="$run" --test_fraction=0 --dtype_policy="$dtype" \
      --epochs=20 --steps_per_epoch=100 --keep_checkpoints=2 --quiet $seed ${flags[$name]}
    echo "== $name: scoring ($(date -u +%H:%M))"
    PYTHONPATH=$code "$python" -P "$repo/benchmarks/learning_curve.py" --run="$run" --every=2000 \
      --validation_dir="$root/data/tnbc_0607" --out="$results/$name.jsonl" --figure_tiles=3
  fi
done
echo "== done ($(date -u +%H:%M))"
