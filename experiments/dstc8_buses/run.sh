#!/usr/bin/env bash
# The DSTC8 bus-booking slots as a user's own extraction task: the files as they ship (each turn
# a text and labelled spans into it) imported with --spans-col in a project folder, then the
# study (majority, knn, prompt, finetune) with the fine-tune capped, and the ship decision.
# slot_f1 is the metric.
# Usage: bash experiments/dstc8_buses/run.sh [extra shipwise overrides]
# Reads ../shared/datasets/dstc8_buses (or $DSTC8); nothing from it is copied into the repo.
# Expect about 12 minutes on a 2-core CPU (the README in this folder has the measured times).
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/project.sh dstc8_buses "${DSTC8:-../shared/datasets/dstc8_buses}/train.json" \
  "set DSTC8=<folder with train.json, test.json>"
"$bin/shipwise-data" import table "$data" --test-file "$(dirname "$data")/test.json" \
  --name dstc8_buses --input-col userInput.text --spans-col labels \
  --keep-col context.requestedSlots --force
"$bin/shipwise-data" validate dstc8_buses || [ $? -eq 1 ]   # warnings (exit 1) do not stop it
"$bin/shipwise" -m task=dstc8_buses 'study.arms=[majority,knn,prompt,finetune]' \
  arms.backend.train_size=400 arms.backend.max_train_minutes=20 "$@"
