#!/usr/bin/env bash
# The DSTC8 bus-booking slots as a user's own JSON extraction task: converted to a table with a
# JSON slots column (to_table.py), imported in a project folder, then the study (majority, knn,
# prompt, finetune) with the fine-tune capped, and the ship decision. slot_f1 is the metric.
# Usage: bash experiments/dstc8_buses/run.sh [extra shipwise overrides]
# Reads ../shared/datasets/dstc8_buses (or $DSTC8); nothing from it is copied into the repo.
# Expect about an hour on a 2-core CPU (the README in this folder has the measured times).
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/project.sh dstc8_buses "${DSTC8:-../shared/datasets/dstc8_buses}/train.json" \
  "set DSTC8=<folder with train.json, test.json>"
"$bin/python" "$repo/experiments/dstc8_buses/to_table.py" --source "$(dirname "$data")" \
  --out buses.jsonl
"$bin/shipwise-data" import table buses.jsonl --name dstc8_buses \
  --input-col text --output-col slots --split-col split --keep-col requested \
  --keep-col turn_id --force
"$bin/shipwise-data" validate dstc8_buses || [ $? -eq 1 ]   # warnings (exit 1) do not stop it
"$bin/shipwise" -m task=dstc8_buses 'study.arms=[majority,knn,prompt,finetune]' \
  arms.backend.train_size=400 arms.backend.max_train_minutes=20 "$@"
