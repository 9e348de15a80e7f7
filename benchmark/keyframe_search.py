"""Cross-entropy search over keyframes of actions, shared by the solvability demos of the dexhands tasks.

A candidate is a (keyframes, action dims) array in [-1, 1], each keyframe held for a number of env steps; a batched
env scores a whole population at once (one candidate per env row). Samples are rounded to 3 decimals so that a
printed sequence replays exactly, and the best sequence so far is re-scored in every iteration (the rollouts are
deterministic), so the best score never gets worse.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

import dexhands


def keyframe_index(step: int, start: int, hold: int, keyframes: int) -> int | None:
    """Keyframe that acts at `step` (None before `start`; the last one is held once the sequence has run out)."""
    if step < start:
        return None
    return min((step - start) // hold, keyframes - 1)


def cross_entropy_search(evaluate: Callable[[torch.Tensor], torch.Tensor], mean: torch.Tensor, std: torch.Tensor, *,
                         population: int, elites: int, iterations: int, generator: torch.Generator,
                         min_std: float = 0.05, done: Callable[[float], bool] | None = None,
                         report: Callable[[int, float, float], None] | None = None) -> tuple[torch.Tensor, float, int]:
    """Minimise `evaluate` (population × keyframes × dims -> population scores) over keyframe sequences.

    Each iteration samples `population` sequences around `mean` with per-entry `std`, keeps the sequence scored best
    so far in row 0, and refits mean and std to the `elites` best (std floored at `min_std` so that the search keeps
    exploring). Stops after `iterations` or once `done(best score)`; `report(iteration, best, elite mean)` is called
    after every iteration. Returns the best sequence, its score and the number of iterations run.
    """
    best_keys, best_score = mean.clone(), float("inf")
    for iteration in range(iterations):
        keys = (mean + std * torch.randn(population, *mean.shape, generator=generator)).clamp(-1, 1).round(decimals=3)
        keys[0] = best_keys
        score = evaluate(keys)
        order = score.argsort()
        elite = keys[order[:elites]]
        mean, std = elite.mean(0), elite.std(0).clamp(min=min_std)
        best_keys, best_score = keys[order[0]].clone(), score[order[0]].item()
        if report is not None:
            report(iteration, best_score, score[order[:elites]].mean().item())
        if done is not None and done(best_score):
            break
    return best_keys, best_score, iteration + 1


def format_keyframes(keys: torch.Tensor) -> str:
    """Keyframes as a nested list literal, one row per keyframe, ready to paste into a test."""
    return "[" + ",\n ".join("[" + ", ".join(f"{v:.3f}" for v in k.tolist()) + "]" for k in keys) + "]"


def reset_snapshot(task: str, num_envs: int, seed: int, num_threads: int) -> tuple[np.ndarray, np.ndarray]:
    """Physics states and sensors of a demo env's `num_envs` envs right after `env.reset()`: the starts."""
    env = dexhands.make(task, num_envs, seed=seed, num_threads=num_threads)
    env.reset()
    snapshot = (env.sim.state.copy(), env.sim.sensordata.copy())
    env.close()
    return snapshot


def restart_rows(env, snapshot: tuple[np.ndarray, np.ndarray]) -> None:
    """Put the rows of a search env back at the starts, cycling through them (sample p from start e in row
    p · starts + e), with cleared episode counters and success flags. Search only: it bypasses `env.reset()`."""
    copies = env.num_envs // len(snapshot[0])
    env.sim.state[:] = np.tile(snapshot[0], (copies, 1))
    env.sim.sensordata[:] = np.tile(snapshot[1], (copies, 1))
    env.progress_buf.zero_()
    env.successes.zero_()
    env._state = env._read_state()
