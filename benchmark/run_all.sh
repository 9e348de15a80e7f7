#!/usr/bin/env bash
# Runs the benchmark (methods x tasks x arms x seeds) at a named budget, then writes the report.
#
#   bash benchmark/run_all.sh                         # budget `cpu` (no GPU) or `paper` (a GPU is visible)
#   bash benchmark/run_all.sh --budget smoke          # minutes: checks that everything runs
#   bash benchmark/run_all.sh --experiments progresscounts oni --seeds 1 2 3 --workers 2 --threads-per-run 1
#   bash benchmark/run_all.sh --dry-run               # print the commands only
#   bash benchmark/run_all.sh --slurm-template benchmark/slurm_template.sbatch   # write sbatch files instead
#
# Finished runs (a summary.json in their folder) are skipped, so re-running resumes an interrupted sweep.
# Every option is passed to benchmark/sweep.py (see `python benchmark/sweep.py --help`); the report is written to
# benchmark/results/<budget>/ by benchmark/report.py.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

budget=""
report_args=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[$i]}" in
        --budget) budget="${args[$((i + 1))]}" ;;
        --experiments) j=$((i + 1)); report_args+=(--experiments)
            while ((j < ${#args[@]})) && [[ "${args[$j]}" != --* ]]; do report_args+=("${args[$j]}"); j=$((j + 1)); done ;;
        --runs-root) report_args+=(--runs-root "${args[$((i + 1))]}") ;;
        --dry-run | --slurm-template) no_report=1 ;;
    esac
done
if [[ -z "$budget" ]]; then
    if "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then budget=paper; else budget=cpu; fi
    args+=(--budget "$budget")
fi

status=0
"$PYTHON" benchmark/sweep.py "${args[@]}" || status=$?
if [[ -z "${no_report:-}" ]]; then
    "$PYTHON" benchmark/report.py --budget "$budget" "${report_args[@]}" --results-root "${RESULTS_ROOT:-benchmark/results}"
fi
exit $status
