"""Overhead of the safe runner on a typical Eureka-style reward function, versus the same function run directly.

Run: `python benchmark/safe_runner_overhead.py` (options: `--help`). The state is one (num_envs, 400) float
tensor sliced into named views, as a batched simulator hands it over. After warm-up (past the traced
`checked_calls`), safe and direct calls are interleaved, alternating which goes first, to cancel drift;
the table reports the median time per call and the ratio safe / direct (project target: <= 1.05).
"""

import statistics
import time
from dataclasses import dataclass

import torch
import tyro

from llmcode.safe_runner import compile_llm_function

REWARD_SOURCE = '''
import torch
from typing import Tuple, Dict

@torch.jit.script
def compute_reward(object_pos: torch.Tensor, object_rot: torch.Tensor, goal_pos: torch.Tensor, goal_rot: torch.Tensor,
                   object_linvel: torch.Tensor, fingertip_pos: torch.Tensor, actions: torch.Tensor
                   ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    dist_temp: float = 0.2
    rot_temp: float = 0.5
    goal_dist = torch.norm(object_pos - goal_pos, p=2, dim=-1)
    dist_reward = torch.exp(-goal_dist / dist_temp)

    conj = goal_rot * torch.tensor([-1.0, -1.0, -1.0, 1.0], device=goal_rot.device)
    x1, y1, z1, w1 = object_rot[:, 0], object_rot[:, 1], object_rot[:, 2], object_rot[:, 3]
    x2, y2, z2, w2 = conj[:, 0], conj[:, 1], conj[:, 2], conj[:, 3]
    qx = w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2
    qy = w1 * y2 + y1 * w2 + z1 * x2 - x1 * z2
    qz = w1 * z2 + z1 * w2 + x1 * y2 - y1 * x2
    rot_dist = 2.0 * torch.asin(torch.clamp(torch.sqrt(qx ** 2 + qy ** 2 + qz ** 2), max=1.0))
    rot_reward = torch.exp(-rot_dist / rot_temp)

    finger_dist = torch.norm(fingertip_pos - object_pos.unsqueeze(1), dim=-1).mean(dim=-1)
    grasp_reward = torch.exp(-finger_dist / dist_temp)
    velocity_penalty = -0.01 * torch.sum(object_linvel ** 2, dim=-1)
    action_penalty = -0.001 * torch.sum(actions ** 2, dim=-1)
    success_bonus = torch.where(goal_dist < 0.05, torch.ones_like(goal_dist) * 5.0, torch.zeros_like(goal_dist))

    total = dist_reward + 0.5 * rot_reward + 0.3 * grasp_reward + velocity_penalty + action_penalty + success_bonus
    components: Dict[str, torch.Tensor] = {
        "dist_reward": dist_reward, "rot_reward": rot_reward, "grasp_reward": grasp_reward,
        "velocity_penalty": velocity_penalty, "action_penalty": action_penalty, "success_bonus": success_bonus,
    }
    return total, components
'''


@dataclass
class Args:
    num_envs: int = 4096
    """rows of the state batch"""
    repetitions: int = 2000
    """timed calls of each function (after warm-up)"""
    warmup: int = 50
    """untimed calls of each before timing (the safe runner's checked calls happen here)"""
    threads: int = 1
    """torch intra-op threads (1 = steadiest numbers on a shared machine)"""


def make_state(num_envs: int) -> dict[str, torch.Tensor]:
    batch = torch.randn(num_envs, 400, generator=torch.Generator().manual_seed(0))
    return {
        "object_pos": batch[:, 0:3], "object_rot": torch.nn.functional.normalize(batch[:, 3:7], dim=-1),
        "goal_pos": batch[:, 7:10], "goal_rot": torch.nn.functional.normalize(batch[:, 10:14], dim=-1),
        "object_linvel": batch[:, 14:17], "fingertip_pos": batch[:, 20:35].reshape(num_envs, 5, 3), "actions": batch[:, 40:80],
    }


def direct_function():
    namespace = {"__name__": "direct"}
    exec(REWARD_SOURCE.replace("@torch.jit.script\n", ""), namespace)  # the trusted baseline, run eagerly like the runner
    return namespace["compute_reward"]


def time_call(function, state) -> float:
    start = time.perf_counter_ns()
    function(**state)
    return (time.perf_counter_ns() - start) / 1e3


if __name__ == "__main__":
    args = tyro.cli(Args)
    torch.set_num_threads(args.threads)
    state = make_state(args.num_envs)
    direct = direct_function()
    start = time.perf_counter()
    safe = compile_llm_function(REWARD_SOURCE, "compute_reward")
    compile_ms = (time.perf_counter() - start) * 1e3
    checked_us = [time_call(safe, state) for _ in range(safe.checked_calls)]
    for _ in range(args.warmup):
        safe(**state)
        direct(**state)
    assert torch.equal(safe(**state)[0], direct(**state)[0])

    safe_us, direct_us = [], []
    for i in range(args.repetitions):
        if i % 2 == 0:
            safe_us.append(time_call(safe, state))
            direct_us.append(time_call(direct, state))
        else:
            direct_us.append(time_call(direct, state))
            safe_us.append(time_call(safe, state))

    safe_median, direct_median = statistics.median(safe_us), statistics.median(direct_us)
    print(f"Eureka-style reward, state ({args.num_envs}, 400) float32, torch {torch.__version__}, {args.threads} thread(s), "
          f"{args.repetitions} interleaved calls each")
    print(f"| {'variant':<38} | {'median us/call':>14} |")
    print(f"| {'-' * 38} | {'-' * 14} |")
    print(f"| {'direct Python function':<38} | {direct_median:>14.1f} |")
    print(f"| {'safe runner (untraced, after checks)':<38} | {safe_median:>14.1f} |")
    print(f"| {'safe runner, traced checked calls':<38} | {statistics.median(checked_us):>14.1f} |")
    print(f"compile (parse, check, exec top level): {compile_ms:.1f} ms")
    print(f"ratio safe / direct (median): {safe_median / direct_median:.3f}  (target <= 1.05)")
