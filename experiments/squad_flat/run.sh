#!/usr/bin/env bash
# SQuAD dev as a flat table (question, context, title, answer, split) imported as a user would:
# the paragraphs become documents (one per article title), each question names its document,
# and the RAG arm runs with recall@k logged. Everything happens in a project folder,
# .shipwise/experiments/squad_flat, and the commands there need no --config-dir.
# Usage: bash experiments/squad_flat/run.sh [extra shipwise overrides]
#        QUESTIONS=1200 LIMIT=100 bash experiments/squad_flat/run.sh
# Reads ../shared/datasets/squad_v1.1_dev (or $SQUAD); nothing from it is copied into the repo.
set -euo pipefail
cd "$(dirname "$0")/../.."
source experiments/project.sh squad_flat "${SQUAD:-../shared/datasets/squad_v1.1_dev}/dev-v1.1.json" \
  "set SQUAD=<folder with dev-v1.1.json>"
"$bin/python" "$repo/experiments/squad_flat/flatten.py" --source "$data" \
  --out squad_flat.csv --questions "${QUESTIONS:-1200}" --seed 0
"$bin/shipwise-data" import table squad_flat.csv --name squad_flat \
  --input-col question --output-col answer --output-kind text \
  --split-col split --docs-col context --doc-id-col title --force
"$bin/shipwise-data" validate squad_flat || [ $? -eq 1 ]   # warnings (exit 1) do not stop it
"$bin/shipwise" task=squad_flat strategy=rag limit="${LIMIT:-100}" \
  eval_splits=[test] "$@"
