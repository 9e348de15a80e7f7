"""Training speed (SPS of the updating phase, evaluation excluded) of algos/td3_lare_mujoco.py per reward model, e.g. the cost of LaRe over
plain TD3 on the episodic reward. Runs each model `--repeats` times, interleaved, and prints a Markdown table.

    python benchmark/td3_speed.py --env-id HalfCheetah-v5 --total-timesteps 15000 --learning-starts 5000
"""

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tyro

SCRIPT = Path(__file__).resolve().parent.parent / "algos" / "td3_lare_mujoco.py"


@dataclass
class Args:
    env_id: str = "HalfCheetah-v5"
    """the environment"""
    models: list[str] = field(default_factory=lambda: ["none", "lare"])
    """reward models to time; the first one is the baseline of the ratio"""
    total_timesteps: int = 15_000
    """steps per run"""
    learning_starts: int = 5_000
    """random steps before updates start (a tenth of the default budget keeps the run short)"""
    repeats: int = 2
    """runs per model, interleaved so that machine load hits all models alike"""
    torch_threads: int = 0
    """passed to the script (0: torch's default)"""
    extra: str = ""
    """further arguments for the script, e.g. '--cuda'"""


if __name__ == "__main__":
    args = tyro.cli(Args)
    sps = {m: [] for m in args.models}
    with tempfile.TemporaryDirectory() as runs:
        for r in range(args.repeats):
            for m in args.models:
                cmd = [sys.executable, str(SCRIPT), "--env-id", args.env_id, "--reward-model", m,
                       "--total-timesteps", str(args.total_timesteps), "--learning-starts", str(args.learning_starts),
                       "--eval-frequency", str(args.total_timesteps), "--eval-episodes", "1", "--seed", str(r + 1),
                       "--torch-threads", str(args.torch_threads), "--runs-dir", runs, *args.extra.split()]
                subprocess.run(cmd, check=True, capture_output=True)
                (summary,) = Path(runs).glob(f"*__{r + 1}__*/summary.json")
                sps[m].append(json.loads(summary.read_text())["sps_updating"])
                summary.parent.rename(summary.parent.with_name(f"done_{m}_{r}"))
                print(f"{m} run {r}: {sps[m][-1]:.0f} SPS", flush=True)
    base = statistics.mean(sps[args.models[0]])
    print(f"\n{args.env_id}, {args.total_timesteps} steps ({args.learning_starts} random), torch threads {args.torch_threads}\n")
    print("| reward model | SPS (mean of runs) | runs | time vs " + args.models[0] + " |\n|-|-|-|-|")
    for m in args.models:
        print(f"| {m} | {statistics.mean(sps[m]):.0f} | {', '.join(f'{s:.0f}' for s in sps[m])} | {base / statistics.mean(sps[m]):.2f}x |")
