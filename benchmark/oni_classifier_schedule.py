"""How fast ONI's message classifier learns the shipped labels on ONI's training schedule, outside of RL: the labels of
`llm_outputs/oni/reference_labels.json` arrive in the table's order (most frequent messages first, roughly the order
in which play meets them), every 100 arrivals are one batch, and each batch triggers the script's own training round
(32 Adam steps of 256). After some batches, recall and precision of "helpful" (P(FOO) > 0.5) over all messages of the
table, the ones not seen yet included.

    python benchmark/oni_classifier_schedule.py                  # seed 1, 30 batches (the whole table)
    python benchmark/oni_classifier_schedule.py --seed 2 --report 5 10 20

It uses the training script's annotator (cached mode) and RewardModel, so it measures the code a run executes.
"""

import argparse
import runpy
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "algos" / "appo_oni_nethack.py"
TABLE = "llm_outputs/oni/reference_labels.json"

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=100, help="arrivals per batch (the script's --llm-batch-size)")
    parser.add_argument("--report", type=int, nargs="+", default=[1, 2, 3, 5, 10, 15, 20, 30],
                        help="batches after which to measure")
    args = parser.parse_args()
    oni = runpy.run_path(str(SCRIPT), run_name="oni_classifier_schedule")
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    annotator = oni["oni_annotator"]("cached", (TABLE,), batch_size=args.batch_size)
    model = oni["RewardModel"]("classification", annotator, oni["Args"](reward_model="classification"), torch.device("cpu"))
    messages = list(annotator.table)
    start = time.process_time()
    print(f"{len(messages)} labelled messages, {sum(annotator.table.values())} FOO; seed {args.seed}")
    print("| batches | labels arrived (FOO) | gradient steps | train loss | recall | precision | CPU s |")
    print("|---|---|---|---|---|---|---|")
    for batch in range(1, max(args.report) + 1):
        annotator.submit(messages[(batch - 1) * args.batch_size : batch * args.batch_size])
        model.update()
        if batch in args.report:
            recall, precision = model.recall_precision(annotator.table)
            print(f"| {batch} | {len(model.dataset)} ({sum(model.dataset.values())}) | {model.steps} | {model.loss:.3f} | "
                  f"{recall:.2f} | {precision:.2f} | {time.process_time() - start:.0f} |", flush=True)
