"""ShadowHandReOrientation is solvable: a cross-entropy search over left-hand finger keyframes, replayed from reset.

    python benchmark/reorientation_demo.py                       # seed 0, the first of 8 envs whose cube is ≥ 1 rad off
    python benchmark/reorientation_demo.py --seed 1 --max-angvel inf   # any speed: 2.5 rad, a fast roll

Only the second (left-hand) cube's rotation counts for a goal (see dexhands/tasks/reorientation.py). The demo env
(`--num-envs` envs, `--seed`) is reset and held still for `--settle` steps (zero actions: mid-range finger targets)
while the cubes fall into the palms; the first env whose left cube then lies at least `--min-start-distance` rad
from its goal is the target. The search copies that env's physics state into `--population` rows of a second env
and optimises `--keyframes` sets of 20 left-hand finger targets, each held `--hold` steps (right hand at zero), by
the cross-entropy method (benchmark/keyframe_search.py); a sample scores the smallest rotation distance its cube
reaches while it stays in the hand (centre above `--min-height`) and turns slower than `--max-angvel`, so that a
goal is approached under control rather than flicked past, and the search runs until one comes within
`--target-distance` (0.05 rad, half the goal tolerance). Samples are rounded to 3 decimals so that a printed sequence replays exactly.
The found sequence is then replayed in a fresh demo env from `env.reset()`, through `env.step` only (no state
copies), which must count a goal reached (`info["success"] >= 1`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro

import dexhands
from dexhands.rotations import rotation_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from keyframe_search import cross_entropy_search, format_keyframes, keyframe_index  # noqa: E402

TASK = "ShadowHandReOrientation"


@dataclass
class Args:
    seed: int = 0
    """seed of the demo env (its start states and goals) and of the search"""
    num_envs: int = 8
    """envs in the demo env; the target is one of them"""
    min_start_distance: float = 1.0
    """the target cube must lie this far (rad) from its goal after settling"""
    settle: int = 30
    """zero-action steps before the keyframes"""
    keyframes: int = 6
    """finger target sets of the left hand"""
    hold: int = 20
    """steps each keyframe is held"""
    min_height: float = 0.45
    """cube centre height (m) that counts as still in the hand (it rests at ≈ 0.52; the reset is at 0.2)"""
    max_angvel: float = 2.0
    """only distances reached while the cube turns slower than this (rad/s) score (inf: any speed)"""
    population: int = 128
    """samples per iteration"""
    elites: int = 16
    """best samples that refit the sampling distribution"""
    iterations: int = 25
    """at most this many iterations"""
    target_distance: float = 0.05
    """the search stops once a sample brings the cube this close (rad) to its goal (the goal tolerance is 0.1)"""
    init_std: float = 0.7
    """initial standard deviation of the finger targets (actions in [-1, 1])"""
    num_threads: int = 1
    """physics threads"""


def left_actions(num_envs: int, step: int, settle: int, hold: int, keys: torch.Tensor) -> torch.Tensor:
    """Zero actions while settling, then keyframe `(step - settle) // hold` on the left hand's 20 finger targets."""
    actions = torch.zeros(num_envs, 40)
    key = keyframe_index(step, settle, hold, keys.shape[1])
    if key is not None:
        actions[:, 20:] = keys[:, key]
    return actions


def settled_target(args: Args):
    """Demo env after settling: the target row, its physics state, sensors and goals, and its start distance."""
    env = dexhands.make(TASK, args.num_envs, seed=args.seed, num_threads=args.num_threads)
    env.reset()
    for _ in range(args.settle):
        env.step(torch.zeros(args.num_envs, 40))
    state = env.state
    dist = rotation_distance(state["object_another_rot"], state["goal_another_rot"])
    far = ((dist >= args.min_start_distance) & (env.successes == 0)).nonzero().flatten()
    if len(far) == 0:
        raise SystemExit(f"no env of seed {args.seed} settles ≥ {args.min_start_distance} rad from its goal")
    row = far[0].item()
    snapshot = (env.sim.state[row].copy(), env.sim.sensordata[row].copy(), env.goal_rot[row].clone())
    env.close()
    return row, snapshot, dist[row].item()


def search(args: Args, snapshot) -> tuple[torch.Tensor, float, int]:
    """Cross-entropy search from copies of the settled target state; returns the best keyframes and their score."""
    sim_state, sensordata, goal_rot = snapshot
    n, steps = args.population, args.keyframes * args.hold
    env = dexhands.make(TASK, n, seed=args.seed, num_threads=args.num_threads)
    env.reset()

    def evaluate(keys: torch.Tensor) -> torch.Tensor:
        env.sim.state[:] = sim_state  # search only: every row continues from the settled target state
        env.sim.sensordata[:] = sensordata
        env.goal_rot[:] = goal_rot
        env.progress_buf.fill_(args.settle)
        env.successes.zero_()
        env._state = env._read_state()
        score, held = torch.full((n,), float("inf")), torch.ones(n, dtype=torch.bool)
        for step in range(steps):
            _, _, _, _, info = env.step(left_actions(n, args.settle + step, args.settle, args.hold, keys))
            final = info["final_state"]
            held &= ~info["episode_end"] & (final["object_another_pos"][:, 2] > args.min_height)
            dist = rotation_distance(final["object_another_rot"], goal_rot[1].expand(n, 4))  # the target's goal
            slow = final["object_another_angvel"].norm(dim=-1) < args.max_angvel
            score = torch.where(held & slow, torch.minimum(score, dist), score)
        return score

    result = cross_entropy_search(
        evaluate, torch.zeros(args.keyframes, 20), torch.full((args.keyframes, 20), args.init_std),
        population=n, elites=args.elites, iterations=args.iterations, generator=torch.Generator().manual_seed(args.seed),
        done=lambda best: best < args.target_distance,
        report=lambda i, best, elite: print(f"iteration {i}: best {best:.3f} rad, elite mean {elite:.3f} rad"))
    env.close()
    return result


def replay(args: Args, row: int, keys: torch.Tensor):
    """Fresh demo env from reset, actions through env.step only; the target row's per-step record until its goal."""
    env = dexhands.make(TASK, args.num_envs, seed=args.seed, num_threads=args.num_threads)
    env.reset()
    goal = env.goal_rot[row, 1].clone()
    record = []
    for step in range(args.settle + args.keyframes * args.hold):
        _, _, _, _, info = env.step(left_actions(args.num_envs, step, args.settle, args.hold, keys.expand(args.num_envs,
                                                                                                          *keys.shape)))
        final = info["final_state"]
        dist = rotation_distance(final["object_another_rot"][row], goal).item()
        offset = (final["object_another_pos"][row] - final["goal_another_pos"][row]).norm().item()
        record.append((step, dist, final["object_another_pos"][row, 2].item(), offset, info["success"][row].item(),
                       info["episode_end"][row].item()))
        if info["success"][row] >= 1 or info["episode_end"][row]:
            break
    env.close()
    return record


if __name__ == "__main__":
    args = tyro.cli(Args)
    torch.set_num_threads(1)
    start = time.time()
    row, snapshot, start_dist = settled_target(args)
    print(f"seed {args.seed}: env {row} of {args.num_envs}, left cube {start_dist:.3f} rad from its goal after "
          f"{args.settle} still steps")
    keys, score, iterations = search(args, snapshot)
    print(f"search: {iterations} iterations × {args.population} samples, best {score:.3f} rad, "
          f"{time.time() - start:.0f} s")
    record = replay(args, row, keys)
    for step, dist, height, offset, success, _ in record:
        if step % 10 == 9 or success:
            print(f"step {step + 1:3d}: rotation distance {dist:.3f} rad, cube height {height:.3f} m, "
                  f"{100 * offset:.1f} cm from its start, goals {success:.0f}")
    step, _, _, _, success, ended = record[-1]
    print(f"replay from reset: goals reached {success:.0f} at step {step + 1}, episode ended {bool(ended)}, "
          f"cube height ≥ {min(r[2] for r in record):.3f} m, ≤ {100 * max(r[3] for r in record):.1f} cm from its start")
    print("keyframes (left-hand finger targets, one row per keyframe):")
    print(format_keyframes(keys))
    assert success >= 1, "the replay did not reach the goal"
