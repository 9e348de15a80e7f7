"""dexhands on MuJoCo Warp: env steps/s per task at GPU batch sizes, random actions, automatic resets included.

    python benchmark/dexhands_warp_speed.py                     # CUDA: every task at 4096 and 16384 envs
    python benchmark/dexhands_warp_speed.py --tasks ShadowHandOver --num-envs 8192 --steps 200
    python benchmark/dexhands_warp_speed.py --device cpu        # no GPU: a tiny run that proves the path works

The timed steps are the whole env step (actions in, physics as one CUDA graph, state, observations, rewards,
resets out), with the actions already on the device and one synchronisation at each end of the timed loop.
Set-up (first Warp compile, cached in WARP_CACHE_PATH afterwards) and the warm-up steps (which capture the CUDA
graphs) are timed separately. The Bi-DexHands paper reports ~35 k env steps/s for Isaac Gym PPO on an RTX 3090
with 2048 envs; the CPU backend's numbers are in benchmark/dexhands_speed.py.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro

import dexhands
from dexhands.env import SUBSTEPS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dexhands_speed import ISAAC_GYM_FPS  # noqa: E402


@dataclass
class Args:
    tasks: list[str] | None = None
    """tasks to time (default: every task on CUDA, ShadowHandOver on the CPU)"""
    num_envs: list[int] | None = None
    """batch sizes (default: 4096 and 16384 on CUDA, 2 on the CPU)"""
    steps: int | None = None
    """timed env steps per configuration (default: 100 on CUDA, 3 on the CPU)"""
    warmup: int = 3
    """untimed steps first (the first two capture the CUDA graphs)"""
    device: str = "cuda" if torch.cuda.is_available() else "cpu"
    """torch device; Warp runs on the same device"""
    seed: int = 0
    """env and action seed"""


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_task(task: str, num_envs: int, steps: int, warmup: int, device: torch.device, seed: int) -> dict:
    start = time.perf_counter()
    env = dexhands.make(task, num_envs, device=device, backend="warp", seed=seed)
    env.reset()
    sync(device)
    setup_s = time.perf_counter() - start
    generator = torch.Generator(device=device).manual_seed(seed)
    actions = torch.rand(warmup + steps, num_envs, env.act_dim, generator=generator, device=device) * 2 - 1
    start = time.perf_counter()
    for a in actions[:warmup]:
        env.step(a)
    sync(device)
    warmup_s = time.perf_counter() - start
    episodes = torch.zeros((), device=device)
    start = time.perf_counter()
    for a in actions[warmup:]:
        _, _, terminated, truncated, _ = env.step(a)
        episodes += (terminated | truncated).sum()
    sync(device)
    elapsed = time.perf_counter() - start
    env.close()
    return {"setup_s": setup_s, "warmup_s": warmup_s, "rate": steps * num_envs / elapsed,
            "episodes": int(episodes.item())}


def main(args: Args) -> None:
    device = torch.device(args.device)
    on_gpu = device.type == "cuda"
    tasks = args.tasks or (list(dexhands.TASKS) if on_gpu else ["ShadowHandOver"])
    sizes = args.num_envs or ([4096, 16384] if on_gpu else [2])
    steps = args.steps or (100 if on_gpu else 3)
    name = torch.cuda.get_device_name(device) if on_gpu else "CPU (Warp runs single-threaded here: a smoke run)"
    print(f"device: {name}, torch {torch.__version__}, {steps} timed steps after {args.warmup} warm-up steps")
    print(f"{'task':30s} {'envs':>6s} {'env steps/s':>12s} {'physics/s':>12s} {'vs Isaac':>9s} {'set-up s':>9s} "
          f"{'warm-up s':>9s} {'episodes':>8s}")
    for task in tasks:
        for num_envs in sizes:
            try:
                r = time_task(task, num_envs, steps, args.warmup, device, args.seed)
            except (RuntimeError, MemoryError) as e:  # out of device memory, buffer overflow: report and go on
                print(f"{task:30s} {num_envs:6d} failed: {str(e).splitlines()[0][:120]}", flush=True)
                continue
            print(f"{task:30s} {num_envs:6d} {r['rate']:12.0f} {r['rate'] * SUBSTEPS:12.0f} "
                  f"{r['rate'] / ISAAC_GYM_FPS:9.3f} {r['setup_s']:9.1f} {r['warmup_s']:9.1f} {r['episodes']:8d}",
                  flush=True)
    print(f"Isaac Gym reference: ~{ISAAC_GYM_FPS} env steps/s (Bi-DexHands paper, RTX 3090, 2048 envs).")


if __name__ == "__main__":
    main(tyro.cli(Args))
