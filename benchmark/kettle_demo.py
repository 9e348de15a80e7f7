"""ShadowHandKettle is solvable: a cross-entropy search over a keyframed right-hand script, replayed from reset.

    python benchmark/kettle_demo.py              # seed 0
    python benchmark/kettle_demo.py --seed 1     # another reset state and search

The right hand (beside the kettle's handle) first slides its straight fingers through the handle loop (scripted, the
first 30 steps: palm 11 cm behind the loop, then beside it). Then `--keyframes` keyframes, each held `--hold` steps
(the last one until the episode's 125 steps are up), set 8 numbers each: the palm's target offset from where it
entered the loop (x ±0.15, y ±0.4, z ±0.4 m, reached by a clipped proportional force), the hand's torque (±0.6 per
axis), the bend of the four fingers' knuckles and of their middle and end joints: 40 numbers in all. (The BottleCap
demo searches raw 52-D actions; here the force follows a target, so that the hand keeps carrying the kettle's load
whatever the search tries.) The left hand backs away to `LEFT_PARK`, so that the right hand, carrying the kettle
over the bucket, does not pass through it; the bucket is left where it stands.

The cross-entropy method (benchmark/keyframe_search.py) minimises the task's success measure, the smallest
spout-to-bucket-bottom distance before any reset, from copies of the demo env's reset states (`--num-envs` starts,
the hands' joints start randomised; a sample's score is the mean), and stops once a sample gets within
`--target-distance` from every start. Distances count only until the hands first overlap by more than
`--max-hand-overlap` (Kettle's hands do not collide with each other, as in the original; see
benchmark/hand_overlap.py). The found keyframes are
replayed in a fresh demo env from `env.reset()`, through `env.step` only, which must count a success
(`info["success"]`) in every env; the replay also reports the kettle's and the bucket's tilt at the success, how
many of the 30 water balls were in the bucket at the episode's last step and the hands' deepest overlap.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import tyro

import dexhands
from dexhands.container_props import BUCKET_SIZE
from dexhands.kettle_props import WATER_BALLS
from dexhands.rotations import quat_apply, quat_conjugate
from dexhands.tasks.kettle import POUR_DISTANCE

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hand_overlap import HandOverlap  # noqa: E402
from keyframe_search import (  # noqa: E402
    cross_entropy_search,
    format_keyframes,
    keyframe_index,
    reset_snapshot,
    restart_rows,
)

TASK = "ShadowHandKettle"
ENTER_STEPS = 30  # scripted: fingers into the handle loop
APPROACH_STEPS = 15  # ... of which the first ones with the palm behind the loop
LEFT_PARK = (0.40, -0.35, 0.62)  # left palm target: 22 cm further from the table than it starts, beyond the bucket
LOOP_PALM = (0.03, 0.11, 0.49)  # palm centre beside the handle point (0, 0.15, 0.49), fingers through the loop
BEHIND = 0.11  # the approach starts this far behind the loop (+x)
POSITION_GAIN = 10.0  # force action per metre of error ...
MAX_FORCE = 0.5  # ... clipped
KEY_SCALE = (0.15, 0.4, 0.4, 0.6, 0.6, 0.6, 1.0, 1.0)  # a keyframe in [-1, 1]^8 times this
STRAIGHT = torch.full((20,), -1.0)  # finger targets: straight fingers ...
STRAIGHT[[0, 1, 2, 5, 8, 12]] = 0.0  # ... wrist and abduction centred ...
STRAIGHT[15:20] = torch.tensor([1.0, -1.0, 0.0, 0.0, -1.0])  # ... thumb out of the palm, in the fingers' plane
KNUCKLES = [3, 6, 9, 13]  # the four fingers' base flexion (first, middle, ring, little)
FINGER_ENDS = [4, 7, 10, 14]  # their coupled middle and end joints


@dataclass
class Args:
    seed: int = 0
    """seed of the demo env (its reset states) and of the search"""
    num_envs: int = 1
    """envs in the demo env: their reset states are the starts that every sample is scored from (its score is the
    mean), and the replay must succeed in each of them"""
    keyframes: int = 5
    """keyframes after the scripted entry into the handle loop"""
    hold: int = 19
    """steps each keyframe is held (the last one until the episode ends)"""
    population: int = 96
    """samples per iteration"""
    elites: int = 12
    """best samples that refit the sampling distribution"""
    iterations: int = 30
    """at most this many iterations"""
    target_distance: float = 0.04
    """the search stops once a sample brings the spout this close to the bucket's bottom (success: < 0.05 m)"""
    max_hand_overlap: float = 0.005
    """distances count only until the two hands first overlap by more than this (m)"""
    init_std: float = 0.5
    """initial standard deviation of the keyframe entries (in [-1, 1])"""
    num_threads: int = 1
    """physics threads"""


def initial_keyframes(keyframes: int) -> torch.Tensor:
    """The search's starting mean: lift and carry the kettle towards the bucket (-y), roll it spout-down (+x torque),
    knuckles straight and finger ends bent round the handle bar."""
    mean = torch.zeros(keyframes, len(KEY_SCALE))
    for k in range(keyframes):
        offset = torch.tensor([0.0, -min(0.3, 0.1 * k), min(0.3, 0.15 + 0.05 * k)])
        mean[k, :3] = offset / torch.tensor(KEY_SCALE[:3])
        mean[k, 3] = 0.5
        mean[k, 6:8] = torch.tensor([-1.0, 1.0])
    return mean


def script_actions(keys: torch.Tensor, state: dict[str, torch.Tensor], step: int, hold: int) -> torch.Tensor:
    """52-D actions at `step` for a batch of keyframe sequences (batch × keyframes × 8): the right hand's script and
    the left hand's retreat (its fingers keep their targets at 0)."""
    n = keys.shape[0]
    actions = torch.zeros(n, 52)
    fingers = STRAIGHT.repeat(n, 1)
    target = torch.tensor(LOOP_PALM).expand(n, 3)
    key = keyframe_index(step, ENTER_STEPS, hold, keys.shape[1])
    if key is None:
        target = target + torch.tensor([BEHIND if step < APPROACH_STEPS else 0.0, 0.0, 0.0])
    else:
        k = keys[:, key] * torch.tensor(KEY_SCALE)
        target = target + k[:, :3]
        actions[:, 3:6] = k[:, 3:6]
        fingers[:, KNUCKLES] = k[:, 6:7]
        fingers[:, FINGER_ENDS] = k[:, 7:8]
    actions[:, 0:3] = (POSITION_GAIN * (target - state["right_hand_pos"])).clamp(-MAX_FORCE, MAX_FORCE)
    actions[:, 6:26] = fingers
    park = torch.tensor(LEFT_PARK) - state["left_hand_pos"]
    actions[:, 26:29] = (POSITION_GAIN * park).clamp(-MAX_FORCE, MAX_FORCE)
    return actions


def pour_distance(state: dict[str, torch.Tensor]) -> torch.Tensor:
    """The task's success measure: spout mouth to the centre of the bucket's bottom (m)."""
    return torch.norm(state["bucket_handle_pos"] - state["kettle_spout_pos"], dim=-1)


def tilt_degrees(rot: torch.Tensor) -> torch.Tensor:
    """Angle between a body's local +z axis and the world's +z axis (degrees)."""
    up = quat_apply(rot, torch.tensor([[0.0, 0.0, 1.0]]).expand(len(rot), 3))
    return torch.rad2deg(torch.acos(up[:, 2].clamp(-1.0, 1.0)))


def search(args: Args, snapshot) -> tuple[torch.Tensor, float, int]:
    """Cross-entropy search from copies of the demo env's reset states; returns the best keyframes and their score."""
    starts = args.num_envs
    n = args.population * starts  # sample p from start e in row p · starts + e
    env = dexhands.make(TASK, n, seed=args.seed, num_threads=args.num_threads)
    env.reset()
    overlap = HandOverlap(env.scene.model)
    last = {}

    def evaluate(keys: torch.Tensor) -> torch.Tensor:
        keys = keys.repeat_interleave(starts, 0)
        restart_rows(env, snapshot)
        alive = torch.ones(n, dtype=torch.bool)
        closest = torch.full((n,), 1.0)
        for step in range(env.episode_length):
            _, _, _, _, info = env.step(script_actions(keys, env.state, step, args.hold))
            alive &= ~info["episode_end"] & (overlap(env.sim.state) <= args.max_hand_overlap)
            closest = torch.where(alive, torch.minimum(closest, pour_distance(info["final_state"])), closest)
        worst = closest.view(-1, starts).max(1).values
        last.update(worst=worst)
        return closest.view(-1, starts).mean(1)

    def report(iteration: int, best: float, elite: float) -> None:
        print(f"iteration {iteration}: best mean distance {100 * best:.1f} cm (elite mean {100 * elite:.1f} cm), "
              f"samples succeeding from every start {int((last['worst'] < POUR_DISTANCE).sum())}/{args.population}")

    mean = initial_keyframes(args.keyframes)
    result = cross_entropy_search(
        evaluate, mean, torch.full_like(mean, args.init_std), population=args.population, elites=args.elites,
        iterations=args.iterations, generator=torch.Generator().manual_seed(args.seed),
        done=lambda best: best < args.target_distance and bool((last["worst"] < args.target_distance).any()),
        report=report)
    env.close()
    return result


def replay(args: Args, keys: torch.Tensor) -> dict[str, torch.Tensor]:
    """Fresh demo env from reset, actions through env.step only, for one episode. Per env: the step of the first
    success (0 if none), the closest spout-to-bottom distance before the episode ended, the kettle's and the bucket's
    tilt at the success, the water balls inside the bucket at the last step before the episode's end, and the hands'
    deepest overlap."""
    n = args.num_envs
    env = dexhands.make(TASK, n, seed=args.seed, num_threads=args.num_threads)
    env.reset()
    overlap = HandOverlap(env.scene.model)
    out = {name: torch.zeros(n) for name in ("closest", "kettle_tilt", "bucket_tilt", "hands")}
    out["closest"].fill_(float("inf"))
    first, balls = torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)
    running = torch.ones(n, dtype=torch.bool)
    for step in range(env.episode_length):
        _, _, _, _, info = env.step(script_actions(keys.expand(n, *keys.shape), env.state, step, args.hold))
        final = info["final_state"]
        out["closest"] = torch.where(running, torch.minimum(out["closest"], pour_distance(final)), out["closest"])
        out["hands"] = torch.where(running, torch.maximum(out["hands"], overlap(env.sim.state)), out["hands"])
        now = running & (first == 0) & (info["success"] >= 1)
        out["kettle_tilt"] = torch.where(now, tilt_degrees(final["object_rot"]), out["kettle_tilt"])
        out["bucket_tilt"] = torch.where(now, tilt_degrees(final["bucket_rot"]), out["bucket_tilt"])
        first = torch.where(now, step + 1, first)
        running &= ~info["episode_end"]
        balls = torch.where(running, balls_in_bucket(env), balls)  # an ended env has been reset already
    out["first_success"], out["balls_in_bucket"] = first, balls
    env.close()
    return out


def balls_in_bucket(env) -> torch.Tensor:
    """Per env, water balls whose centre lies inside the bucket's box (in the bucket's frame: the rim's centre)."""
    model = env.scene.model
    state = env.state
    half = torch.tensor(BUCKET_SIZE) / 2
    counts = torch.zeros(env.num_envs, dtype=torch.long)
    to_bucket = quat_conjugate(state["bucket_rot"])
    for k in range(WATER_BALLS):
        adr = model.jnt_qposadr[model.joint(f"water_{k}").id]
        ball = torch.as_tensor(env.sim.qpos[:, adr:adr + 3], dtype=torch.float32)
        local = quat_apply(to_bucket, ball - state["bucket_pos"])  # the frame's origin is the rim's centre
        inside = (local[:, 0].abs() < half[0]) & (local[:, 1].abs() < half[1]) & (local[:, 2] < 0) & (
            local[:, 2] > -BUCKET_SIZE[2])
        counts += inside.long()
    return counts


if __name__ == "__main__":
    args = tyro.cli(Args)
    torch.set_num_threads(1)
    start = time.time()
    keys, score, iterations = search(args, reset_snapshot(TASK, args.num_envs, args.seed, args.num_threads))
    print(f"search: {iterations} iterations × {args.population} samples × {args.num_envs} starts × 125 steps, best "
          f"mean distance {100 * score:.1f} cm, {time.time() - start:.0f} s")
    result = replay(args, keys)
    for env_id in range(args.num_envs):
        print(f"replay from reset, env {env_id}: success at step {result['first_success'][env_id].item()} (0: never), "
              f"closest spout-to-bottom distance {100 * result['closest'][env_id]:.1f} cm; at the success the kettle "
              f"was tilted {result['kettle_tilt'][env_id]:.0f}° and the bucket {result['bucket_tilt'][env_id]:.0f}°; "
              f"{result['balls_in_bucket'][env_id].item()} of {WATER_BALLS} water balls were in the bucket at the last step; the hands "
              f"overlapped by at most {1000 * result['hands'][env_id]:.1f} mm")
    print("keyframes (palm target offset x, y, z; torque x, y, z; knuckles; finger ends; one row per keyframe):")
    print(format_keyframes(keys))
    assert (result["first_success"] > 0).all(), "the replay did not pour in every env"
