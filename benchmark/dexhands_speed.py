"""dexhands CPU throughput: env steps/s per task with random actions, against the raw single-thread physics rate.

    python benchmark/dexhands_speed.py                       # five tasks, 256 and 2048 envs
    python benchmark/dexhands_speed.py --tasks ShadowHandOver --num-envs 64 --steps 20

efficiency = env steps/s × physics steps per env step ÷ raw single-thread mj_step rate of the same model on the
same workload (physics states recorded from the env run, replayed in a plain single-thread loop): the speed-up over
one core running bare physics (ideal = number of cores, minus the env's own overhead).
The alternative to mujoco.rollout (a Python thread pool over chunks of MjData calling mj_step) is timed on
raw physics too, to justify the choice of backend.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import mujoco
import numpy as np
import torch
import tyro

import dexhands
from dexhands.env import SUBSTEPS

ISAAC_GYM_FPS = 35_000  # Bi-DexHands paper, PPO on an RTX 3090 with 2048 envs (≈35.2-35.6 k for the catch tasks)


@dataclass
class Args:
    tasks: list[str] = field(default_factory=lambda: list(dexhands.TASKS))
    """tasks to time"""
    num_envs: list[int] = field(default_factory=lambda: [256, 2048])
    """batch sizes to time"""
    steps: int = 50
    """timed env steps per configuration (after 3 warm-up steps)"""
    raw_rows: int = 32
    """envs per step whose physics states are replayed single-threaded for the reference rate"""
    compare_thread_pool: bool = True
    """also time a Python thread pool over MjData chunks (raw physics, same number of envs)"""


def raw_physics_rate(model: mujoco.MjModel, samples: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """Single-thread mj_step rate on the env's own workload: physics states, controls and base forces recorded
    during the env run are replayed one by one in a plain loop; only the mj_step calls are timed."""
    data = mujoco.MjData(model)
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    elapsed, count = 0.0, 0
    for state, ctrl, qfrc in samples:
        mujoco.mj_setState(model, data, state, spec)
        data.ctrl[:], data.qfrc_applied[:] = ctrl, qfrc
        start = time.perf_counter()
        for _ in range(SUBSTEPS):
            mujoco.mj_step(model, data)
        elapsed += time.perf_counter() - start
        count += SUBSTEPS
    return count / elapsed


def thread_pool_rate(model: mujoco.MjModel, num_envs: int, steps: int) -> float:
    """Physics steps/s of a ThreadPoolExecutor over chunks of MjData (mj_step releases the GIL)."""
    threads = os.cpu_count() or 1
    num_envs = min(num_envs, 256)  # enough to fill the threads; bounds memory
    datas = [mujoco.MjData(model) for _ in range(num_envs)]
    chunks = [datas[i::threads] for i in range(threads)]

    def run(chunk):
        for data in chunk:
            for _ in range(SUBSTEPS):
                mujoco.mj_step(model, data)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, chunks))
        start = time.perf_counter()
        for _ in range(steps):
            list(pool.map(run, chunks))
        return steps * num_envs * SUBSTEPS / (time.perf_counter() - start)


def env_rate(task: str, num_envs: int, steps: int, rows_per_step: int) -> tuple[float, mujoco.MjModel, list]:
    """Env steps/s of the full env (physics on all cores + observations, rewards, resets), and a sample of the
    physics states it stepped through (taken from a second, untimed pass with the same seed and actions)."""
    generator = torch.Generator().manual_seed(0)
    env = dexhands.make(task, num_envs)
    actions = [torch.rand(num_envs, env.act_dim, generator=generator) * 2 - 1 for _ in range(steps + 3)]
    env.reset()
    for a in actions[:3]:
        env.step(a)
    start = time.perf_counter()
    for a in actions[3:]:
        env.step(a)
    rate = steps * num_envs / (time.perf_counter() - start)
    env.close()

    env = dexhands.make(task, num_envs)
    env.reset()
    rows = np.random.default_rng(0).choice(num_envs, size=min(rows_per_step, num_envs), replace=False)
    samples = []
    original_step = env.sim.step

    def recording_step():
        samples.extend((env.sim.state[r].copy(), env.sim.ctrl[r].copy(), env.sim.qfrc[r].copy()) for r in rows)
        original_step()

    env.sim.step = recording_step
    for a in actions:
        env.step(a)
    model = env.scene.model
    env.close()
    return rate, model, samples


def main(args: Args) -> None:
    print(f"cores: {os.cpu_count()}, mujoco {mujoco.__version__}, torch threads {torch.get_num_threads()}")
    print(f"{'task':30s} {'envs':>6s} {'env steps/s':>12s} {'raw 1-thread':>13s} {'efficiency':>10s} {'vs Isaac':>9s}"
          + ("  thread-pool phys/s" if args.compare_thread_pool else ""))
    for task in args.tasks:
        for num_envs in args.num_envs:
            rate, model, samples = env_rate(task, num_envs, args.steps, args.raw_rows)
            raw = raw_physics_rate(model, samples)
            efficiency = rate * SUBSTEPS / raw
            line = f"{task:30s} {num_envs:6d} {rate:12.0f} {raw:13.0f} {efficiency:10.2f} {rate / ISAAC_GYM_FPS:9.3f}"
            if args.compare_thread_pool:
                line += f"  {thread_pool_rate(model, num_envs, max(2, args.steps // 5)):18.0f}"
            print(line, flush=True)
    print(f"Isaac Gym reference: ~{ISAAC_GYM_FPS} env steps/s (Bi-DexHands paper, RTX 3090, 2048 envs).")


if __name__ == "__main__":
    main(tyro.cli(Args))
