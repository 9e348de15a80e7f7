# ProgressCounts (Sarukkai et al., arXiv 2410.09187) with PPO on the Bi-DexHands tasks re-modelled in MuJoCo.
# The LLM writes a *progress function* (sub-task progress values and their directions); the method discretises
# progress into bins and pays a count-based bonus 1/sqrt(N(bin)) on top of the sparse task success.
# Sections, as in every script of algos/: arguments, environment, networks, the method, PPO's pieces, the training
# loop, the paper's selection among progress functions, the entry point. Decisions the paper leaves open: docs/methods.md, section "ProgressCounts".
import inspect
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.normal import Normal

import dexhands
from llmcode.cache import CacheError
from llmcode.client import LLMClient, LLMError
from llmcode.errors import exit_for
from llmcode.extract import extract_code
from llmcode.prompts import chat, render_prompt
from llmcode.safe_runner import LLMCodeError, LLMCodeFailed, compile_llm_function
from runkit import Run, apply_preset, check_choice, check_counts, parse, resumed_args, usage_error, write_json
from runkit.evaluation import NO_EVALUATION, evaluation_seed, evaluation_summary

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT_FORMAT = 3  # saved in each checkpoint; a resume refuses any other


# ---------------------------------------------------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------------------------------------------------
@dataclass
class Args:
    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """the name of this experiment"""
    seed: int = 1
    """seed of the experiment"""
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
    save_model: bool = True
    """save a checkpoint (`<run>/checkpoint.pt`) every `checkpoint_every` iterations, at least every 10 minutes, and at
    the end (Ctrl-C always saves one)"""
    checkpoint_every: int = 50
    """iterations between checkpoints when `save_model` is set"""
    resume: str | None = None
    """path of a checkpoint to resume from (its run folder is reused)"""
    runs_dir: str = "runs"
    """the folder that receives this run's folder"""

    # Algorithm specific arguments
    task: str = "ShadowHandSwitch"
    """the dexhands task id (see `dexhands.TASKS`)"""
    reward: Literal["progresscounts", "sparse", "dense", "progress-as-reward", "simhash-counts"] = "progresscounts"
    """training reward: the method, or a baseline/ablation of the paper"""
    backend: str = "auto"
    """dexhands simulation backend: auto, mujoco (CPU) or warp (CUDA)"""
    preset: Literal["auto", "cpu", "paper"] = "auto"
    """auto: the paper's settings below with a CUDA GPU, else `cpu`: 512 envs, MLPs [256, 256, 128] and 10M env steps
    (where dense-reward PPO learns ShadowHandOver); flags given on the command line always win"""
    total_timesteps: int = 100_000_000
    """total env steps per trained policy (Bi-DexHands budget: 2048 envs x 8 steps x ~6000 iterations)"""
    num_envs: int = 2048
    """the number of parallel environments"""
    num_steps: int = 8
    """the number of steps per environment per policy rollout"""
    learning_rate: float = 3e-4
    """the initial learning rate (adapted to keep the KL near `desired_kl`)"""
    desired_kl: float = 0.016
    """target KL of the adaptive learning-rate schedule"""
    update_epochs: int = 5
    """the K epochs to update the policy"""
    num_minibatches: int = 4
    """the number of mini-batches"""
    gamma: float = 0.96
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    clip_coef: float = 0.2
    """the surrogate clipping coefficient"""
    ent_coef: float = 0.0
    """coefficient of the entropy"""
    vf_coef: float = 2.0
    """coefficient of the value function loss (Bi-DexHands PPO default)"""
    max_grad_norm: float = 1.0
    """the maximum norm for the gradient clipping"""
    init_noise_std: float = 0.8
    """initial σ of the Gaussian policy (Bi-DexHands: the std is σ², 0.64)"""
    clip_observations: float = 5.0
    """observations are clipped to +-this value, as in Bi-DexHands"""
    hidden_sizes: tuple[int, ...] = (1024, 1024, 512)
    """hidden layers of the actor and of the critic (ELU)"""

    # ProgressCounts
    progress_sample: int = 0
    """which of the recorded progress-function samples to train with"""
    select_best: bool = False
    """train every progress-function sample, keep the best by success and retrain it on `eval_seeds` new seeds, as
    the paper does (4 samples, 5 seeds)"""
    eval_seeds: int = 5
    """new seeds on which `--select-best` retrains the selected progress function (paper: 5; 0 skips)"""
    num_progress_samples: int = 4
    """number of progress functions asked from the LLM"""
    bonus_scale: float = 1e-3
    """lambda_c: weight of the count bonus 1/sqrt(N(bin))"""
    num_bins: int = 1000
    """total number of progress bins"""
    bin_combination: Literal["sum", "tuple"] = "sum"
    """how per-sub-task bins form one bin id: the paper's sum (aliases (3,7) with (7,3)) or the non-aliasing tuple"""
    range_steps: int = 0
    """steps per env of uniformly random actions that estimate the progress ranges, counted in the budget (0: one
    episode)"""
    range_extension: float = 1.0
    """the estimated range is extended on the progress side by this fraction of its width"""
    simhash_bits: int = 10
    """SimHash code length of the `simhash-counts` ablation (2**bits buckets)"""
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
    """sampling temperature for live/record modes"""

    # filled in at run time
    batch_size: int = 0
    minibatch_size: int = 0
    num_iterations: int = 0
    range_env_steps: int = 0
    """env steps of random actions that estimate the progress ranges (counted in `total_timesteps`)"""


# Without a CUDA GPU the paper's 2048 envs and [1024, 1024, 512] MLPs would take days: at these settings dense-reward
# PPO learns ShadowHandOver on a 2-core CPU (`--preset paper` keeps the paper's).
CPU_PRESET = {"num_envs": 512, "hidden_sizes": (256, 256, 128), "total_timesteps": 10_000_000}


# ---------------------------------------------------------------------------------------------------------------------
# Environment
# ---------------------------------------------------------------------------------------------------------------------
def make_env(args: Args, device: torch.device):
    """The Bi-DexHands task re-modelled in MuJoCo (dexhands/README.md): batched torch tensors, automatic resets, and
    `info["final_state"]`, the named state each env reached before a reset (what progress functions read)."""
    return dexhands.make(args.task, num_envs=args.num_envs, device=str(device), backend=args.backend, seed=args.seed)


# ---------------------------------------------------------------------------------------------------------------------
# Networks: Bi-DexHands' PPO agent, separate actor and critic MLPs (ELU) and a state-independent std
# ---------------------------------------------------------------------------------------------------------------------
def mlp(sizes: list[int], out_gain: float) -> nn.Sequential:
    """Orthogonal weights (gain sqrt(2), `out_gain` for the last layer); biases keep PyTorch's default, as in Bi-DexHands."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        nn.init.orthogonal_(linear.weight, out_gain if last else math.sqrt(2))
        layers += [linear] if last else [linear, nn.ELU()]
    return nn.Sequential(*layers)


class Agent(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...], init_std: float):
        super().__init__()
        self.critic = mlp([obs_dim, *hidden, 1], out_gain=1.0)
        self.actor_mean = mlp([obs_dim, *hidden, act_dim], out_gain=0.01)
        self.actor_logstd = nn.Parameter(torch.full((act_dim,), math.log(init_std)))

    def action_std(self):
        # Bi-DexHands builds its Gaussian with scale_tril = diag(σ²), so the std is σ² (0.64 at its initial σ = 0.8),
        # while its KL for the learning rate treats σ as the std. Both kept: its settings were tuned with them.
        return self.actor_logstd.exp() ** 2

    def get_value(self, x):
        return self.critic(x).squeeze(-1)

    def get_action_and_value(self, x, action=None):
        mean = self.actor_mean(x)
        dist = Normal(mean, self.action_std().expand_as(mean))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.get_value(x), mean


# ---------------------------------------------------------------------------------------------------------------------
# ProgressCounts: the feature library shown to the LLM, progress functions from the LLM, discretisation and counts
# ---------------------------------------------------------------------------------------------------------------------
# A small per-domain library keeps progress functions short; the prompt shows its API (names, signatures, docstrings),
# generated from these functions. They are trusted code, handed to the LLM's code through the safe runner.
def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance between points a and b, shapes (N, 3) -> (N,)."""
    return torch.linalg.vector_norm(a - b, dim=-1)


def fingertips_distance(fingertips: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Sum over the 5 fingertips of their distance to a point: (N, 5, 3), (N, 3) -> (N,)."""
    return torch.linalg.vector_norm(fingertips - point.unsqueeze(-2), dim=-1).sum(dim=-1)


def closest_fingertip_distance(fingertips: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Distance from a point to the closest of the 5 fingertips: (N, 5, 3), (N, 3) -> (N,)."""
    return torch.linalg.vector_norm(fingertips - point.unsqueeze(-2), dim=-1).min(dim=-1).values


def rotation_distance(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """Angle in radians (0..pi) between two orientations given as quaternions (x, y, z, w): (N, 4) -> (N,)."""
    dot = (q1 * q2).sum(dim=-1).abs().clamp(max=1.0)
    return 2.0 * torch.acos(dot)


def height(pos: torch.Tensor) -> torch.Tensor:
    """World z coordinate of positions (N, 3) -> (N,)."""
    return pos[..., 2]


def horizontal_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Distance between a and b in the horizontal (x, y) plane: (N, 3) -> (N,)."""
    return torch.linalg.vector_norm(a[..., :2] - b[..., :2], dim=-1)


FEATURE_LIBRARY = {f.__name__: f for f in (distance, fingertips_distance, closest_fingertip_distance, rotation_distance,
                                            height, horizontal_distance)}


def feature_library_text() -> str:
    """The library's API as the prompt shows it: one signature and docstring per function."""
    return "\n".join(f"{name}{inspect.signature(f)}:\n    {inspect.getdoc(f)}" for name, f in FEATURE_LIBRARY.items())


# The LLM's progress functions: asked (or replayed from llm_outputs/) and compiled through the safe runner.
def progress_prompt(task: str, env) -> list[dict]:
    prompt_dir = REPO / "prompts" / "progresscounts"
    task_file = prompt_dir / "tasks" / f"{task}.txt"
    if not task_file.exists():
        raise FileNotFoundError(f"no ProgressCounts task description for {task}: expected {task_file}")
    user = render_prompt(prompt_dir / "user.txt", task_description=task_file.read_text().strip(),
                         state_description=env.state_description(), feature_library=feature_library_text())
    return chat(render_prompt(prompt_dir / "system.txt"), user)


def validate_progress(output):
    """The progress function's contract: ([x_1..x_k] float tensors (N,), [y_1..y_k] directions in {+1, -1})."""
    if not (isinstance(output, tuple | list) and len(output) == 2):
        raise LLMCodeFailed("compute_progress must return two lists: (progress_values, directions)")
    values, directions = output
    if not isinstance(values, list | tuple) or not values or len(values) != len(directions):
        raise LLMCodeFailed("progress_values and directions must be non-empty lists of the same length")
    for i, (x, y) in enumerate(zip(values, directions)):
        if not (isinstance(x, torch.Tensor) and x.dim() == 1 and x.is_floating_point()):
            raise LLMCodeFailed(f"progress value {i} must be a 1-D float tensor of shape (num_envs,), got {type(x).__name__}")
        if not torch.isfinite(x).all():
            raise LLMCodeFailed(f"progress value {i} contains NaN or inf")
        if y not in (1, -1):
            raise LLMCodeFailed(f"direction {i} must be +1 (value grows with progress) or -1 (shrinks), got {y!r}")
    return output


def ask_progress_answers(args: Args, env) -> list:
    """The LLM's answers to the progress prompt: `num_progress_samples` of them (cached, live or recorded)."""
    client = LLMClient(mode=args.llm_mode, cache_dir=REPO / "llm_outputs" / "progresscounts" / args.task, answers=args.llm_answers,
                       model=args.llm_model, base_url=args.llm_base_url, temperature=args.llm_temperature)
    # Replayed by position, so that a reworded prompt still finds its answers (the cache warns when it changed).
    return client.ask(progress_prompt(args.task, env), n=args.num_progress_samples, position="progress")


def compile_progress(answer, sample: int):
    """Answer -> progress function through the safe runner; a refusal names the sample and its cached file."""
    try:
        return compile_llm_function(extract_code(answer.text), entry="compute_progress", library=FEATURE_LIBRARY,
                                    validate=validate_progress)
    except LLMCodeError as error:
        where = f" ({answer.file})" if answer.file else ""
        raise type(error)(f"progress sample {sample}{where} was refused by the safe runner:\n{error}") from error


# Discretisation and counts (the paper's Section 4.2).
def bins_per_subtask(k: int, num_bins: int, combination: str) -> list[int]:
    """Finer bins for later sub-tasks: sub-task i (1-based) gets weight i.
    sum: bins add up to num_bins; tuple: their product is about num_bins (so the count table keeps its size)."""
    weights = [i / (k * (k + 1) / 2) for i in range(1, k + 1)]
    if combination == "sum":
        return [max(2, round(num_bins * w)) for w in weights]
    return [max(2, round(num_bins**w)) for w in weights]


class ProgressDiscretiser:
    """Maps raw progress values to one bin id per env.

    Ranges: lo/hi per sub-task from progress values seen under random actions; the range is extended on the
    progress side (above hi for increasing values, below lo for decreasing ones, but not below 0 when all seen
    values were non-negative, since such values are distances/angles whose goal is 0). Values are oriented so
    that 1 means "done", clamped to [0, 1], and cut into that sub-task's bins."""

    def __init__(self, lo: torch.Tensor, hi: torch.Tensor, directions: list[int], num_bins: int, combination: str,
                 extension: float):
        k = len(directions)
        self.directions = torch.tensor(directions, dtype=lo.dtype, device=lo.device)
        width = (hi - lo).clamp(min=1e-6)
        up = self.directions > 0
        self.hi = torch.where(up, hi + extension * width, hi)
        self.lo = torch.where(up, lo, torch.where(lo >= 0, (lo - extension * width).clamp(min=0.0), lo - extension * width))
        self.bins = torch.tensor(bins_per_subtask(k, num_bins, combination), device=lo.device)
        self.combination = combination
        if combination == "sum":
            self.num_ids = int((self.bins - 1).sum().item()) + 1
        else:
            # mixed radix: id = sum_i b_i' * prod_{j<i} bins_j
            self.radix = torch.cumprod(torch.cat([self.bins.new_ones(1), self.bins[:-1]]), dim=0)
            self.num_ids = int(self.bins.prod().item())

    def normalised(self, values: torch.Tensor) -> torch.Tensor:
        """(N, k) raw progress -> (N, k) in [0, 1], 1 = sub-task done."""
        frac = (values - self.lo) / (self.hi - self.lo).clamp(min=1e-6)
        return torch.where(self.directions > 0, frac, 1.0 - frac).clamp(0.0, 1.0)

    def __call__(self, values: torch.Tensor) -> torch.Tensor:
        return self.bin_ids(self.normalised(values))

    def bin_ids(self, done_fraction: torch.Tensor) -> torch.Tensor:
        """(N, k) normalised progress -> (N,) bin ids."""
        per_task = torch.minimum((done_fraction * self.bins).long(), self.bins - 1)
        if self.combination == "sum":
            return per_task.sum(dim=-1)
        return (per_task * self.radix).sum(dim=-1)


class VisitCounts:
    """Visit counts of bin ids shared by all envs; the bonus is 1/sqrt(N(bin)) after counting this visit."""

    def __init__(self, num_ids: int, device):
        self.counts = torch.zeros(num_ids, dtype=torch.float64, device=device)

    def visit(self, ids: torch.Tensor) -> torch.Tensor:
        self.counts += torch.bincount(ids, minlength=self.counts.numel()).to(self.counts.dtype)
        return self.counts[ids].rsqrt().float()

    @property
    def distinct(self) -> int:
        return int((self.counts > 0).sum().item())


class SimHash:
    """SimHash ablation: a fixed Gaussian projection of the observation, sign bits -> bucket id."""

    def __init__(self, obs_dim: int, bits: int, seed: int, device):
        gen = torch.Generator().manual_seed(seed)
        self.projection = torch.randn(obs_dim, bits, generator=gen).to(device)
        self.powers = (2 ** torch.arange(bits)).to(device)
        self.num_ids = 2**bits

    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        return ((obs @ self.projection > 0).long() * self.powers).sum(dim=-1)


def stack_progress(fn, state) -> tuple[torch.Tensor, list[int]]:
    values, directions = fn(state)
    num_envs = state["shadow_hand_dof_pos"].shape[0]  # every task has the right hand
    for i, x in enumerate(values):  # a (1,) value would silently broadcast one bin, and one bonus, to every env
        if x.shape != (num_envs,):
            raise LLMCodeFailed(f"progress value {i} must have shape ({num_envs},) (one value per env), got {tuple(x.shape)}")
    return torch.stack([v.float() for v in values], dim=-1), [int(d) for d in directions]


def estimate_ranges(fn, env, steps: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Progress values under uniformly random actions -> per-sub-task (lo, hi), and the directions."""
    gen = torch.Generator().manual_seed(seed)
    env.reset()
    values, directions = stack_progress(fn, env.state)
    lo, hi = values.min(dim=0).values, values.max(dim=0).values
    for _ in range(steps):
        actions = (torch.rand((env.num_envs, env.act_dim), generator=gen) * 2 - 1).to(env.device)
        env.step(actions)
        values, _ = stack_progress(fn, env.state)
        lo, hi = torch.minimum(lo, values.min(dim=0).values), torch.maximum(hi, values.max(dim=0).values)
    return lo, hi, directions


# ---------------------------------------------------------------------------------------------------------------------
# PPO's pieces: advantages and the KL that adapts the learning rate
# ---------------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------------
# Training loop: one PPO policy with the chosen reward
# ---------------------------------------------------------------------------------------------------------------------
def train(args: Args, folder: Path | None = None, progress_fn=None, progress_answer: str | None = None) -> dict:
    """Trains one policy in `folder` (default: a new run folder, or the resumed checkpoint's) and returns its summary."""
    run = Run(args, f"{args.task}__{args.exp_name}__{args.reward}__{args.seed}", CHECKPOINT_FORMAT, folder=folder)
    if progress_answer is not None:
        (run.dir / "progress_function.py").write_text(progress_answer)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")
    env = make_env(args, device)
    ckpt = run.checkpoint

    # The reward's own parts: bins and counts for ProgressCounts, ranges for ProgressAsReward, hashing for SimHash.
    discretiser = counts = simhash = None
    if args.reward in ("progresscounts", "progress-as-reward"):
        if ckpt is not None:  # the bins the counts were made with, exactly
            lo, hi = (torch.tensor(ckpt["ranges"][key], device=device) for key in ("lo", "hi"))
            directions = ckpt["ranges"]["directions"]
        else:
            lo, hi, directions = estimate_ranges(progress_fn, env, args.range_env_steps // args.num_envs, args.seed)
        discretiser = ProgressDiscretiser(lo, hi, directions, args.num_bins, args.bin_combination, args.range_extension)
        counts = VisitCounts(discretiser.num_ids, device)
        ranges = {"lo": lo.tolist(), "hi": hi.tolist(), "directions": list(directions)}
        write_json(run.dir / "progress_ranges.json", {**ranges, "bins": discretiser.bins.tolist()})
    elif args.reward == "simhash-counts":
        simhash = SimHash(env.obs_dim, args.simhash_bits, args.seed, device)
        counts = VisitCounts(simhash.num_ids, device)

    agent = Agent(env.obs_dim, env.act_dim, args.hidden_sizes, args.init_noise_std).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate)  # PyTorch's default eps 1e-8, as Bi-DexHands
    lr = args.learning_rate

    obs_buf = torch.zeros((args.num_steps, args.num_envs, env.obs_dim), device=device)
    actions_buf = torch.zeros((args.num_steps, args.num_envs, env.act_dim), device=device)
    logprobs_buf, rewards_buf, dones_buf, values_buf = (torch.zeros((args.num_steps, args.num_envs), device=device) for _ in range(4))
    means_buf = torch.zeros_like(actions_buf)

    # The range-estimation steps are env steps like any other: they count towards the budget.
    global_step, start_iteration, best_success, best_original, history = args.range_env_steps, 1, 0.0, 0.0, []
    best_progress = None  # per sub-task, the highest normalised progress reached in training
    if ckpt is not None:
        agent.load_state_dict(ckpt["agent"])
        optimizer.load_state_dict(ckpt["optimizer"])
        lr, global_step, start_iteration = ckpt["lr"], ckpt["global_step"], ckpt["iteration"] + 1
        best_success, best_original, history = ckpt["best_success"], ckpt["best_original"], ckpt["history"]
        if counts is not None:
            counts.counts.copy_(ckpt["counts"])
        best_progress = ckpt["best_progress"]
        run.restore_random_streams()

    next_obs = env.reset().clamp(-args.clip_observations, args.clip_observations)
    next_done = torch.zeros(args.num_envs, device=device)
    prev_success = torch.zeros(args.num_envs, device=device)
    ep_return = torch.zeros(args.num_envs, device=device)
    ep_human_return = torch.zeros(args.num_envs, device=device)
    ep_length = torch.zeros(args.num_envs, device=device)
    start_time, start_step = time.time(), global_step
    bar = run.progress(args.range_env_steps + args.num_iterations * args.batch_size,
                       args.range_env_steps + (start_iteration - 1) * args.batch_size, f"{args.task} {args.reward}")
    for iteration in range(start_iteration, args.num_iterations + 1):
        # Sums over the episodes finished in this iteration: count, success, return, human return, length and the
        # original success formula (for tasks where it differs from `success`: Switch).
        finished, bonus_sum = torch.zeros(6, dtype=torch.float64, device=device), 0.0
        progress_sum = progress_max = None  # per sub-task, of the normalised progress (1 = done) in this iteration
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_buf[step], dones_buf[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value, mean = agent.get_action_and_value(next_obs)
            actions_buf[step], logprobs_buf[step], values_buf[step], means_buf[step] = action, logprob, value, mean
            with run.timed("simulation"):
                next_obs, human_reward, terminated, truncated, info = env.step(action.clamp(-1.0, 1.0))

            with run.timed("reward"):
                # The sparse task reward: the increase of the episode's success value (1 when a binary success
                # latches; PushBlock's graded 0/0.5/1 and ReOrientation's goal count give their increments).
                success = info["success"].float()
                sparse = (success - prev_success).clamp(min=0.0)
                if args.reward == "dense":
                    reward = human_reward
                elif args.reward == "sparse":
                    reward = sparse
                elif args.reward == "simhash-counts":
                    # Counts are of the state reached, s_{t+1}; for envs that just reset, the final observation.
                    reached = torch.where(info["episode_end"].unsqueeze(-1), info["final_obs"], next_obs)
                    bonus = counts.visit(simhash(reached))
                    reward, bonus_sum = sparse + args.bonus_scale * bonus, bonus_sum + bonus.mean().double()
                else:
                    values, _ = stack_progress(progress_fn, info["final_state"])
                    done_fraction = discretiser.normalised(values)
                    step_max = done_fraction.max(0).values
                    progress_sum = done_fraction.mean(0) + (0.0 if progress_sum is None else progress_sum)
                    progress_max = step_max if progress_max is None else torch.maximum(progress_max, step_max)
                    if args.reward == "progress-as-reward":
                        counts.visit(discretiser.bin_ids(done_fraction))  # only to report the bins visited
                        reward = sparse + done_fraction.sum(dim=-1)
                    else:
                        bonus = counts.visit(discretiser.bin_ids(done_fraction))
                        reward, bonus_sum = sparse + args.bonus_scale * bonus, bonus_sum + bonus.mean().double()

            ep_return += reward
            # Time-limit truncation: bootstrap from the value of the final observation (CleanRL #198, #457). On a GPU
            # the value is computed every step: cheaper than the host sync that asking `truncated.any()` costs.
            if device.type == "cuda" or truncated.any():
                with torch.no_grad():
                    final_obs = info["final_obs"].clamp(-args.clip_observations, args.clip_observations)
                    reward = reward + args.gamma * agent.get_value(final_obs) * truncated.float()
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
            prev_success = torch.where(done, torch.zeros_like(success), success)
            next_done = done.float()
            next_obs = next_obs.clamp(-args.clip_observations, args.clip_observations)

        with run.timed("learning"):
            with torch.no_grad():
                advantages, returns = compute_gae(rewards_buf, values_buf, dones_buf, agent.get_value(next_obs),
                                                  next_done, args.gamma, args.gae_lambda)
            b_obs, b_actions = obs_buf.reshape(-1, env.obs_dim), actions_buf.reshape(-1, env.act_dim)
            b_logprobs, b_means = logprobs_buf.reshape(-1), means_buf.reshape(-1, env.act_dim)
            b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
            advantage_std = b_advantages.std().item()  # before normalising: next to the bonus, how noisy the signal is
            b_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std() + 1e-8)
            old_logstd = agent.actor_logstd.detach().clone()

            clipfracs, kls = [], []
            for _epoch in range(args.update_epochs):
                # Bi-DexHands' sequential sampler: the same partition in rollout order every epoch, never shuffled.
                for k in range(args.num_minibatches):
                    mb = slice(k * args.minibatch_size, (k + 1) * args.minibatch_size)
                    _, newlogprob, entropy, newvalue, newmean = agent.get_action_and_value(b_obs[mb], b_actions[mb])
                    # Adaptive learning rate from the KL between old and new policy on this minibatch (Bi-DexHands).
                    with torch.no_grad():
                        kl = diagonal_gaussian_kl(b_means[mb], old_logstd, newmean, agent.actor_logstd)
                        kls.append(kl.item())
                        if kl > 2.0 * args.desired_kl:
                            lr = max(1e-5, lr / 1.5)
                        elif 0.0 < kl < args.desired_kl / 2.0:
                            lr = min(1e-2, lr * 1.5)
                        for group in optimizer.param_groups:
                            group["lr"] = lr
                    ratio = (newlogprob - b_logprobs[mb]).exp()
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())
                    pg_loss = torch.max(-b_advantages[mb] * ratio,
                                        -b_advantages[mb] * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                    v_loss = ((newvalue - b_returns[mb]) ** 2).mean()
                    entropy_loss = entropy.mean()
                    loss = pg_loss + args.vf_coef * v_loss - args.ent_coef * entropy_loss
                    optimizer.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                    optimizer.step()

        # Logging: the success rate over the episodes that ended in this iteration, and its running maximum (the
        # papers report the maximum over training of this statistic).
        run.log(global_step, {
            "charts/learning_rate": lr, "charts/SPS": int((global_step - start_step) / (time.time() - start_time)),
            "losses/value_loss": v_loss.item(), "losses/policy_loss": pg_loss.item(),
            "losses/entropy": entropy_loss.item(), "losses/approx_kl": float(np.mean(kls)),
            "losses/clipfrac": float(np.mean(clipfracs)), "charts/action_std": agent.action_std().mean().item(),
            "charts/distinct_bins": counts.distinct if counts else None,
            "charts/intrinsic_bonus": args.bonus_scale * float(bonus_sum) / args.num_steps if counts else None,
            "charts/reward_std": rewards_buf.std().item(), "charts/advantage_std": advantage_std,
            "charts/value_mean": values_buf.mean().item()})
        if progress_sum is not None:  # do the progress values move, and is "done" (1) ever reached?
            best_progress = progress_max if best_progress is None else torch.maximum(best_progress, progress_max)
            run.log(global_step, {**{f"progress/mean_{i}": v / args.num_steps for i, v in enumerate(progress_sum.tolist())},
                                  **{f"progress/max_{i}": v for i, v in enumerate(progress_max.tolist())}})
        episodes, *sums = finished.tolist()
        if episodes:
            success_rate, mean_return, mean_human, mean_length, original_rate = (total / episodes for total in sums)
            best_success = max(best_success, success_rate)
            best_original = max(best_original, original_rate) if has_original else best_original
            run.log(global_step, {
                "charts/success_rate": success_rate, "charts/max_success_rate": best_success,
                "charts/episodic_return": mean_return, "charts/episodic_human_return": mean_human,
                "charts/episodic_length": mean_length, "charts/episodes": episodes,
                "charts/success_rate_original": original_rate if has_original else None,
                "charts/max_success_rate_original": best_original if has_original else None})
            history.append({"step": global_step, "success_rate": success_rate, "episodic_return": mean_return,
                            "episodic_human_return": mean_human})
            bar.set_postfix(success=f"{success_rate:.2f}", best=f"{best_success:.2f}")
        bar.update(args.batch_size)

        if run.due(iteration % args.checkpoint_every == 0 or iteration == args.num_iterations):
            run.save({"agent": agent.state_dict(), "optimizer": optimizer.state_dict(), "lr": lr,
                      "global_step": global_step, "iteration": iteration, "best_success": best_success,
                      "best_original": best_original, "history": history,
                      "counts": counts.counts if counts is not None else None, "best_progress": best_progress,
                      "ranges": ranges if discretiser is not None else None})

    if counts is not None:
        write_json(run.dir / "bin_counts.json", {"visits": counts.counts.tolist()})
    return run.finish({
        "task": args.task, "reward": args.reward, "seed": args.seed, "progress_sample": args.progress_sample,
        "global_step": global_step, "max_success_rate": best_success, "max_success_rate_original": best_original,
        "final_success_rate": history[-1]["success_rate"] if history else None,
        "final_episodic_human_return": history[-1]["episodic_human_return"] if history else None,
        "distinct_bins": counts.distinct if counts is not None else None,
        # Per sub-task, the highest normalised progress reached (1: the top bin, "done"); visits per bin id are in
        # bin_counts.json.
        "max_progress": best_progress.tolist() if best_progress is not None else None,
        "sps": (global_step - start_step) / max(time.time() - start_time, 1e-9), "device": str(device),
        "history": history,
    })


# ---------------------------------------------------------------------------------------------------------------------
# The paper's selection: train every progress function (--select-best), keep the best
# ---------------------------------------------------------------------------------------------------------------------
def saved_answer(folder: Path):
    """The progress function a run saved, as an answer: a resume goes on with it, never with a new LLM answer."""
    file = folder / "progress_function.py"
    return SimpleNamespace(text=file.read_text(), file=file) if file.exists() else None


def train_sample(args: Args, folder: Path | None, answer, alone: bool) -> dict:
    """One progress sample. With --select-best (`alone` false) a refused or failing sample drops out and the others
    go on: the paper trains every sample and keeps the best."""
    try:
        return train(args, folder, compile_progress(answer, args.progress_sample) if answer else None,
                     answer.text if answer else None)
    except LLMCodeError as error:
        if alone:
            raise exit_for(error, f"ProgressCounts: progress sample {args.progress_sample} cannot be used") from None
        print(f"progress sample {args.progress_sample} failed, the other samples go on:\n{error}")
        failed = {"task": args.task, "reward": args.reward, "seed": args.seed, "progress_sample": args.progress_sample,
                  "status": "failed", "error": str(error), "max_success_rate": None}
        write_json(folder / "summary.json", failed)
        return failed


def selected(summaries: list[dict]) -> dict:
    """The paper's selection among the progress samples: the highest max success (failed samples cannot win)."""
    trained = [s for s in summaries if s.get("status", "ok") == "ok"]
    if not trained:
        raise SystemExit("every progress sample failed; see the errors in the sample folders' summary.json")
    return max(trained, key=lambda s: s["max_success_rate"])


def select_best(args: Args, folder: Path, answers) -> dict:
    """Trains every progress sample not yet finished in `folder/sample<k>`, keeps the best, then retrains it on
    `eval_seeds` new seeds in `folder/eval<j>` (the paper's evaluation); `--resume` names one of these runs. Every
    sample's function is saved before any trains, so that resuming an interrupted selection goes on with the same
    functions."""
    seed = json.loads((folder / "config.json").read_text())["seed"]  # the selection's, whichever run is resumed

    def train_unfinished(run_dir: Path, run_args: Args) -> dict:
        resume = args.resume if args.resume and Path(args.resume).resolve().parent == run_dir.resolve() else None
        if resume or not (run_dir / "summary.json").exists():
            run_dir.mkdir(parents=True, exist_ok=True)
            train_sample(replace(run_args, resume=resume), run_dir, saved_answer(run_dir), False)
        return json.loads((run_dir / "summary.json").read_text())

    for k, answer in enumerate(answers or []):
        (folder / f"sample{k}").mkdir(parents=True, exist_ok=True)
        (folder / f"sample{k}" / "progress_function.py").write_text(answer.text)
    samples = [train_unfinished(folder / f"sample{k}", replace(args, seed=seed, progress_sample=k))
               for k in range(args.num_progress_samples)]
    best = selected(samples)["progress_sample"]
    print(f"selected progress function: sample {best} (max success {samples[best]['max_success_rate']:.3f} in the "
          f"selection, biased upwards: the evaluation on new seeds follows)")

    seeds = [evaluation_seed(seed, j) for j in range(args.eval_seeds)]
    selected_code = (folder / f"sample{best}" / "progress_function.py").read_text()
    for j in range(args.eval_seeds):
        run_dir = folder / f"eval{j}"
        code = run_dir / "progress_function.py"
        if code.exists() and code.read_text() == selected_code:
            continue
        # New, or it evaluated a sample that is no longer the selected one (a resumed sample overtook it): start over.
        for stale in ("summary.json", "checkpoint.pt"):
            (run_dir / stale).unlink(missing_ok=True)
        run_dir.mkdir(exist_ok=True)
        code.write_text(selected_code)
    runs = [train_unfinished(folder / f"eval{j}", replace(args, seed=s, progress_sample=best)) for j, s in enumerate(seeds)]
    summary = {
        "task": args.task, "reward": args.reward, "seed": seed,
        # The number the sample was selected on (a maximum over samples): kept apart, never the result to report.
        "selection": {"selected_sample": best, "selection_max_success_rate": samples[best]["max_success_rate"],
                      "samples": samples},
        **(evaluation_summary(seeds, runs) if seeds else NO_EVALUATION),
    }
    write_json(folder / "summary.json", summary)
    if seeds:
        ev = summary["evaluation"]
        print(f"evaluation over {len(seeds)} new seeds: max success {ev['max_success_rate_mean']} ± {ev['max_success_rate_std']}")
    return summary


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------
def check_args(args: Args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(total_timesteps=args.total_timesteps, num_envs=args.num_envs, num_steps=args.num_steps,
                 update_epochs=args.update_epochs, num_minibatches=args.num_minibatches, num_bins=args.num_bins,
                 num_progress_samples=args.num_progress_samples, checkpoint_every=args.checkpoint_every,
                 simhash_bits=args.simhash_bits, **{f"hidden_sizes[{i}]": h for i, h in enumerate(args.hidden_sizes)})
    check_choice("--task", args.task, dexhands.TASKS)
    check_choice("--backend", args.backend, ("auto", "mujoco", "warp"))
    if not 0 <= args.eval_seeds < 100:
        usage_error(f"--eval-seeds must be between 0 and 99 (evaluation seeds are seed·10000 + 9900 + j), got {args.eval_seeds}")
    if args.select_best and args.reward not in ("progresscounts", "progress-as-reward"):
        usage_error(f"--select-best chooses among progress functions; --reward {args.reward} uses none")
    if args.range_steps < 0:
        usage_error(f"--range-steps must be 0 (one episode) or more, got {args.range_steps}")
    if args.num_envs * args.num_steps < args.num_minibatches:
        usage_error(f"--num-minibatches ({args.num_minibatches}) must not exceed --num-envs x --num-steps")
    if not 0 <= args.progress_sample < args.num_progress_samples:
        usage_error(f"--progress-sample must be in 0..{args.num_progress_samples - 1}, got {args.progress_sample}")


def fill_runtime_args(args: Args) -> Args:
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    if args.reward in ("progresscounts", "progress-as-reward"):
        args.range_env_steps = (args.range_steps or dexhands.TASK_CONFIGS[args.task].episode_length) * args.num_envs
    args.num_iterations = max(1, (args.total_timesteps - args.range_env_steps) // args.batch_size)
    return args


if __name__ == "__main__":
    # A resume goes on with the interrupted run's own settings (task, reward, sample, bins, network ...); only a
    # longer --total-timesteps is new.
    args = resumed_args(parse(Args), CHECKPOINT_FORMAT)
    if not args.resume and (args.preset == "cpu" or (args.preset == "auto" and not (args.cuda and torch.cuda.is_available()))):
        args = apply_preset(args, CPU_PRESET, "CPU preset", "--preset paper runs the paper's settings")
    check_args(args)
    args = fill_runtime_args(args)

    answers = None
    if args.reward in ("progresscounts", "progress-as-reward") and not args.resume:
        probe = dexhands.make(args.task, num_envs=2, device="cpu", backend="mujoco", seed=args.seed)
        try:
            answers = ask_progress_answers(args, probe)
        except (CacheError, LLMError) as error:  # a missing cached answer, an unreachable endpoint: one line
            raise SystemExit(f"error: {error}") from None
    if args.select_best and args.resume:  # one sample of a selection: it resumes, then the selection goes on
        select_best(args, Path(args.resume).resolve().parent.parent, None)
    elif args.select_best:
        folder = Path(args.runs_dir) / f"{args.task}__{args.exp_name}__{args.reward}__{args.seed}__{int(time.time())}"
        folder.mkdir(parents=True)
        write_json(folder / "config.json", asdict(args))
        select_best(args, folder, answers)
    else:
        answer = saved_answer(Path(args.resume).resolve().parent) if args.resume else answers and answers[args.progress_sample]
        train_sample(args, None, answer, True)
