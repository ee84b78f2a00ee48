# Sourced by an experiment's run.sh: checks its dataset, then enters its project folder.
# usage: source experiments/project.sh NAME FILE-THE-DATASET-MUST-HAVE HINT
# Sets repo (the checkout), data (the dataset file's absolute path) and bin (the venv's bin),
# and leaves the shell in .shipwise/experiments/NAME, where shipwise finds ./conf without a flag.
# A missing dataset ends the script with status 0: experiments skip cleanly without it.
repo=$(pwd)
bin=$repo/.venv/bin
if [ ! -f "$2" ]; then
  echo "$1: the dataset is not at $2 ($3)" >&2
  exit 0
fi
data=$(realpath "$2")
mkdir -p ".shipwise/experiments/$1"
cd ".shipwise/experiments/$1"
