# Eureka (Ma et al., arXiv 2310.12931) with PPO on the Bi-DexHands tasks re-modelled in MuJoCo.
# An LLM writes reward functions as code; each is trained with PPO, and a "reward reflection" (how each reward
# component and the task score evolved during training) goes back to the LLM, which improves the best reward of the
# round. Sections, as in every script of algos/: arguments, environment, networks, the method, PPO's pieces, the
# training loop (one candidate), the search, the entry point. Decisions the paper leaves open: docs/methods.md, section "Eureka".
import json
import math
import os
import random
import time
import traceback
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.normal import Normal

import dexhands
from dexhands.context import environment_code
from llmcode.cache import CacheError
from llmcode.client import LLMClient, LLMError
from llmcode.extract import extract_code
from llmcode.prompts import chat, render_prompt
from llmcode.safe_runner import LLMCodeError, LLMCodeFailed, LLMCodeRefused, check_tensor, compile_llm_function
from runkit import Run, apply_preset, check_choice, check_counts, cpu_model, parse, stopped, usage_error, write_json
from runkit.evaluation import NO_EVALUATION, evaluation_seed, evaluation_summary
from runkit.workers import run_jobs

REPO = Path(__file__).resolve().parents[1]
PROMPTS = REPO / "prompts" / "eureka"
STATE_FORMAT = 2  # saved in search_state.json; a resume refuses any other


# ---------------------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class Args:
    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """the name of this experiment"""
    seed: int = 1
    """seed of the experiment (candidate and evaluation seeds are derived from it)"""
    torch_deterministic: bool = True
    """if toggled, `torch.backends.cudnn.deterministic=True`"""
    cuda: bool = True
    """if toggled, policy and simulation run on the GPU when one is available"""
    track: bool = False
    """if toggled, this experiment will be tracked with Weights and Biases"""
    wandb_project_name: str = "clean-llm-rewards"
    """the wandb's project name"""
    wandb_entity: str | None = None
    """the entity (team) of wandb's project"""
    save_model: bool = False
    """whether to save each trained policy (`<candidate folder>/agent.pt`)"""
    resume: str | None = None
    """a search's run folder: continue it, skipping the candidates and evaluations it already finished"""
    runs_dir: str = "runs"
    """the folder that receives this run's folder"""

    # Algorithm specific arguments: PPO as Eureka trains these tasks (rl_games, its ShadowHand*PPO.yaml and task yamls)
    task: str = "ShadowHandOver"
    """the dexhands task id (see `dexhands.TASKS`)"""
    backend: str = "auto"
    """dexhands simulation backend: auto, mujoco (CPU) or warp (CUDA)"""
    preset: Literal["auto", "cpu", "paper"] = "auto"
    """auto: the paper's settings with a CUDA GPU, else `cpu` (CPU_PRESET: 512 envs, a 4 x 2 search of 2.5M-step
    candidates, long enough for a dense-like reward to first succeed, and 10M-step evaluations); flags given on the
    command line always win"""
    ppo: Literal["rl_games", "bidexhands"] = "rl_games"
    """rl_games: Eureka's PPO for these tasks (the defaults below); bidexhands: the PPO of Bi-DexHands and of the
    ProgressCounts script (BIDEXHANDS_PPO), to compare the two methods on one PPO"""
    num_envs: int = 2048
    """the number of parallel environments (Eureka's task yamls: numEnvs 2048)"""
    num_steps: int = 8
    """the number of steps per environment per policy rollout (horizon_length)"""
    learning_rate: float = 3e-4
    """the initial learning rate, adapted to keep the KL near `desired_kl` (learning_rate, lr_schedule adaptive)"""
    desired_kl: float = 0.016
    """target KL of the adaptive learning-rate schedule (kl_threshold)"""
    update_epochs: int = 5
    """the K epochs to update the policy (mini_epochs)"""
    num_minibatches: int = 1
    """the number of mini-batches (minibatch_size 16384 = the whole 2048 x 8 batch)"""
    gamma: float = 0.96
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation (tau)"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient, also the value clipping range (e_clip)"""
    ent_coef: float = 0.0
    """coefficient of the entropy (entropy_coef)"""
    vf_coef: float = 0.5
    """coefficient of the value loss (rl_games: 0.5 x critic_coef 1)"""
    max_grad_norm: float = 1.0
    """the maximum norm for the gradient clipping (grad_norm, truncate_grads)"""
    init_noise_std: float = 1.0
    """initial σ of the Gaussian policy (sigma_init 0 = log σ; with `--ppo bidexhands` the std is σ², as there)"""
    clip_observations: float = 0.0
    """observations are clipped to +-this value; 0: not clipped (Eureka's task yamls set no clipObservations)"""
    hidden_sizes: tuple[int, ...] = (512, 256, 128)
    """hidden layers of the actor and of the critic, ELU (mlp units, separate)"""
    reward_scale: float = 0.01
    """the candidate reward is multiplied by this before PPO sees it (reward_shaper scale_value)"""
    norm_value: bool = True
    """the critic learns returns normalised by their running mean and std (normalize_value)"""
    clip_value_loss: bool = True
    """clip the value update to +-clip_coef around the rollout's value (clip_value)"""
    bounds_loss_coef: float = 0.001
    """coefficient of the penalty on action means beyond +-1.1 (bounds_loss_coef)"""

    # Eureka
    samples: int = 16
    """reward functions asked from the LLM per iteration (paper: 16)"""
    iterations: int = 5
    """search iterations (paper: 5)"""
    candidate_timesteps: int = 49_152_000
    """env steps per candidate during the search (Eureka: max_iterations 3000 x 16384)"""
    eval_seeds: int = 5
    """new seeds on which the best reward is retrained from scratch at the end (paper: 5; 0 skips the evaluation)"""
    eval_timesteps: int = 98_304_000
    """env steps per final-evaluation run (Eureka: max_epochs 6000 x 16384)"""
    max_retries: int = 3
    """times an iteration is repeated when every candidate failed, before the search moves on"""
    reflection_points: int = 10
    """values per statistic in the reward reflection (subsampled over training, as Eureka)"""
    parallel_candidates: int = 1
    """candidates trained at once, each in its own process (results do not depend on this)"""
    threads_per_candidate: int = 0
    """torch and physics threads of each candidate's training (0: this process's torch threads / parallel_candidates)"""
    llm_mode: Literal["cached", "live", "record"] = "cached"
    """cached: replay llm_outputs/; live: ask an OpenAI-compatible endpoint; record: live and save"""
    llm_answers: str = ""
    """cached: replay the answers in this sub-folder of the task's answer folder instead of the shipped ones, e.g.
    recorded-smollm2-135m (record mode writes recorded-<model>)"""
    llm_model: str | None = None
    """model name for live/record modes (default: $OPENAI_MODEL)"""
    llm_base_url: str | None = None
    """OpenAI-compatible endpoint for live/record modes (default: $OPENAI_BASE_URL or OpenAI)"""
    llm_temperature: float = 1.0
    """sampling temperature for live/record modes (Eureka: 1.0)"""

    # filled in at run time (for the policy being trained)
    total_timesteps: int = 0
    """set per trained policy from --candidate-timesteps or --eval-timesteps"""
    batch_size: int = 0
    minibatch_size: int = 0
    num_iterations: int = 0


# Bi-DexHands' PPO (its cfg/ppo/config.yaml and ppo.py), as the ProgressCounts script trains with; `--ppo bidexhands`.
BIDEXHANDS_PPO = {"hidden_sizes": (1024, 1024, 512), "init_noise_std": 0.8, "num_minibatches": 4, "vf_coef": 2.0,
                  "reward_scale": 1.0, "norm_value": False, "clip_value_loss": False, "bounds_loss_coef": 0.0,
                  "clip_observations": 5.0}
# The CPU preset of the ProgressCounts script uses smaller MLPs: with `--ppo bidexhands` on a CPU, so does this one.
BIDEXHANDS_CPU_PRESET = {"hidden_sizes": (256, 256, 128)}
# Without a CUDA GPU a paper-sized search would take months; this one fits in about 8 hours on 2 cores (`--preset
# paper` keeps the paper's).
CPU_PRESET = {"num_envs": 512, "samples": 4, "iterations": 2, "candidate_timesteps": 2_500_000,
              "eval_timesteps": 10_000_000}


# ---------------------------------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------------------------------
def make_env(args: Args, device: torch.device, num_threads: int | None = None):
    """The Bi-DexHands task re-modelled in MuJoCo (dexhands/README.md): batched torch tensors, automatic resets, and
    `info["final_state"]`, the named state each env reached before a reset (what reward functions read)."""
    return dexhands.make(args.task, num_envs=args.num_envs, device=str(device), backend=args.backend, seed=args.seed,
                         num_threads=num_threads)


# ---------------------------------------------------------------------------------------------------------------------
# Networks: separate actor and critic MLPs (ELU) and a state-independent std, initialised as each PPO does
# ---------------------------------------------------------------------------------------------------------------------
def mlp(sizes: list[int], out_gain: float, orthogonal: bool) -> nn.Sequential:
    """Bi-DexHands: orthogonal weights (gain sqrt(2), `out_gain` for the last layer), PyTorch's default biases;
    rl_games: PyTorch's default weights, zero biases."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        if orthogonal:
            nn.init.orthogonal_(linear.weight, out_gain if last else math.sqrt(2))
        else:
            nn.init.zeros_(linear.bias)
        layers += [linear] if last else [linear, nn.ELU()]
    return nn.Sequential(*layers)


class RunningMeanStd(nn.Module):
    """rl_games' value normaliser: the running mean and variance of every value and return batch it is updated with;
    normalised values are clamped to +-5."""

    def __init__(self, epsilon: float = 1e-5):
        super().__init__()
        self.epsilon = epsilon
        self.register_buffer("mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("var", torch.ones((), dtype=torch.float64))
        self.register_buffer("count", torch.ones((), dtype=torch.float64))

    def update(self, x: torch.Tensor) -> None:
        batch_mean, batch_var, n = x.double().mean(), x.double().var(), x.numel()
        delta, total = batch_mean - self.mean, self.count + n
        self.var.copy_((self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total)
        self.mean.add_(delta * n / total)
        self.count.fill_(total)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean.float()) / (self.var.float() + self.epsilon).sqrt()).clamp(-5.0, 5.0)

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        return y.clamp(-5.0, 5.0) * (self.var.float() + self.epsilon).sqrt() + self.mean.float()


class Agent(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, args: Args):
        super().__init__()
        orthogonal = args.ppo == "bidexhands"
        self.critic = mlp([obs_dim, *args.hidden_sizes, 1], out_gain=1.0, orthogonal=orthogonal)
        self.actor_mean = mlp([obs_dim, *args.hidden_sizes, act_dim], out_gain=0.01, orthogonal=orthogonal)
        self.actor_logstd = nn.Parameter(torch.full((act_dim,), math.log(args.init_noise_std)))
        self.value_norm = RunningMeanStd() if args.norm_value else None
        self.squared_std = args.ppo == "bidexhands"

    def action_std(self):
        # Bi-DexHands builds its Gaussian with scale_tril = diag(σ²), so its std is σ² (while its KL for the learning
        # rate treats σ as the std); rl_games' std is σ.
        return self.actor_logstd.exp() ** 2 if self.squared_std else self.actor_logstd.exp()

    def get_value(self, x):
        """The critic's output: a normalised return when `norm_value` is set."""
        return self.critic(x).squeeze(-1)

    def denormalise(self, v):
        return self.value_norm.denormalise(v) if self.value_norm is not None else v

    def value(self, x):
        """The value in reward units (x `reward_scale`), for advantages and time-limit bootstrapping."""
        return self.denormalise(self.get_value(x))

    def get_action_and_value(self, x, action=None):
        mean = self.actor_mean(x)
        dist = Normal(mean, self.action_std().expand_as(mean))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.get_value(x), mean


# ---------------------------------------------------------------------------------------------------------------------
# Eureka: the prompts, the reward contract and the reward reflection
# ---------------------------------------------------------------------------------------------------------------------
def initial_messages(task: str, env) -> list[dict]:
    """[system, user]: role, reward contract and output tips; the task, and the environment as context: the source
    code that computes the state the reward function receives (`dexhands.context`)."""
    # The task descriptions are shared with ProgressCounts: one text per task says what success means.
    task_file = REPO / "prompts" / "progresscounts" / "tasks" / f"{task}.txt"
    if not task_file.exists():
        raise FileNotFoundError(f"no task description for {task}: expected {task_file}")
    tips = render_prompt(PROMPTS / "output_tips.txt")
    system = render_prompt(PROMPTS / "system.txt", reward_signature=render_prompt(PROMPTS / "reward_signature.txt"),
                           output_tips=tips)
    user = render_prompt(PROMPTS / "user.txt", task_description=task_file.read_text().strip(),
                         environment_code=environment_code(env))
    return chat(system, user)


def reward_validator(num_envs: int):
    """The contract `compute_reward(state) -> (reward (N,), {name: component (N,)})`, checked on every call."""

    def validate(output):
        if not (isinstance(output, tuple | list) and len(output) == 2 and isinstance(output[1], dict)):
            raise LLMCodeFailed("compute_reward must return a pair (reward, components) with components a dict of tensors")
        reward, components = output
        check_tensor(reward, "reward", shape=(num_envs,))
        for name, value in components.items():
            if not isinstance(name, str):
                raise LLMCodeFailed(f"component names must be strings, got {name!r}")
            check_tensor(value, f"components[{name!r}]", shape=(num_envs,))
        return output

    return validate


def reflection(history: list[dict], points: int) -> str:
    """The reward reflection of a trained candidate: each reward component, the task score (success rate) and the
    episode length, every k-th PPO iteration with k = max(iterations // points, 1) (Eureka's `epoch_freq`),
    followed by their max, mean and min over training."""
    names = list(dict.fromkeys(name for record in history for name in record["components"]))
    series = {name: [r["components"].get(name) for r in history] for name in names}
    series["task_score"] = [r["success_rate"] for r in history]
    series["episode_length"] = [r["episode_length"] for r in history]
    every = max(len(history) // points, 1)
    lines = []
    for name, values in series.items():
        seen = [v for v in values if v is not None]  # None: no episode had ended yet
        if not seen:
            lines.append(f"{name}: no episode ended during training")
            continue
        listed = ", ".join(f"{v:.3g}" for v in values[::every] if v is not None)
        lines.append(f"{name}: [{listed}], Max: {max(seen):.3g}, Mean: {float(np.mean(seen)):.3g}, Min: {min(seen):.3g}")
    tips = render_prompt(PROMPTS / "analysis_tips.txt", output_tips=render_prompt(PROMPTS / "output_tips.txt"))
    return render_prompt(PROMPTS / "policy_feedback.txt", every=every, statistics="\n".join(lines), analysis_tips=tips)


def error_feedback(error: str) -> str:
    return render_prompt(PROMPTS / "execution_error.txt", error=error, output_tips=render_prompt(PROMPTS / "output_tips.txt"))


# ---------------------------------------------------------------------------------------------------------------------
# PPO's pieces: advantages and the KL that adapts the learning rate; the correlation with the human reward
# ---------------------------------------------------------------------------------------------------------------------
def clip(obs: torch.Tensor, bound: float) -> torch.Tensor:
    return obs.clamp(-bound, bound) if bound > 0 else obs


def compute_gae(rewards, values, dones, next_value, next_done, gamma: float, lam: float):
    """Generalised advantage estimation over a (T, N) rollout. `dones[t]` marks that obs t starts a new episode."""
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0.0
    for t in reversed(range(rewards.shape[0])):
        if t == rewards.shape[0] - 1:
            nextnonterminal, nextvalues = 1.0 - next_done, next_value
        else:
            nextnonterminal, nextvalues = 1.0 - dones[t + 1], values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * lam * nextnonterminal * lastgaelam
    return advantages, advantages + values


def diagonal_gaussian_kl(mu_old, logstd_old, mu_new, logstd_new) -> torch.Tensor:
    var_old, var_new = (2 * logstd_old).exp(), (2 * logstd_new).exp()
    kl = logstd_new - logstd_old + (var_old + (mu_old - mu_new) ** 2) / (2 * var_new) - 0.5
    return kl.sum(-1).mean()


def pearson(sums: torch.Tensor) -> float | None:
    """Correlation from running sums [n, Σx, Σy, Σx², Σy², Σxy]; None when either variable is constant."""
    n, sx, sy, sxx, syy, sxy = sums.tolist()
    vx, vy = n * sxx - sx * sx, n * syy - sy * sy
    if n < 2 or vx <= 1e-12 * max(1.0, n * sxx) or vy <= 1e-12 * max(1.0, n * syy):
        return None
    return (n * sxy - sx * sy) / math.sqrt(vx * vy)


# ---------------------------------------------------------------------------------------------------------------------
# Training loop: one PPO policy on one candidate reward
# ---------------------------------------------------------------------------------------------------------------------
def train(args: Args, folder: Path, reward_fn, num_threads: int | None = None, progress: bool = True) -> dict:
    """Trains one PPO policy on `reward_fn(state) -> (reward, components)` in `folder` and returns its summary. An
    error of the reward function propagates as `LLMCodeError`; Ctrl-C interrupts (an unfinished candidate is redone)."""
    run = Run(args, folder.name, None, checkpoint_file=None, folder=folder, catch_ctrl_c=False, track=False)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")
    env = make_env(args, device, num_threads)

    agent = Agent(env.obs_dim, env.act_dim, args).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-8)  # both PPOs: PyTorch's default eps
    lr = args.learning_rate

    obs_buf = torch.zeros((args.num_steps, args.num_envs, env.obs_dim), device=device)
    actions_buf = torch.zeros((args.num_steps, args.num_envs, env.act_dim), device=device)
    logprobs_buf, rewards_buf, dones_buf, values_buf = (torch.zeros((args.num_steps, args.num_envs), device=device) for _ in range(4))
    means_buf = torch.zeros_like(actions_buf)

    next_obs = clip(env.reset(), args.clip_observations)
    next_done = torch.zeros(args.num_envs, device=device)
    ep_return = torch.zeros(args.num_envs, device=device)
    ep_human_return = torch.zeros(args.num_envs, device=device)
    ep_length = torch.zeros(args.num_envs, device=device)
    corr_sums = torch.zeros(6, dtype=torch.float64, device=device)  # LLM reward vs human reward, every step
    global_step, best_success, best_original, success_rate, episode_length, history = 0, 0.0, 0.0, None, None, []
    start_time = time.time()
    bar = run.progress(args.num_iterations * args.batch_size, 0, f"{args.task} {folder.name}", disable=not progress)
    for _iteration in range(1, args.num_iterations + 1):
        # Sums over the episodes finished in this iteration: count, success, return, human return, length and the
        # original success formula (for tasks where it differs from `success`: Switch).
        finished = torch.zeros(6, dtype=torch.float64, device=device)
        component_sums: dict[str, torch.Tensor] = {}  # kept on the device: no host sync per step
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_buf[step], dones_buf[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value, mean = agent.get_action_and_value(next_obs)
            actions_buf[step], logprobs_buf[step], values_buf[step], means_buf[step] = action, logprob, agent.denormalise(value), mean
            with run.timed("simulation"):
                next_obs, human_reward, terminated, truncated, info = env.step(action.clamp(-1.0, 1.0))

            with run.timed("reward"):  # the candidate reward, on the state reached by this step (before a reset)
                reward, components = reward_fn(info["final_state"])
                reward = reward.float()
                for name, value in components.items():
                    component_sums[name] = component_sums.get(name, 0.0) + value.float().mean().double()
                x, y = reward.double(), human_reward.double()
                corr_sums += torch.stack([x.new_tensor(float(x.numel())), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(),
                                          (x * y).sum()])

            success = info["success"].float()
            ep_return += reward
            reward = args.reward_scale * reward
            # Time-limit truncation: bootstrap from the value of the final observation (CleanRL #198, #457; rl_games'
            # value_bootstrap). On a GPU the value is computed every step: cheaper than the host sync that asking
            # `truncated.any()` costs.
            if device.type == "cuda" or truncated.any():
                with torch.no_grad():
                    final_obs = clip(info["final_obs"], args.clip_observations)
                    reward = reward + args.gamma * agent.value(final_obs) * truncated.float()
            rewards_buf[step] = reward

            ep_human_return += human_reward
            ep_length += 1
            done = info["episode_end"]
            # Every finished episode is counted, however many finish on the same step (CleanRL #508); as masked sums
            # on the device, so that the rollout never waits for the GPU.
            ended = done.float()
            has_original = "success_original" in info
            original = info["success_original"].float() if has_original else success
            finished += torch.stack([ended.sum(), (success * ended).sum(), (ep_return * ended).sum(),
                                     (ep_human_return * ended).sum(), (ep_length * ended).sum(), (original * ended).sum()])
            ep_return, ep_human_return, ep_length = ep_return * (1 - ended), ep_human_return * (1 - ended), ep_length * (1 - ended)
            next_done = done.float()
            next_obs = clip(next_obs, args.clip_observations)

        with run.timed("learning"):
            with torch.no_grad():
                advantages, returns = compute_gae(rewards_buf, values_buf, dones_buf, agent.value(next_obs),
                                                  next_done, args.gamma, args.gae_lambda)
            b_obs, b_actions = obs_buf.reshape(-1, env.obs_dim), actions_buf.reshape(-1, env.act_dim)
            b_logprobs, b_means = logprobs_buf.reshape(-1), means_buf.reshape(-1, env.act_dim)
            b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values_buf.reshape(-1)
            b_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std() + 1e-8)
            if agent.value_norm is not None:  # rl_games: the statistics take the values, then the returns
                agent.value_norm.update(b_values)
                b_values = agent.value_norm.normalise(b_values)
                agent.value_norm.update(b_returns)
                b_returns = agent.value_norm.normalise(b_returns)
            old_logstd = agent.actor_logstd.detach().clone()
            # rl_games measures the KL against the policy that last trained on each sample: after each minibatch,
            # the minibatch's reference becomes the policy it was just evaluated with.
            ref_means, ref_logstd = b_means.clone(), old_logstd.expand_as(b_means).clone()

            clipfracs, kls = [], []
            for _epoch in range(args.update_epochs):
                epoch_kls = []
                # A fixed partition in time-major order: Bi-DexHands' sequential sampler (rl_games slices env-major,
                # which its single minibatch makes irrelevant).
                for k in range(args.num_minibatches):
                    mb = slice(k * args.minibatch_size, (k + 1) * args.minibatch_size)
                    _, newlogprob, entropy, newvalue, newmean = agent.get_action_and_value(b_obs[mb], b_actions[mb])
                    with torch.no_grad():
                        if args.ppo == "bidexhands":
                            # The KL to the rollout's policy on this minibatch sets this step's learning rate.
                            kl = diagonal_gaussian_kl(b_means[mb], old_logstd, newmean, agent.actor_logstd)
                            if kl > 2.0 * args.desired_kl:
                                lr = max(1e-5, lr / 1.5)
                            elif 0.0 < kl < args.desired_kl / 2.0:
                                lr = min(1e-2, lr * 1.5)
                            for group in optimizer.param_groups:
                                group["lr"] = lr
                        else:
                            kl = diagonal_gaussian_kl(newmean, agent.actor_logstd, ref_means[mb], ref_logstd[mb])
                            ref_means[mb], ref_logstd[mb] = newmean, agent.actor_logstd
                        kls.append(kl.item())
                        epoch_kls.append(kl.item())
                    ratio = (newlogprob - b_logprobs[mb]).exp()
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())
                    pg_loss = torch.max(-b_advantages[mb] * ratio,
                                        -b_advantages[mb] * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                    v_loss = (newvalue - b_returns[mb]) ** 2
                    if args.clip_value_loss:
                        clipped = b_values[mb] + (newvalue - b_values[mb]).clamp(-args.clip_coef, args.clip_coef)
                        v_loss = torch.max(v_loss, (clipped - b_returns[mb]) ** 2)
                    v_loss = v_loss.mean()
                    # rl_games' bounds loss: a quadratic penalty on action means beyond the soft bound +-1.1.
                    bounds_loss = ((newmean - 1.1).clamp(min=0.0) ** 2 + (newmean + 1.1).clamp(max=0.0) ** 2).sum(-1).mean()
                    entropy_loss = entropy.mean()
                    loss = (pg_loss + args.vf_coef * v_loss - args.ent_coef * entropy_loss
                            + args.bounds_loss_coef * bounds_loss)
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                    optimizer.step()
                if args.ppo == "rl_games":  # the epoch's mean KL sets the learning rate of the next epoch
                    epoch_kl = float(np.mean(epoch_kls))
                    if epoch_kl > 2.0 * args.desired_kl:
                        lr = max(lr / 1.5, 1e-6)
                    if epoch_kl < args.desired_kl / 2.0:
                        lr = min(lr * 1.5, 1e-2)
                    for group in optimizer.param_groups:
                        group["lr"] = lr

        # Logging. The success rate is over the episodes that ended in this iteration (kept from the last iteration
        # that ended any); Eureka's fitness is its maximum over training.
        components_mean = {name: total.item() / args.num_steps for name, total in component_sums.items()}
        run.log(global_step, {
            "charts/learning_rate": lr, "charts/SPS": int(global_step / (time.time() - start_time)),
            "losses/value_loss": v_loss.item(), "losses/policy_loss": pg_loss.item(), "losses/bounds_loss": bounds_loss.item(),
            "losses/approx_kl": float(np.mean(kls)), "losses/clipfrac": float(np.mean(clipfracs)),
            "charts/action_std": agent.action_std().mean().item(),
            **{f"charts/reward_components/{name}": value for name, value in components_mean.items()}})
        record = {"step": global_step, "components": components_mean}
        episodes, *sums = finished.tolist()
        if episodes:
            success_rate, mean_return, mean_human, episode_length, original_rate = (total / episodes for total in sums)
            best_success = max(best_success, success_rate)
            best_original = max(best_original, original_rate) if has_original else best_original
            record.update(episodic_return=mean_return, episodic_human_return=mean_human)
            run.log(global_step, {
                "charts/success_rate": success_rate, "charts/max_success_rate": best_success,
                "charts/episodic_return": mean_return, "charts/episodic_human_return": mean_human,
                "charts/episodic_length": episode_length,
                "charts/success_rate_original": original_rate if has_original else None})
            bar.set_postfix(success=f"{success_rate:.2f}", best=f"{best_success:.2f}")
        bar.update(args.batch_size)
        record.update(success_rate=success_rate, episode_length=episode_length)
        history.append(record)

    if args.save_model:
        torch.save({"agent": agent.state_dict(), "args": asdict(args)}, folder / "agent.pt")
    return run.finish({
        "task": args.task, "seed": args.seed, "global_step": global_step, "max_success_rate": best_success,
        "max_success_rate_original": best_original, "final_success_rate": history[-1]["success_rate"],
        "final_episodic_human_return": history[-1].get("episodic_human_return"),
        "reward_correlation": pearson(corr_sums.cpu()), "sps": global_step / max(time.time() - start_time, 1e-9),
        "device": str(device), "history": history,
    })


# ---------------------------------------------------------------------------------------------------------------------
# Eureka's search: ask, train every candidate, reflect on the best, repeat; then evaluate the best reward
# ---------------------------------------------------------------------------------------------------------------------
def candidate_seed(seed: int, iteration: int, sample: int) -> int:
    """Seed of a search candidate: a function of (seed, iteration, sample) only, so that parallelism changes nothing."""
    return seed * 10_000 + iteration * 100 + sample


def run_candidate(job: dict) -> dict:
    """Extract, compile (safe runner) and train one answer; every failure becomes a result with its error text."""
    args = fill_runtime_args(replace(Args(**{**job["args"], "hidden_sizes": tuple(job["args"]["hidden_sizes"])}),
                                     seed=job["seed"], total_timesteps=job["timesteps"]))
    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "answer.md").write_text(job["answer"])
    torch.set_num_threads(job["threads"])
    result = {"label": job["label"], "seed": job["seed"], "status": "ok", "error": None, "max_success_rate": None,
              "reward_correlation": None, "code": None}
    start = time.time()
    try:
        code = extract_code(job["answer"])
        result["code"] = code
        (out / "reward.py").write_text(code)
        fn = compile_llm_function(code, entry="compute_reward", validate=reward_validator(args.num_envs))
        summary = train(args, out, fn, num_threads=job["threads"], progress=job["progress"])
    except LLMCodeError as error:
        # Refused before running, or failed while training: Eureka's "execution error" feedback.
        result.update(status="refused" if isinstance(error, LLMCodeRefused) else "failed", error=str(error),
                      feedback=error_feedback(str(error)))
    except Exception as error:  # noqa: BLE001
        # Training itself broke (e.g. a reward so large that PPO's returns overflow to NaN): the candidate failed,
        # as it does when a worker process dies, so that one candidate never ends the whole search.
        text = "".join(traceback.format_exception_only(error)).strip()
        result.update(status="failed", error=f"training stopped: {text}", feedback=error_feedback(text))
    else:
        result.update(max_success_rate=summary["max_success_rate"], reward_correlation=summary["reward_correlation"],
                      final_success_rate=summary["final_success_rate"],
                      final_episodic_human_return=summary["final_episodic_human_return"],
                      history=summary["history"], global_step=summary["global_step"],
                      feedback=reflection(summary["history"], job["reflection_points"]))
    result["seconds"] = time.time() - start
    return result


def crashed_candidate(job: dict, error: str) -> dict:
    """The result of a candidate whose worker process died (e.g. killed for memory): a failure, fed back as one."""
    return {"label": job["label"], "seed": job["seed"], "status": "failed", "error": error, "max_success_rate": None,
            "reward_correlation": None, "code": None, "feedback": error_feedback(error), "seconds": 0.0}


class SearchState:
    """Everything a search has finished, rewritten atomically after each candidate (resume reads it back)."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {"format": STATE_FORMAT, "answers": {},
                                                                          "candidates": {}, "evaluations": {}, "cpus": []}
        if self.data.get("format") != STATE_FORMAT:
            usage_error(f"{path}: a search state of format {self.data.get('format')}, this script reads format "
                        f"{STATE_FORMAT} (written by another version of it); start a new search")
        self.data["cpus"].append(cpu_model())  # the CPU of each stretch of the search: the start, then each resume

    def save(self) -> None:
        write_json(self.path, self.data)


def make_client(args: Args) -> LLMClient:
    try:
        return LLMClient(mode=args.llm_mode, cache_dir=REPO / "llm_outputs" / "eureka" / args.task, answers=args.llm_answers,
                         model=args.llm_model, base_url=args.llm_base_url, temperature=args.llm_temperature)
    except (CacheError, LLMError) as error:  # no model name in record mode, a missing answer folder: one line
        raise SystemExit(f"error: {error}") from None


def search(args: Args, run_dir: Path, client=None) -> dict:
    """The Eureka loop; returns the search summary (also summary.json). `client` answers like `LLMClient.ask`."""
    client = client or make_client(args)
    run = Run(args, run_dir.name, None, checkpoint_file=None, folder=run_dir, catch_ctrl_c=False)
    state = SearchState(run_dir / "search_state.json")
    probe = dexhands.make(args.task, num_envs=2, device="cpu", backend="mujoco", seed=args.seed, num_threads=1)
    messages = initial_messages(args.task, probe)
    threads = args.threads_per_candidate or max(1, torch.get_num_threads() // max(1, args.parallel_candidates))
    job_args = asdict(replace(args, resume=None))

    def job(label: str, answer: str, seed: int, timesteps: int) -> dict:
        return {"args": job_args, "label": label, "answer": answer, "seed": seed, "timesteps": timesteps,
                "dir": str(run_dir / label), "threads": threads, "reflection_points": args.reflection_points,
                "progress": args.parallel_candidates <= 1}

    def record(kind: str):
        def on_result(done_job: dict, result: dict) -> None:
            state.data[kind][done_job["label"]] = result
            state.save()
            if result["status"] == "ok":
                what = f"max success {result['max_success_rate']:.3f}"
            else:
                what = f"{result['status']}: {result['error'].strip().splitlines()[-1][:160]}"
            print(f"{done_job['label']}: {what}", flush=True)
        return on_result

    best, iterations = None, []
    for iteration in range(args.iterations):
        checkpoint = messages  # the conversation this iteration starts from (with the last elite's reflection)
        for attempt in range(args.max_retries + 1):
            position = f"iter{iteration}" if attempt == 0 else f"iter{iteration}_retry{attempt}"
            if position in state.data["answers"]:  # resumed: the answers this position already got
                asked = state.data["answers"][position]
            else:
                try:
                    answers = client.ask(messages, n=args.samples, position=position, temperature=args.llm_temperature)
                except (CacheError, LLMError) as error:  # a missing cached answer, a refused request: one line
                    raise SystemExit(f"error: {error}") from None
                asked = {"messages": messages, "texts": [a.text for a in answers],
                         "provenance": [a.provenance for a in answers]}
                state.data["answers"][position] = asked
                state.save()
            labels = [f"candidates/{position}_s{k}" for k in range(args.samples)]
            todo = [job(label, text, candidate_seed(args.seed, iteration, k), args.candidate_timesteps)
                    for k, (label, text) in enumerate(zip(labels, asked["texts"])) if label not in state.data["candidates"]]
            run_jobs(todo, args.parallel_candidates, run_candidate, record("candidates"), crashed_candidate)
            results = [dict(state.data["candidates"][label], sample=k) for k, label in enumerate(labels)]
            ok = [r for r in results if r["status"] == "ok"]
            if ok:
                break
            # Every candidate failed: repeat the iteration from its starting conversation, with the first failure
            # appended so that the LLM can fix it.
            first = results[0]
            messages = checkpoint + [{"role": "assistant", "content": asked["texts"][0]},
                                     {"role": "user", "content": first["feedback"]}]

        if ok:
            elite = max(ok, key=lambda r: r["max_success_rate"])  # the first of equals
            if best is None or elite["max_success_rate"] > best["max_success_rate"]:
                best = dict(elite, position=position)
            messages = asked["messages"][:2] + [{"role": "assistant", "content": asked["texts"][elite["sample"]]},
                                                {"role": "user", "content": elite["feedback"]}]
        summary_row = {
            "iteration": iteration, "position": position, "attempts": attempt + 1,
            "execute_rate": len(ok) / len(results),
            "max_success_rate": max((r["max_success_rate"] for r in ok), default=None),
            "elite": elite["label"] if ok else None, "best_so_far": best["max_success_rate"] if best else None,
            "failures": {r["label"]: r["error"].splitlines()[0][:200] for r in results if r["status"] != "ok"},
        }
        iterations.append(summary_row)
        run.log(iteration, {"llm/execute_rate": summary_row["execute_rate"], "llm/failed_candidates": len(results) - len(ok),
                            "llm/requests": getattr(client, "requests_made", 0),
                            "charts/iteration_max_success_rate": summary_row["max_success_rate"],
                            "charts/best_max_success_rate": best["max_success_rate"] if best else None})
    (run_dir / "messages.json").write_text(json.dumps(messages, indent=2))

    # The paper's evaluation: the best reward retrained from scratch on new seeds at the full budget, reported apart
    # from the number it was selected on.
    evaluation = NO_EVALUATION
    if best is not None and args.eval_seeds > 0:
        text = state.data["answers"][best["position"]]["texts"][best["sample"]]
        seeds = [evaluation_seed(args.seed, k) for k in range(args.eval_seeds)]
        labels = [f"evaluation/seed{seed}" for seed in seeds]
        todo = [job(label, text, seed, args.eval_timesteps) for seed, label in zip(seeds, labels)
                if label not in state.data["evaluations"]]
        run_jobs(todo, args.parallel_candidates, run_candidate, record("evaluations"), crashed_candidate)
        runs = [state.data["evaluations"][label] for label in labels]
        evaluation = evaluation_summary(seeds, runs)
        evaluation["evaluation"].update(timesteps=args.eval_timesteps, histories=[r.get("history", []) for r in runs])
        correlations = [r["reward_correlation"] for r in runs if r.get("reward_correlation") is not None]
        evaluation["evaluation"]["reward_correlation_mean"] = float(np.mean(correlations)) if correlations else None
        for k, result in enumerate(runs):
            run.log(k, {"eval/max_success_rate": result["max_success_rate"]})
        run.writer.add_text("eval/best_reward", "```python\n" + (best["code"] or "") + "\n```")

    candidates = state.data["candidates"]
    summary = {
        "task": args.task, "seed": args.seed, "samples": args.samples, "iterations": args.iterations,
        "candidate_timesteps": args.candidate_timesteps, "llm_mode": args.llm_mode,
        # The selection: the best candidate and the number it was selected on (its max success rate during the
        # search, a maximum over candidates: biased upwards, so never the result to report).
        "best": None if best is None else {
            "label": best["label"], "selection_max_success_rate": best["max_success_rate"],
            "reward_correlation": best["reward_correlation"], "code": best["code"],
        },
        "iteration_summaries": iterations, "cpus": state.data["cpus"],
        # The evaluation, the result to report: per seed under `evaluation`, their means at the top level (`eval_*`,
        # `evaluation_history`: its first seed's curve), where the benchmark report reads a run's headline.
        **evaluation,
        # Resume-safe cost: the summed training time of every candidate and evaluation run.
        "training_seconds": sum(r.get("seconds") or 0.0 for kind in ("candidates", "evaluations")
                                for r in state.data[kind].values()),
        "candidates": [{"label": label, "status": r["status"], "max_success_rate": r["max_success_rate"],
                        "reward_correlation": r["reward_correlation"], "seconds": r["seconds"],
                        "error": r["error"]} for label, r in candidates.items()],
        "history": [{"iteration": row["iteration"], "max_success_rate": row["max_success_rate"],
                     "best_max_success_rate": row["best_so_far"]} for row in iterations],
    }
    if best is not None:
        (run_dir / "best_reward.py").write_text(best["code"])
    return run.finish(summary)


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------
def check_args(args: Args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(num_envs=args.num_envs, num_steps=args.num_steps, update_epochs=args.update_epochs,
                 num_minibatches=args.num_minibatches, candidate_timesteps=args.candidate_timesteps,
                 eval_timesteps=args.eval_timesteps, reflection_points=args.reflection_points,
                 parallel_candidates=args.parallel_candidates,
                 **{f"hidden_sizes[{i}]": h for i, h in enumerate(args.hidden_sizes)})
    check_choice("--task", args.task, dexhands.TASKS)
    check_choice("--backend", args.backend, ("auto", "mujoco", "warp"))
    if not (1 <= args.samples < 100 and 1 <= args.iterations < 100):
        usage_error("--samples and --iterations must be between 1 and 99 (candidate seeds are "
                    "seed·10000 + 100·iteration + sample, which must not collide)")
    if args.num_envs * args.num_steps < args.num_minibatches:
        usage_error(f"--num-minibatches ({args.num_minibatches}) must not exceed --num-envs x --num-steps")
    if args.reward_scale <= 0 or args.bounds_loss_coef < 0:
        usage_error("--reward-scale must be positive and --bounds-loss-coef 0 or more")
    if not 0 <= args.eval_seeds < 100:
        usage_error(f"--eval-seeds must be between 0 and 99 (evaluation seeds are seed·10000 + 9900 + j), got {args.eval_seeds}")
    if args.clip_observations < 0:
        usage_error("--clip-observations must be 0 (no clipping) or more")
    if args.max_retries < 0 or args.threads_per_candidate < 0:
        usage_error("--max-retries and --threads-per-candidate must be 0 or more")


def fill_runtime_args(args: Args) -> Args:
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = max(1, args.total_timesteps // args.batch_size)
    return args


def with_presets(args: Args) -> Args:
    """The PPO that `--ppo` names, then the CPU preset where no CUDA GPU is used (the command line always wins)."""
    if args.ppo == "bidexhands":
        args = apply_preset(args, BIDEXHANDS_PPO, "Bi-DexHands PPO", "--ppo rl_games runs Eureka's")
    if args.preset == "cpu" or (args.preset == "auto" and not (args.cuda and torch.cuda.is_available())):
        preset = {**CPU_PRESET, **(BIDEXHANDS_CPU_PRESET if args.ppo == "bidexhands" else {})}
        args = apply_preset(args, preset, "CPU preset", "--preset paper runs the paper's settings")
    return args


if __name__ == "__main__":
    args = parse(Args)
    if not args.resume:
        args = with_presets(args)
    check_args(args)
    if args.resume:
        # The interrupted search's own settings; only the resume flag is new.
        run_dir = Path(args.resume)
        if not (run_dir / "search_state.json").exists():
            usage_error(f"--resume {args.resume}: no search_state.json there")
        saved = json.loads((run_dir / "config.json").read_text())
        args = Args(**{**saved, "hidden_sizes": tuple(saved["hidden_sizes"]), "resume": args.resume})
    else:
        run_dir = Path(args.runs_dir) / f"{args.task}__{args.exp_name}__{args.seed}__{int(time.time())}"
    try:
        summary = search(args, run_dir)
    except KeyboardInterrupt:  # finished candidates are in search_state.json (saved atomically after each one)
        stopped(run_dir)
    best = summary["best"]
    if best is None:  # every answer was refused or failed: no result, so not a success either
        raise SystemExit(f"Eureka: no candidate reward trained without failing; their errors are in {run_dir}")
    print(f"best reward: {best['label']} (selected on its search max success {best['selection_max_success_rate']:.3f})")
    if summary["evaluation"]:
        ev = summary["evaluation"]
        print(f"evaluation over {len(ev['seeds'])} new seeds: max success {ev['max_success_rate_mean']} "
              f"± {ev['max_success_rate_std']}, correlation with the human reward {ev['reward_correlation_mean']}")
