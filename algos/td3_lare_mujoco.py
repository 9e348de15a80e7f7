# LaRe (Qu et al., AAAI-25, arXiv 2412.11120) with TD3 on episodic-reward MuJoCo.
# The agent only sees the episode's return at its last step; an LLM-written encoder turns (s, a) into latent factors,
# and a decoder trained by return decomposition turns them into a per-step reward.
# Baselines in the same file: --reward-model rd | rrd | rrd-unbiased | ircr | none | dense.
# Sections, as in every script of algos/: arguments, environment, networks, the method, TD3's pieces, the training
# loop, the entry point. Docs: README.md, section "LaRe with TD3 on MuJoCo"; decisions: docs/methods.md.
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import gymnasium as gym
import mujoco
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

import llmcode.client  # looked up at call time, so that tests can replace the client
from llmcode.cache import CacheError
from llmcode.errors import LLMCodeError, LLMCodeFailed, SandboxUnavailable, exit_for
from llmcode.extract import extract_json
from llmcode.prompts import chat, render_prompt
from llmcode.safe_runner import compile_llm_function
from runkit import Run, check_counts, parse, resumed_args, usage_error

REPO_ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT_FORMAT = 3  # saved in each checkpoint; a resume refuses any other (3: the LLM's info under "llm")


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
    """if toggled, cuda will be used when available"""
    torch_threads: int = 0
    """CPU threads for torch (0: torch's default); 1 is fastest when several runs share a small machine"""
    track: bool = False
    """if toggled, this experiment will be tracked with Weights and Biases"""
    wandb_project_name: str = "clean-llm-rewards"
    """the wandb's project name"""
    wandb_entity: str | None = None
    """the entity (team) of wandb's project"""
    save_model: bool = True
    """save a checkpoint (networks, optimisers, replay buffer, env, LLM function) into the run folder every
    `checkpoint_frequency` steps, at least every 10 minutes, and at the end (Ctrl-C always saves one)"""
    checkpoint_frequency: int = 100_000
    """with --save-model, checkpoint every this many steps"""
    resume: str | None = None
    """path of a checkpoint (`<run folder>/checkpoint.pt`) to continue training from (its run folder is reused)"""
    runs_dir: str = "runs"
    """folder that receives the run folder"""

    # Algorithm specific arguments (defaults: LaRe's TD3 settings, docs/methods.md)
    env_id: str = "HalfCheetah-v5"
    """the id of the environment: Reacher-v5, HalfCheetah-v5, Walker2d-v5 or HumanoidStandup-v5"""
    total_timesteps: int = 1_000_000
    """total timesteps of the experiments"""
    learning_rate: float = 3e-4
    """the learning rate of the actor and critic optimizers"""
    buffer_size: int = 1_000_000
    """the replay memory buffer size"""
    gamma: float = 0.99
    """the discount factor gamma"""
    tau: float = 0.005
    """target smoothing coefficient"""
    batch_size: int = 256
    """the batch size of sample from the replay memory"""
    policy_noise: float = 0.2
    """the scale of policy noise (target policy smoothing)"""
    exploration_noise: float = 0.1
    """the scale of exploration noise"""
    learning_starts: int = 10_000
    """timestep to start learning (uniform random actions before)"""
    policy_frequency: int = 2
    """the frequency of training policy (delayed)"""
    noise_clip: float = 0.5
    """noise clip parameter of the Target Policy Smoothing Regularization"""
    eval_frequency: int = 5000
    """evaluate the deterministic policy on the true (dense) return every this many steps"""
    eval_episodes: int = 10
    """the number of evaluation episodes"""
    max_episode_steps: int | None = None
    """override the time limit of the environment (None: Gymnasium's 50 for Reacher, 1000 otherwise); for quick tests"""

    # Reward model
    reward_model: Literal["lare", "rd", "rrd", "rrd-unbiased", "ircr", "none", "dense"] = "lare"
    """lare: LLM factors + decoder; rd/rrd/rrd-unbiased: decoder on raw [s, a, s-s']; ircr: normalised trajectory return;
    none: the episodic reward as is; dense: the environment's per-step reward (oracle)"""
    lare_loss: Literal["rrd-unbiased", "rrd", "rd"] = "rrd-unbiased"
    """return-decomposition loss of the LaRe decoder"""
    rrd_k: int = 64
    """number of time steps sampled per trajectory by the rrd losses"""
    reward_learning_rate: float = 3e-4
    """learning rate of the reward decoder"""
    reward_hidden: int = 256
    """hidden width of the reward decoder (3 linear layers)"""

    # LLM (only used by --reward-model lare)
    llm_mode: Literal["cached", "live", "record"] = "cached"
    """cached: replay llm_outputs/ (no network); live: ask an OpenAI-compatible endpoint; record: live, then store the answers"""
    llm_answers: str = ""
    """cached: replay the answers in this sub-folder of the task's answer folder instead of the shipped ones, e.g.
    recorded-smollm2-135m (record mode writes recorded-<model>)"""
    llm_model: str | None = None
    """model name for live/record (default: the OPENAI_MODEL variable or the client's default)"""
    llm_base_url: str | None = None
    """OpenAI-compatible endpoint for live/record (default: the OPENAI_BASE_URL variable or OpenAI)"""
    llm_samples: int = 5
    """number of candidate answers (self-prompting); 1 skips the merging request"""
    llm_temperature: float = 1.0
    """temperature of the candidate answers"""
    llm_merge_temperature: float = 0.3
    """temperature of the merging request and of the error-feedback retries"""
    llm_max_retries: int = 5
    """how many times a failing function is sent back to the LLM with the error"""
    llm_outputs: str = "llm_outputs/lare/mujoco"
    """folder of the cached LLM answers (one sub-folder per task), relative to the repository root"""
    prompt_dir: str = "prompts/lare/mujoco"
    """folder of the prompt templates and task descriptions, relative to the repository root"""


# ---------------------------------------------------------------------------------------------------------------------
# Environment: one Gymnasium MuJoCo env whose reward is paid as the episode's return at its last step
# ---------------------------------------------------------------------------------------------------------------------
def make_env(env_id, seed, max_episode_steps=None, episodic=True):
    env = gym.make(env_id, max_episode_steps=max_episode_steps) if max_episode_steps else gym.make(env_id)
    if episodic:
        env = EpisodicReward(env)
    env.action_space.seed(seed)
    env.observation_space.seed(seed)
    return env


class EpisodicReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The learner sees reward 0 at every step and the episode's whole return at its last step (terminated or
    truncated). The hidden per-step reward stays in info["dense_reward"] for logging and for the dense oracle."""

    def __init__(self, env):
        gym.utils.RecordConstructorArgs.__init__(self)  # lets gym.make re-create the env from its spec (check_env does)
        gym.Wrapper.__init__(self, env)
        self._return = 0.0

    def reset(self, **kwargs):
        self._return = 0.0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._return += float(reward)
        info["dense_reward"] = float(reward)
        episodic = self._return if (terminated or truncated) else 0.0
        return obs, episodic, terminated, truncated, info


# Everything MuJoCo needs to continue a trajectory bit for bit, the solver's warm start included: a checkpoint holds
# the env in mid-episode, so that a resumed run continues exactly as if it had never stopped.
PHYSICS_STATE = mujoco.mjtState.mjSTATE_INTEGRATION


def env_snapshot(env):
    """The env in the middle of an episode: physics, time-limit step count, episodic return so far, random streams."""
    base = env.unwrapped
    physics = np.empty(mujoco.mj_stateSize(base.model, PHYSICS_STATE))
    mujoco.mj_getState(base.model, base.data, physics, PHYSICS_STATE)
    return {"physics": physics, "elapsed_steps": env.get_wrapper_attr("_elapsed_steps"), "episodic_return": env._return,
            "np_random": base.np_random.bit_generator.state,
            "action_space_rng": env.action_space.np_random.bit_generator.state}


def restore_env(env, snapshot):
    env.reset()  # lets the wrappers accept steps; everything the reset drew is overwritten below
    base = env.unwrapped
    mujoco.mj_setState(base.model, base.data, snapshot["physics"], PHYSICS_STATE)
    mujoco.mj_forward(base.model, base.data)
    env.set_wrapper_attr("_elapsed_steps", snapshot["elapsed_steps"])
    env._return = snapshot["episodic_return"]
    base.np_random.bit_generator.state = snapshot["np_random"]
    env.action_space.np_random.bit_generator.state = snapshot["action_space_rng"]


# ---------------------------------------------------------------------------------------------------------------------
# Networks: CleanRL's TD3 actor and twin critics; LaRe's reward decoder has the same shape
# ---------------------------------------------------------------------------------------------------------------------
def mlp(in_dim, out_dim, hidden=256):
    return nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, out_dim))


class QNetwork(nn.Module):
    def __init__(self, obs_dim, act_dim):
        super().__init__()
        self.net = mlp(obs_dim + act_dim, 1)

    def forward(self, x, a):
        return self.net(torch.cat([x, a], 1))


class Actor(nn.Module):
    def __init__(self, obs_dim, action_space):
        super().__init__()
        self.net = mlp(obs_dim, int(np.prod(action_space.shape)))
        # tanh output rescaled to the action bounds (HumanoidStandup's are [-0.4, 0.4])
        self.register_buffer("action_scale", torch.tensor((action_space.high - action_space.low) / 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.tensor((action_space.high + action_space.low) / 2.0, dtype=torch.float32))

    def forward(self, x):
        return torch.tanh(self.net(x)) * self.action_scale + self.action_bias


# ---------------------------------------------------------------------------------------------------------------------
# LaRe: the LLM's latent-reward encoder, the reward decoder and its return-decomposition losses, the IRCR baseline
# ---------------------------------------------------------------------------------------------------------------------
# The LLM stage: candidate factor functions, merged into one, verified on real states with errors fed back.
def env_name(env_id):
    return env_id.split("-v")[0]


def read_answer(text):
    """The function source of an answer; raises ValueError with a message fit for the LLM."""
    try:
        data = extract_json(text)
    except Exception as e:  # the extractor's own error type: re-raised as ValueError, its message kept for the LLM
        raise ValueError(str(e)) from e
    source = next((v for k, v in data.items() if k.lower() in ("function", "functions", "code")), None)
    if not isinstance(source, str) or "evaluation_func" not in source:
        raise ValueError('the JSON answer has no "function" string defining evaluation_func')
    return source


def verify_factors(fn, obs, act):
    """Run the LLM function on real states and check the contract: a list of (batch, 1) finite arrays."""
    out = fn(obs.copy(), act.copy())
    if not isinstance(out, list | tuple) or len(out) == 0:
        raise ValueError(f"evaluation_func must return a non-empty list of arrays, got {type(out).__name__}")
    for i, f in enumerate(out):
        shape = tuple(np.shape(f))
        if shape != (obs.shape[0], 1):
            raise ValueError(f"factor {i} has shape {shape}, expected ({obs.shape[0]}, 1)")
        if not np.all(np.isfinite(np.asarray(f, dtype=np.float64))):
            raise ValueError(f"factor {i} contains non-finite values")
    return len(out)


def design_latent_reward(args, env, log):
    """Ask for n candidate evaluation functions, merge them into one, verify it on real reset states and send errors
    back up to llm_max_retries times. Returns (source, number of factors, transcript summary)."""
    name, prompts = env_name(args.env_id), REPO_ROOT / args.prompt_dir
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]
    task, observation_form = ((prompts / "envs" / f"{name}.{part}.txt").read_text().strip() for part in ("task", "observation"))
    client = llmcode.client.LLMClient(mode=args.llm_mode, cache_dir=REPO_ROOT / args.llm_outputs / name, answers=args.llm_answers, model=args.llm_model,
                                      base_url=args.llm_base_url, temperature=args.llm_temperature)
    messages = chat(render_prompt(prompts / "system.txt"),
                    render_prompt(prompts / "generate.txt", task=task, observation_form=observation_form,
                                  obs_dim=obs_dim, act_dim=act_dim))
    candidates = client.ask(messages, n=args.llm_samples, position="candidates", temperature=args.llm_temperature)
    answer = candidates[0]
    if args.llm_samples > 1:
        # Self-prompting: one answer that keeps every factor the candidates found.
        blocks = []
        for i, c in enumerate(candidates):
            try:
                blocks.append(f"Expert {i + 1}:\n```python\n{read_answer(c.text).strip()}\n```")
            except ValueError:
                blocks.append(f"Expert {i + 1} (raw answer):\n{c.text.strip()}")
        merge = render_prompt(prompts / "merge.txt", candidates="\n\n".join(blocks), obs_dim=obs_dim, act_dim=act_dim)
        messages = messages + [{"role": "user", "content": merge}]
        answer = client.ask(messages, n=1, position="merge", temperature=args.llm_merge_temperature)[0]

    # Pre-verification on real states: the reset observation and a random action, tiled to a batch of 2.
    obs, _ = env.reset(seed=args.seed)
    obs = np.tile(np.asarray(obs, np.float32), (2, 1))
    act = np.tile(env.action_space.sample().astype(np.float32), (2, 1))
    for attempt in range(args.llm_max_retries + 1):
        try:
            source = read_answer(answer.text)
            factor_num = verify_factors(compile_llm_function(source, entry="evaluation_func"), obs, act)
            log(f"LLM function verified after {attempt} retries: {factor_num} factors")
            return source, factor_num, {"retries": attempt, "candidates": len(candidates)}
        except SandboxUnavailable:
            raise
        except (LLMCodeError, ValueError, TypeError) as e:  # refused, failed, or broke the contract: said back
            error = f"{type(e).__name__}: {e}"
            log(f"LLM function failed verification ({attempt + 1}/{args.llm_max_retries + 1}): {error}")
            if attempt == args.llm_max_retries:
                raise LLMCodeFailed(f"no valid evaluation_func after {args.llm_max_retries} retries; last error: {error}") from None
            fix = render_prompt(prompts / "fix.txt", error=error, batch=2, obs_dim=obs_dim, act_dim=act_dim)
            messages = messages + [{"role": "assistant", "content": answer.text}, {"role": "user", "content": fix}]
            answer = client.ask(messages, n=1, position=f"fix{attempt + 1}", temperature=args.llm_merge_temperature)[0]


def make_encoder(source, factor_num):
    """The verified LLM function as a batched encoder: numpy (batch, obs), (batch, act) -> (batch, k) float32.
    Every call is checked (the runner: finite, |x| <= 1e6; here: the factors' count and shapes)."""
    fn = compile_llm_function(source, entry="evaluation_func")

    def encode(obs, act):
        try:
            out = fn(obs, act)
            if not (isinstance(out, list | tuple) and len(out) == factor_num
                    and all(np.shape(f) == (len(obs), 1) for f in out)):
                raise LLMCodeFailed(f"evaluation_func must return {factor_num} arrays shaped ({len(obs)}, 1)")
            return np.concatenate([np.asarray(f, dtype=np.float32) for f in out], axis=1)
        except (LLMCodeError, ValueError, TypeError) as error:  # e.g. a factor that is not finite on a new state
            raise exit_for(error, "LaRe: the evaluation function failed during training") from None

    return encode


# The decoder and its training by return decomposition.
class RewardDecoder(nn.Module):
    """f_psi: per-step inputs (LLM factors for LaRe, raw [s, a, s-s'] for the baselines) -> proxy reward."""

    def __init__(self, in_dim, hidden=256):
        super().__init__()
        self.net = mlp(in_dim, 1, hidden)

    def forward(self, x):
        return self.net(x).squeeze(-1)


def decoder_inputs(rb, idx, factors, device):
    """The decoder's inputs at buffer positions idx: the LLM factors, or [s, a, s - s'] for the raw baselines."""
    if factors:
        x = rb.factors[idx]
    else:
        x = np.concatenate([rb.obs[idx], rb.actions[idx], rb.obs[idx] - rb.next_obs[idx]], axis=1)
    return torch.as_tensor(x, device=device)


def decomposition_loss(pred, seg, returns, lengths, counts, kind):
    """Return-decomposition loss over a few episodes (docs/methods.md).
    pred: predicted rewards of the sampled steps; seg: episode slot of each step; returns, lengths (T), counts (K):
    per episode. All target the per-step mean return R/T:
      rd:           (sum_t r_t / T - R/T)^2 over whole episodes (counts == lengths)
      rrd:          (mean of the K sampled r_t - R/T)^2
      rrd-unbiased: rrd minus (1 - K/T) * s^2 / K, s^2 the sample variance of the K predictions; this removes the
                    sampling variance of the K-step mean (sampling without replacement), so the loss is an unbiased
                    estimate of the rd loss."""
    returns, lengths, counts = (torch.as_tensor(x, dtype=pred.dtype, device=pred.device) for x in (returns, lengths, counts))
    seg = torch.as_tensor(seg, device=pred.device)
    mean = torch.zeros_like(returns).index_add_(0, seg, pred) / counts
    loss = (mean - returns / lengths) ** 2
    if kind == "rrd-unbiased":
        var = torch.zeros_like(returns).index_add_(0, seg, (pred - mean[seg]) ** 2) / (counts - 1).clamp(min=1)
        loss = loss - (1 - counts / lengths) * var / counts
    return loss.mean()


def ircr_rewards(rb, idx):
    """IRCR (Gangwani et al. 2020), in its simple form: the guidance reward of a transition is the return of the
    trajectory it belongs to, min-max normalised over the stored trajectories to [0, 1]. IRCR averages the returns of
    all stored trajectories that contain the same (s, a); in continuous control every (s, a) is unique, so the
    average is over the one trajectory that holds it."""
    first = rb.first_whole_episode()
    stored = rb.ep_return[max(first - 1, 0):]  # also the partly overwritten one whose later steps may be sampled
    lo, hi = stored.min(), stored.max()
    r = rb.ep_return[rb.episode_ids[idx]]
    return (r - lo) / (hi - lo) if hi > lo else np.ones_like(r)


# ---------------------------------------------------------------------------------------------------------------------
# TD3's pieces: a replay buffer that keeps whole episodes, the target networks' update, evaluation
# ---------------------------------------------------------------------------------------------------------------------
class EpisodicReplayBuffer:
    """A ring buffer of transitions that also remembers which episode each transition belongs to, so that return
    decomposition can sample steps of whole finished episodes and IRCR can look up a transition's episode return.
    Single env: the transitions of an episode are contiguous, and every stored transition outside the current
    episode belongs to a finished one."""

    ARRAYS = ("obs", "next_obs", "actions", "dense_rewards", "episodic_rewards", "terminations", "episode_ids", "factors")
    COUNTERS = ("total", "encoded", "cur_start", "ep_start", "ep_len", "ep_return")

    def __init__(self, size, obs_dim, act_dim, factor_dim=0):
        self.size = size
        self.obs, self.next_obs = np.zeros((size, obs_dim), np.float32), np.zeros((size, obs_dim), np.float32)
        self.actions, self.factors = np.zeros((size, act_dim), np.float32), np.zeros((size, factor_dim), np.float32)
        self.dense_rewards, self.episodic_rewards, self.terminations = (np.zeros(size, np.float32) for _ in range(3))
        self.episode_ids = np.zeros(size, np.int64)
        self.total = 0  # transitions ever added; the position of transition g (its global index) is g % size
        self.encoded = 0  # transitions whose LLM factors are computed (lazily, in batches)
        # Episode table, indexed by episode id: global index of the first step, length, return (finished ones only).
        self.ep_start, self.ep_len, self.ep_return = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
        self.cur_start = 0  # global index of the current (unfinished) episode's first step

    @property
    def oldest(self):
        return max(self.total - self.size, 0)

    @property
    def num_episodes(self):
        return len(self.ep_start)

    def add(self, obs, next_obs, action, dense_reward, episodic_reward, termination, done):
        i = self.total % self.size
        self.obs[i], self.next_obs[i], self.actions[i] = obs, next_obs, action
        self.dense_rewards[i], self.episodic_rewards[i], self.terminations[i] = dense_reward, episodic_reward, termination
        self.episode_ids[i] = self.num_episodes
        self.total += 1
        if done:
            self.ep_start = np.append(self.ep_start, self.cur_start)
            self.ep_len = np.append(self.ep_len, self.total - self.cur_start)
            self.ep_return = np.append(self.ep_return, episodic_reward)  # the episodic reward of the last step is the return
            self.cur_start = self.total

    def first_whole_episode(self):
        # Episodes are stored in order; those that started before the oldest stored transition were partly overwritten.
        return int(np.searchsorted(self.ep_start, self.oldest))

    def sample(self, batch_size, rng, finished_only=False):
        # Transitions of finished episodes are exactly those stored before the current episode's first step.
        end = self.cur_start if finished_only else self.total
        return rng.integers(self.oldest, end, batch_size) % self.size

    def sample_episode_steps(self, num_episodes, k, rng):
        """Pick `num_episodes` whole finished episodes uniformly; from each take min(k, T) distinct steps
        (k=None: all T steps). Returns buffer positions, the episode slot of each position, and per episode
        the return R, the length T and the number of sampled steps."""
        eps = rng.integers(self.first_whole_episode(), self.num_episodes, num_episodes)
        lengths = self.ep_len[eps]
        idx, seg, counts = [], [], []
        for j, (ep, length) in enumerate(zip(eps, lengths)):
            offsets = np.arange(length) if k is None or k >= length else rng.choice(length, k, replace=False)
            idx.append((self.ep_start[ep] + offsets) % self.size)
            seg.append(np.full(len(offsets), j))
            counts.append(len(offsets))
        return np.concatenate(idx), np.concatenate(seg), self.ep_return[eps], lengths, np.array(counts)

    def encode_pending(self, encoder):
        """Compute the LLM factors of every transition added since the last call, in one batched call."""
        start = max(self.encoded, self.oldest)
        if start < self.total:
            pos = np.arange(start, self.total) % self.size
            self.factors[pos] = encoder(self.obs[pos], self.actions[pos])
        self.encoded = self.total

    def state_dict(self):
        n = min(self.total, self.size)
        return {**{k: getattr(self, k)[:n] for k in self.ARRAYS}, **{k: getattr(self, k) for k in self.COUNTERS}}

    def load_state_dict(self, state):
        for k in self.ARRAYS:
            getattr(self, k)[: len(state[k])] = state[k]
        for k in self.COUNTERS:
            setattr(self, k, state[k])


def soft_update(nets, tau):
    """Polyak averaging of each (network, target network) pair."""
    for net, target in nets:
        for param, target_param in zip(net.parameters(), target.parameters()):
            target_param.data.mul_(1 - tau).add_(tau * param.data)


def evaluate(actor, env_id, n, seed, device, max_episode_steps=None):
    """Deterministic policy, true (dense) return; the n episodes run side by side so the actor is called in batches."""
    envs = [make_env(env_id, seed + i, max_episode_steps, episodic=False) for i in range(n)]
    obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)])
    returns, lengths, alive = np.zeros(n), np.zeros(n, np.int64), np.ones(n, bool)
    while alive.any():
        with torch.no_grad():
            actions = actor(torch.as_tensor(obs, dtype=torch.float32, device=device)).cpu().numpy()
        for i in np.flatnonzero(alive):
            obs[i], r, term, trunc, _ = envs[i].step(actions[i])
            returns[i] += r
            lengths[i] += 1
            alive[i] = not (term or trunc)
    for e in envs:
        e.close()
    return returns, lengths


# ---------------------------------------------------------------------------------------------------------------------
# Training loop: TD3 on the reward the chosen reward model gives each sampled transition
# ---------------------------------------------------------------------------------------------------------------------
def train(args: Args) -> dict:
    """Trains one policy in a new run folder (or the resumed checkpoint's) and returns its summary."""
    run = Run(args, f"{args.env_id}__{args.exp_name}__{args.seed}", CHECKPOINT_FORMAT)
    ckpt = run.checkpoint
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(args.seed)  # replay and episode sampling
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # One env, plain Gymnasium API: no vector env, so no autoreset, and the final observation is explicit.
    env = make_env(args.env_id, args.seed, args.max_episode_steps)
    assert isinstance(env.action_space, gym.spaces.Box), "only continuous action space is supported"
    obs_dim, act_dim = env.observation_space.shape[0], env.action_space.shape[0]

    # LaRe: the LLM designs the latent-reward encoder phi(s, a) once, before training.
    encoder, source, llm_info = None, None, {}
    if args.reward_model == "lare":
        if ckpt is not None:  # the checkpoint carries the verified function: no LLM needed to resume
            source, llm_info = ckpt["llm_source"], ckpt["llm"]
        else:
            try:
                source, factor_num, llm_info = design_latent_reward(args, env, print)
            except (LLMCodeError, llmcode.client.LLMError, CacheError) as error:  # no usable answer: one line, non-zero exit
                raise exit_for(error, "LaRe: no usable evaluation_func from the LLM") from None
            llm_info = dict(llm_info, factor_num=factor_num)
        encoder = make_encoder(source, llm_info["factor_num"])
        (run.dir / "evaluation_func.py").write_text(source)
        run.writer.add_text("llm/evaluation_func", f"```python\n{source}\n```")
        run.log(0, {"llm/factor_num": llm_info["factor_num"], "llm/verify_retries": llm_info.get("retries", 0)})

    actor = Actor(obs_dim, env.action_space).to(device)
    qf1 = QNetwork(obs_dim, act_dim).to(device)
    qf2 = QNetwork(obs_dim, act_dim).to(device)
    qf1_target = QNetwork(obs_dim, act_dim).to(device)
    qf2_target = QNetwork(obs_dim, act_dim).to(device)
    target_actor = Actor(obs_dim, env.action_space).to(device)
    targets = [(actor, target_actor), (qf1, qf1_target), (qf2, qf2_target)]
    for net, target in targets:
        target.load_state_dict(net.state_dict())
    # fused Adam: the same update in one kernel per step; on a CPU it is several times faster than the default loop
    q_optimizer = optim.Adam(list(qf1.parameters()) + list(qf2.parameters()), lr=args.learning_rate, fused=True)
    actor_optimizer = optim.Adam(list(actor.parameters()), lr=args.learning_rate, fused=True)
    decoder, decoder_optimizer = None, None
    if args.reward_model in ("lare", "rd", "rrd", "rrd-unbiased"):
        in_dim = llm_info["factor_num"] if args.reward_model == "lare" else 2 * obs_dim + act_dim
        decoder = RewardDecoder(in_dim, args.reward_hidden).to(device)
        decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.reward_learning_rate, fused=True)
    loss_kind = args.lare_loss if args.reward_model == "lare" else args.reward_model
    # Small budgets (tests) need no 1M-row buffer.
    rb = EpisodicReplayBuffer(min(args.buffer_size, args.total_timesteps), obs_dim, act_dim, llm_info.get("factor_num", 0))

    # Everything with a state_dict that a checkpoint must hold to resume training exactly.
    parts = {"actor": actor, "qf1": qf1, "qf2": qf2, "target_actor": target_actor, "qf1_target": qf1_target,
             "qf2_target": qf2_target, "q_optimizer": q_optimizer, "actor_optimizer": actor_optimizer}
    if decoder is not None:
        parts.update(decoder=decoder, decoder_optimizer=decoder_optimizer)
    start_step, best_eval, evals = 0, -np.inf, []
    resumes = []  # where this run was interrupted and continued (reported in summary.json)
    if ckpt is not None:
        for name, part in parts.items():
            part.load_state_dict(ckpt[name])
        rb.load_state_dict(ckpt["buffer"])
        start_step, best_eval, evals = ckpt["global_step"], ckpt["best_eval"], ckpt["evals"]
        rng.bit_generator.state = ckpt["rng"]
        resumes = ckpt["resumes"] + [{"step": start_step, "exact": True}]
        run.restore_random_streams()
        restore_env(env, ckpt["env"])
        obs, ep_return, ep_length = ckpt["obs"], ckpt["ep_return"], ckpt["ep_length"]
    else:
        obs, _ = env.reset(seed=args.seed)
        ep_return, ep_length = 0.0, 0

    start_time = time.time()
    learn_t0, learn_eval_time = None, 0.0  # to time the updating phase alone (the random warm-up is much faster)
    bar = run.progress(args.total_timesteps, start_step, f"{args.env_id} {args.reward_model}", mininterval=2.0)
    for global_step in range(start_step, args.total_timesteps):
        eval_time = run.seconds["evaluation"]
        if global_step == max(args.learning_starts, start_step):
            learn_t0, learn_eval_time = time.time(), eval_time
        if global_step < args.learning_starts:
            action = env.action_space.sample()
        else:
            with torch.no_grad():
                action = actor(torch.as_tensor(obs, dtype=torch.float32, device=device).unsqueeze(0))[0]
                action += torch.normal(0, actor.action_scale * args.exploration_noise)
                action = action.cpu().numpy().clip(env.action_space.low, env.action_space.high)

        next_obs, episodic_reward, termination, truncation, info = env.step(action)
        ep_return += info["dense_reward"]
        ep_length += 1
        done = termination or truncation
        # Store `termination` only: at a time limit (truncation) the target still bootstraps from Q(next_obs).
        # next_obs is the true final observation; the reset observation below only starts the next episode.
        rb.add(obs, next_obs, action, info["dense_reward"], episodic_reward, float(termination), done)
        if done:
            run.log(global_step, {"charts/episodic_return": ep_return, "charts/episodic_length": ep_length})
            next_obs, _ = env.reset()
            ep_return, ep_length = 0.0, 0
        obs = next_obs

        have_episode = rb.first_whole_episode() < rb.num_episodes
        if global_step >= args.learning_starts and (args.reward_model != "ircr" or have_episode):
            idx = rb.sample(args.batch_size, rng, finished_only=args.reward_model == "ircr")
            if args.reward_model == "dense":
                rewards = torch.as_tensor(rb.dense_rewards[idx], device=device)
            elif args.reward_model == "none":
                rewards = torch.as_tensor(rb.episodic_rewards[idx], device=device)
            elif args.reward_model == "ircr":
                rewards = torch.as_tensor(ircr_rewards(rb, idx), dtype=torch.float32, device=device)
            else:
                if encoder is not None:
                    rb.encode_pending(encoder)
                # The proxy reward replaces the batch reward (detached: TD3 does not train the decoder). Before any
                # episode has finished it is the untrained decoder's output, as in the reference.
                with torch.no_grad():
                    rewards = decoder(decoder_inputs(rb, idx, encoder is not None, device))
                if have_episode:  # one decoder step per TD3 step, on K steps of each of a few finished episodes
                    k = None if loss_kind == "rd" else args.rrd_k
                    n_eps = max(args.batch_size // (int(rb.ep_len.mean()) if k is None else k), 1)
                    ep_idx, seg, ep_ret, ep_len, counts = rb.sample_episode_steps(n_eps, k, rng)
                    pred = decoder(decoder_inputs(rb, ep_idx, encoder is not None, device))
                    reward_loss = decomposition_loss(pred, seg, ep_ret, ep_len, counts, loss_kind)
                    decoder_optimizer.zero_grad()
                    reward_loss.backward()
                    decoder_optimizer.step()
            data_obs, data_next_obs, data_actions, data_terminations = (
                torch.as_tensor(x[idx], device=device) for x in (rb.obs, rb.next_obs, rb.actions, rb.terminations))
            with torch.no_grad():
                clipped_noise = (torch.randn_like(data_actions) * args.policy_noise).clamp(
                    -args.noise_clip, args.noise_clip) * target_actor.action_scale
                next_state_actions = (target_actor(data_next_obs) + clipped_noise).clamp(
                    env.action_space.low[0], env.action_space.high[0])
                min_qf_next_target = torch.min(qf1_target(data_next_obs, next_state_actions),
                                               qf2_target(data_next_obs, next_state_actions)).view(-1)
                next_q_value = rewards + (1 - data_terminations) * args.gamma * min_qf_next_target
            qf1_a_values = qf1(data_obs, data_actions).view(-1)
            qf2_a_values = qf2(data_obs, data_actions).view(-1)
            qf1_loss = F.mse_loss(qf1_a_values, next_q_value)
            qf2_loss = F.mse_loss(qf2_a_values, next_q_value)
            qf_loss = qf1_loss + qf2_loss
            q_optimizer.zero_grad()
            qf_loss.backward()
            q_optimizer.step()

            actor_step = global_step % args.policy_frequency == 0  # delayed policy updates
            if actor_step:
                actor_loss = -qf1(data_obs, actor(data_obs)).mean()
                actor_optimizer.zero_grad()
                actor_loss.backward()
                actor_optimizer.step()
                soft_update(targets, args.tau)

            if global_step % 100 == 0:
                # How well the reward fed to TD3 matches the hidden dense reward (the reference's reward_pred_err).
                dense, proxy = rb.dense_rewards[idx], rewards.cpu().numpy()
                correlated = proxy.std() > 0 and dense.std() > 0
                run.log(global_step, {
                    "losses/qf1_values": qf1_a_values.mean().item(), "losses/qf1_loss": qf1_loss.item(),
                    "losses/qf2_loss": qf2_loss.item(), "losses/qf_loss": qf_loss.item() / 2.0,
                    "losses/actor_loss": actor_loss.item() if actor_step else None,
                    "losses/reward_loss": reward_loss.item() if decoder is not None and have_episode else None,
                    "charts/reward_pred_err": float(np.mean((proxy - dense) ** 2)),
                    "charts/reward_pred_corr": float(np.corrcoef(proxy, dense)[0, 1]) if correlated else None,
                    "charts/SPS": int((global_step + 1 - start_step) / (time.time() - start_time - eval_time))})

        if (global_step + 1) % args.eval_frequency == 0 or global_step + 1 == args.total_timesteps:
            with run.timed("evaluation"):
                returns, lengths = evaluate(actor, args.env_id, args.eval_episodes, args.seed + 10_000 + global_step,
                                            device, args.max_episode_steps)
            run.log(global_step + 1, {"eval/episodic_return": returns.mean(), "eval/episodic_length": lengths.mean()})
            evals.append([global_step + 1, float(returns.mean())])
            best_eval = max(best_eval, float(returns.mean()))
            bar.set_postfix(eval=f"{returns.mean():.1f}", best=f"{best_eval:.1f}")
        bar.update(1)

        if run.due((global_step + 1) % args.checkpoint_frequency == 0 or global_step + 1 == args.total_timesteps):
            run.save({**{name: part.state_dict() for name, part in parts.items()}, "global_step": global_step + 1,
                      "best_eval": best_eval, "evals": evals, "rng": rng.bit_generator.state, "buffer": rb.state_dict(),
                      "env": env_snapshot(env), "obs": obs, "ep_return": ep_return, "ep_length": ep_length,
                      "resumes": resumes, "llm_source": source, "llm": llm_info})

    env.close()
    train_time, eval_time = time.time() - start_time, run.seconds["evaluation"]
    steps = args.total_timesteps - start_step
    updating = None
    if learn_t0 is not None:
        learn_time = time.time() - learn_t0 - (eval_time - learn_eval_time)
        updating = (args.total_timesteps - max(args.learning_starts, start_step)) / learn_time
    return run.finish({
        "env_id": args.env_id, "reward_model": args.reward_model, "seed": args.seed, "steps": args.total_timesteps,
        "final_eval_return": evals[-1][1] if evals else None, "best_eval_return": best_eval if evals else None,
        "evals": evals, "history": [{"step": step, "eval_return": ret} for step, ret in evals],  # the report's curve
        "sps": steps / max(train_time - eval_time, 1e-9), "sps_with_eval": steps / max(train_time, 1e-9),
        "sps_updating": updating, "train_time_s": train_time, "resumes": resumes, "llm": llm_info, "args": asdict(args),
    })


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------
def check_args(args: Args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(total_timesteps=args.total_timesteps, buffer_size=args.buffer_size, batch_size=args.batch_size,
                 policy_frequency=args.policy_frequency, eval_frequency=args.eval_frequency,
                 eval_episodes=args.eval_episodes, checkpoint_frequency=args.checkpoint_frequency, rrd_k=args.rrd_k,
                 reward_hidden=args.reward_hidden, llm_samples=args.llm_samples)
    if args.learning_starts < 0 or args.llm_max_retries < 0 or args.torch_threads < 0:
        usage_error("--learning-starts, --llm-max-retries and --torch-threads must be 0 or more")
    if args.env_id not in gym.registry:
        usage_error(f"unknown --env-id {args.env_id!r}; use a Gymnasium MuJoCo id such as HalfCheetah-v5")
    tasks = sorted(p.name.removesuffix(".task.txt") for p in (REPO_ROOT / args.prompt_dir / "envs").glob("*.task.txt"))
    if args.reward_model == "lare" and not args.resume and env_name(args.env_id) not in tasks:
        usage_error(f"LaRe has prompts for {', '.join(f'{t}-v5' for t in tasks)}; not for {args.env_id!r}")


if __name__ == "__main__":
    args = resumed_args(parse(Args), CHECKPOINT_FORMAT)  # a resume goes on with its run's settings (a new budget aside)
    check_args(args)
    train(args)
