"""Throughput of algos/appo_oni_nethack.py: environment steps per second of the whole APPO system (actors + learner +
reward model) with --reward-model none and with each ONI variant, cached labels (no network), default networks.

    python benchmark/oni_speed.py                          # all variants, 30k steps each
    python benchmark/oni_speed.py --steps 100000 --num-workers 16 --out benchmark/results/oni_speed.json

Each variant is one fresh training run in a subprocess; the number reported is the run's own SPS from summary.json
(steps after the first update / wall time), plus the raw NLE random-action speed of one process for scale.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "algos" / "appo_oni_nethack.py"


def nle_random_sps(seconds=5.0):
    """Single-process NLE speed with random actions over the extended action set (pitfall K: most do not advance game
    time, so this is an upper bound on stepping, not on play)."""
    import runpy

    import numpy as np

    oni = runpy.run_path(str(SCRIPT), run_name="oni_speed")
    env = oni["make_env"]("NetHackScoreExtendedActions-v1")
    env.reset()
    rng = np.random.default_rng(0)
    n_actions = len(oni["extended_actions"]())
    steps, start = 0, time.time()
    while time.time() - start < seconds:
        _, _, term, trunc, _ = env.step(int(rng.integers(n_actions)))
        steps += 1
        if term or trunc:
            env.reset()
    return steps / (time.time() - start)


def run_variant(reward_model, steps, extra):
    with tempfile.TemporaryDirectory() as runs:
        cmd = [sys.executable, str(SCRIPT), "--runs-dir", runs, "--reward-model", reward_model,
               "--total-timesteps", str(steps), *extra]
        start = time.time()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.time() - start
        (run_dir,) = Path(runs).iterdir()
        summary = json.loads((run_dir / "summary.json").read_text())
    return {"reward_model": reward_model, "steps": summary["global_step"], "sps": round(summary["sps"], 1),
            "wall_s_with_startup": round(wall, 1), "policy_lag_mean": round(summary["policy_lag_mean"], 2),
            "labels": summary["labels"]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--variants", nargs="+", default=["none", "retrieval", "classification", "ranking"])
    parser.add_argument("--num-workers", type=int, default=0, help="actor processes (0: one per core)")
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    parser.add_argument("extra", nargs="*", help="further flags for the training script (after --)")
    args = parser.parse_args()
    extra = ["--num-workers", str(args.num_workers), *args.extra]
    rows = [run_variant(v, args.steps, extra) for v in args.variants]
    raw = nle_random_sps()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; NLE random actions, one "
          f"process: {raw:.0f} steps/s")
    print("| reward model | env steps/s | mean policy lag | labels | wall (s, incl. start-up) |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['reward_model']} | {r['sps']:.0f} | {r['policy_lag_mean']} | {r['labels']} | {r['wall_s_with_startup']} |")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"cpu_count": os.cpu_count(), "nle_random_sps": raw, "steps": args.steps,
                                              "extra": extra, "rows": rows}, indent=1) + "\n")
