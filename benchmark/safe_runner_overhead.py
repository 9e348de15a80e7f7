"""What running LLM code in the sandbox costs per PPO env step on dexhands, against running it in the trainer.

Run: `python benchmark/safe_runner_overhead.py` (options: `--help`). One env step as Eureka's PPO loop takes it:
the policy's forward pass on the observations, `env.step`, then the reward function on the state reached
(the whole state dict, as the script passes it). The same Eureka-style reward runs either directly in this
process (the unsafe baseline) or through `compile_llm_function` (allow-list + seccomp worker + checks). The two
variants are interleaved step by step, alternating which goes first, to cancel drift; the report gives the
median time per env step of each, their ratio (project target: <= 1.10), and the reward call alone.
"""

import statistics
import time
from dataclasses import dataclass

import torch
import tyro

import dexhands
from llmcode.safe_runner import compile_llm_function

REWARD_SOURCE = '''
import torch
from typing import Dict, Tuple


def compute_reward(state: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    dist_temp = 0.2
    rot_temp = 0.5
    object_pos, goal_pos = state["object_pos"], state["goal_pos"]
    object_rot, goal_rot = state["object_rot"], state["goal_rot"]
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

    tips = torch.cat([state["fingertip_pos"], state["fingertip_another_pos"]], dim=1)
    finger_dist = torch.norm(tips - object_pos.unsqueeze(1), dim=-1).min(dim=-1).values
    grasp_reward = torch.exp(-finger_dist / dist_temp)
    velocity_penalty = -0.01 * torch.sum(state["object_linvel"] ** 2, dim=-1)
    action_penalty = -0.001 * torch.sum(state["actions"] ** 2, dim=-1)
    success_bonus = torch.where(goal_dist < 0.05, torch.ones_like(goal_dist) * 5.0, torch.zeros_like(goal_dist))

    total = dist_reward + 0.5 * rot_reward + 0.3 * grasp_reward + velocity_penalty + action_penalty + success_bonus
    components = {
        "dist_reward": dist_reward, "rot_reward": rot_reward, "grasp_reward": grasp_reward,
        "velocity_penalty": velocity_penalty, "action_penalty": action_penalty, "success_bonus": success_bonus,
    }
    return total, components
'''


@dataclass
class Args:
    task: str = "ShadowHandOver"
    """dexhands task"""
    num_envs: int = 2048
    """parallel envs (the paper's setting)"""
    steps: int = 40
    """timed env steps of each variant (after warm-up)"""
    warmup: int = 3
    """untimed steps of each variant first"""
    hidden: tuple[int, ...] = (1024, 1024, 512)
    """policy MLP (Bi-DexHands' PPO)"""


def direct_function():
    namespace = {"__name__": "direct"}
    exec(REWARD_SOURCE, namespace)  # the trusted, unsafe baseline: the same code in the trainer process
    return namespace["compute_reward"]


def policy(obs_dim: int, act_dim: int, hidden: tuple[int, ...]) -> torch.nn.Module:
    sizes = [obs_dim, *hidden, act_dim]
    layers = []
    for i in range(len(sizes) - 1):
        layers += [torch.nn.Linear(sizes[i], sizes[i + 1]), torch.nn.ELU()]
    return torch.nn.Sequential(*layers[:-1])


if __name__ == "__main__":
    args = tyro.cli(Args)
    env = dexhands.make(args.task, num_envs=args.num_envs, device="cpu", backend="mujoco", seed=0)
    actor = policy(env.obs_dim, env.act_dim, args.hidden)
    generator = torch.Generator().manual_seed(0)
    obs = env.reset()
    direct = direct_function()
    start = time.perf_counter()
    safe = compile_llm_function(REWARD_SOURCE, "compute_reward")
    compile_ms = (time.perf_counter() - start) * 1e3

    def env_step(reward_fn) -> tuple[float, float]:
        """One PPO env step; returns (whole step, reward call) in ms."""
        global obs
        start = time.perf_counter()
        with torch.no_grad():
            mean = actor(obs)
        action = (mean + 0.8 * torch.randn(mean.shape, generator=generator)).clamp(-1.0, 1.0)
        obs, _, _, _, info = env.step(action)
        before_reward = time.perf_counter()
        reward, components = reward_fn(info["final_state"])
        end = time.perf_counter()
        return (end - start) * 1e3, (end - before_reward) * 1e3

    for _ in range(args.warmup):
        env_step(direct)
        env_step(safe)
    check_state = env.state
    assert torch.allclose(safe(check_state)[0], direct(check_state)[0], atol=1e-6)

    times = {"direct": [], "safe": []}
    reward_times = {"direct": [], "safe": []}
    for i in range(args.steps):
        order = ("direct", "safe") if i % 2 == 0 else ("safe", "direct")
        for name in order:
            step_ms, reward_ms = env_step(direct if name == "direct" else safe)
            times[name].append(step_ms)
            reward_times[name].append(reward_ms)

    med = {k: statistics.median(v) for k, v in times.items()}
    med_reward = {k: statistics.median(v) for k, v in reward_times.items()}
    state_mb = sum(v.numel() * v.element_size() for v in check_state.values()) / 2**20
    print(f"{args.task}, {args.num_envs} envs, CPU ({torch.get_num_threads()} torch threads), policy {list(args.hidden)}, "
          f"state dict of {len(check_state)} tensors ({state_mb:.1f} MiB); {args.steps} interleaved steps each")
    print(f"| {'reward function runs':<36} | {'median ms / env step':>20} | {'of which reward call':>20} |")
    print(f"| {'-' * 36} | {'-' * 20} | {'-' * 20} |")
    print(f"| {'in the trainer (unsafe baseline)':<36} | {med['direct']:>20.1f} | {med_reward['direct']:>20.2f} |")
    print(f"| {'through the safe runner (sandbox)':<36} | {med['safe']:>20.1f} | {med_reward['safe']:>20.2f} |")
    print(f"compile (check, fork a worker, define): {compile_ms:.1f} ms (the first in a process also starts the template)")
    print(f"ratio with / without the runner (median env step): {med['safe'] / med['direct']:.3f}  (target <= 1.10)")
    added = med_reward["safe"] - med_reward["direct"]  # the steadier figure: the step's other parts are the same code
    print(f"the runner adds {added:.2f} ms to the reward call: {(med['direct'] + added) / med['direct']:.3f} of the env step")
