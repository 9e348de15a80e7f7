"""Training speed of algos/td3_lare_mujoco.py against CleanRL's own `td3_continuous_action.py`, on the same machine,
in the same run (interleaved, so machine load hits every variant alike).

CleanRL is not a dependency: check it out anywhere and point `--cleanrl-dir` at it (its script needs only
torch, gymnasium, tyro and tensorboard, which are installed here). It is run unmodified, through a shim for
gymnasium 1.x: CleanRL's script expects the 0.29-style same-step autoreset and `infos["final_observation"]`; the
shim builds its vector env with `AutoresetMode.SAME_STEP`, renames `final_obs` to `final_observation` and drops
`final_info` (its episode logging is irrelevant to a speed test). SPS is each script's own figure: env steps
over wall time since the start of training (ours excludes evaluation, which is disabled here anyway).

    git clone <cleanrl repository> /somewhere/cleanrl
    python benchmark/td3_vs_cleanrl.py --cleanrl-dir /somewhere/cleanrl --total-timesteps 12000 --learning-starts 2000
"""

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import tyro
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

OURS = Path(__file__).resolve().parent.parent / "algos" / "td3_lare_mujoco.py"

SHIM = """
import runpy, sys
import gymnasium as gym
import torch
cleanrl_dir, threads, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
sys.path.insert(0, cleanrl_dir)
if threads > 0:
    torch.set_num_threads(threads)

class SameStepSyncVectorEnv(gym.vector.SyncVectorEnv):
    def __init__(self, env_fns, **kwargs):
        super().__init__(env_fns, autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, **kwargs)

    def step(self, actions):
        obs, rewards, terminations, truncations, infos = super().step(actions)
        if "final_obs" in infos:
            infos["final_observation"] = infos.pop("final_obs")
        infos.pop("final_info", None)
        return obs, rewards, terminations, truncations, infos

gym.vector.SyncVectorEnv = SameStepSyncVectorEnv
script = cleanrl_dir + "/cleanrl/td3_continuous_action.py"
sys.argv = [script, *argv]
runpy.run_path(script, run_name="__main__")
"""


@dataclass
class Args:
    cleanrl_dir: str
    """a checkout of the CleanRL repository"""
    env_id: str = "HalfCheetah-v5"
    """the environment"""
    total_timesteps: int = 12_000
    """steps per run"""
    learning_starts: int = 2_000
    """random steps before updates start"""
    repeats: int = 2
    """runs per variant, interleaved"""
    torch_threads: int = 1
    """torch threads for every variant (0: torch's default)"""
    ours: list[str] = field(default_factory=lambda: ["none", "lare"])
    """reward models of our script to time"""


def cleanrl_sps(args: Args, workdir: Path, seed: int) -> float:
    cmd = [sys.executable, "-c", SHIM, args.cleanrl_dir, str(args.torch_threads), "--env-id", args.env_id,
           "--total-timesteps", str(args.total_timesteps), "--learning-starts", str(args.learning_starts),
           "--seed", str(seed), "--no-cuda"]
    subprocess.run(cmd, check=True, capture_output=True, cwd=workdir)
    run_dir = max((workdir / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return acc.Scalars("charts/SPS")[-1].value


def our_sps(args: Args, workdir: Path, model: str, seed: int) -> float:
    cmd = [sys.executable, str(OURS), "--env-id", args.env_id, "--reward-model", model,
           "--total-timesteps", str(args.total_timesteps), "--learning-starts", str(args.learning_starts),
           "--eval-frequency", str(10 * args.total_timesteps), "--eval-episodes", "1", "--seed", str(seed),
           "--torch-threads", str(args.torch_threads), "--runs-dir", str(workdir / "ours"), "--no-cuda"]
    subprocess.run(cmd, check=True, capture_output=True)
    summary = max((workdir / "ours").glob("*/summary.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(summary.read_text())["sps"]


if __name__ == "__main__":
    args = tyro.cli(Args)
    variants = ["cleanrl"] + [f"ours-{m}" for m in args.ours]
    sps: dict[str, list[float]] = {v: [] for v in variants}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for r in range(args.repeats):
            for v in variants:
                value = cleanrl_sps(args, workdir, r + 1) if v == "cleanrl" else our_sps(args, workdir, v[5:], r + 1)
                sps[v].append(value)
                print(f"{v} run {r}: {value:.0f} SPS", flush=True)
    base = statistics.mean(sps["cleanrl"])
    print(f"\n{args.env_id}, {args.total_timesteps} steps ({args.learning_starts} random), torch threads {args.torch_threads}\n")
    print("| variant | SPS (mean) | runs | speed vs CleanRL |\n|-|-|-|-|")
    for v in variants:
        mean = statistics.mean(sps[v])
        print(f"| {v} | {mean:.0f} | {', '.join(f'{s:.0f}' for s in sps[v])} | {mean / base:.2f}x |")
