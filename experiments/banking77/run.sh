#!/usr/bin/env bash
# The Banking77 LoRA study: 1,000 seeded training examples, 200 val, 500 seeded test examples.
# Usage: bash experiments/banking77/run.sh [extra shipwise overrides]
#        HELDOUT=1 bash experiments/banking77/run.sh [...]  scores 1,001 held-out rows instead of
#        test (heldout.py writes them as the test split of the task banking77_heldout)
#        STUDY=1 bash experiments/banking77/run.sh [...]  the study: majority, knn, prompt and
#        the recipe on the same test split, then the ship decision
# Reads ../shared/datasets/banking77 (or $BANKING77); writes the imported task and every run
# under .shipwise/experiments/banking77 (ignored by git: the dataset is not copied into the repo).
set -euo pipefail
cd "$(dirname "$0")/../.."
source_dir=${BANKING77:-../shared/datasets/banking77}
out=.shipwise/experiments/banking77
if [ ! -f "$source_dir/train.csv" ]; then
  echo "Banking77 not found at $source_dir (set BANKING77=<folder with train.csv, test.csv>)" >&2
  exit 0
fi
.venv/bin/shipwise-data import table "$source_dir/train.csv" --test-file "$source_dir/test.csv" \
  --name banking77 --input-col text --output-col category --label-words \
  --sample train=1000,val=200,test=500 --seed 0 --out "$out/data" --conf-dir "$out/conf" --force
mkdir -p "$out/conf/strategy"
task=banking77
if [ "${HELDOUT:-0}" = 1 ]; then
  .venv/bin/python experiments/banking77/heldout.py --source "$source_dir/train.csv" --study "$out"
  task=banking77_heldout
fi
cp experiments/banking77/conf/strategy/recipe.yaml "$out/conf/strategy/recipe.yaml"
if [ "${STUDY:-0}" = 1 ]; then
  .venv/bin/shipwise -m --config-dir "$out/conf" task="$task" paths.data="$out/data" \
    eval_splits=[test] 'study.arms=[majority,knn,prompt,recipe]' "$@"
  exit 0
fi
.venv/bin/shipwise --config-dir "$out/conf" task="$task" paths.data="$out/data" \
  strategy=recipe eval_splits=[test] "$@"
