# LaRe (Qu et al., AAAI-25, arXiv 2412.11120) for multi-agent credit assignment: IPPO (one actor-critic shared by all
# agents, each acting on its own observation) on the Multi-Particle Environments with an episodic team reward.
# An LLM-written function turns each agent's next observation into latent factors; a decoder trained by return
# decomposition (sum over agents and steps = the return per agent) turns them into a per-agent, per-step reward.
# Baselines: --reward-model rd (decoder on raw observations) | none (episodic reward as is) | dense (oracle).
# Backends: --backend mpe2 (PettingZoo's MPE with LaRe's physics) | vmas (vectorized torch simulation).
# Sections, as in every script of algos/: arguments, environment, networks, the method, PPO's pieces, the training
# loop, the entry point. Docs: README.md, section "LaRe with IPPO on the Multi-Particle Environments".
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim
from torch.distributions.categorical import Categorical

from llmcode.cache import CacheError
from llmcode.client import LLMClient, LLMError
from llmcode.errors import exit_for
from llmcode.extract import extract_json
from llmcode.prompts import chat, render_prompt
from llmcode.safe_runner import LLMCodeError, LLMCodeFailed, SandboxUnavailable, compile_llm_function
from mpe_envs import SCENARIOS, make_envs, observation_layout
from runkit import Run, check_choice, check_counts, parse, resumed_args, usage_error

REPO_ROOT = Path(__file__).resolve().parent.parent
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
    """save a checkpoint (networks, optimisers, episode buffer, LLM function) every
    `checkpoint_frequency` PPO updates, at least every 10 minutes, and at the end (Ctrl-C always saves one)"""
    checkpoint_frequency: int = 100
    """with --save-model, checkpoint every this many PPO updates"""
    resume: str | None = None
    """path of a checkpoint (`<run folder>/checkpoint.pt`) to resume from (its run folder and settings are reused; a
    new --total-timesteps is not)"""
    runs_dir: str = "runs"
    """folder that receives the run folder"""

    # Algorithm specific arguments (defaults: LaRe's MPE settings, its mpe/arguments.py and mpe/models/policy/ppo.py)
    scenario: str = "spread_n6"
    """spread_n6 | spread_n15 | spread_n30 (Cooperative Navigation), tag_n6 | tag_n15 | tag_n30 (Predator-Prey)"""
    backend: Literal["mpe2", "vmas"] = "mpe2"
    """mpe2: PettingZoo's MPE with LaRe's physics, envs stepped one by one; vmas: one batched torch simulation with
    VMAS's contact model"""
    total_timesteps: int = 2_050_000
    """total env steps (each moves every agent once); the default is 1000 PPO updates of 82 x 25 steps"""
    num_envs: int = 82
    """parallel envs; each PPO update collects one whole episode per env (82 x 25 = 2050, the reference's batch 2048)"""
    episode_length: int = 25
    """steps per episode (the reference's max_step_per_round)"""
    learning_rate: float = 1e-4
    """the learning rate of the optimizer"""
    anneal_lr: bool = True
    """linear schedule of the learning rate, set after each update as LaRe does (2/num_updates of it at the last)"""
    gamma: float = 1.0
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    minibatch_size: int = 128
    """samples (one agent at one step) per minibatch"""
    update_epochs: int = 10
    """epochs' worth of minibatches per update: update_epochs x samples / minibatch_size minibatches, each drawn
    afresh without replacement (LaRe's sampling, not a shuffled pass)"""
    norm_adv: bool = True
    """advantages normalised over the whole batch"""
    clip_coef: float = 0.5
    """the surrogate clipping coefficient"""
    anneal_clip: bool = True
    """linear schedule of the clipping coefficient to 0, as the learning rate"""
    ent_coef: float = 0.01
    """coefficient of the entropy"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    huber_delta: float = 10.0
    """the value loss is a Huber loss with this delta, clipped around the old values by the initial clip_coef"""
    max_grad_norm: float = 10.0
    """the maximum norm for the gradient clipping"""
    hidden_size: int = 64
    """hidden width of the actor and the critic (two tanh layers each)"""
    eval_frequency: int = 100
    """evaluate the policy (sampling its actions) on the true team return every this many PPO updates (and at the
    end); LaRe evaluates every 100 training episodes, about every update, which would double a CPU run's time"""
    eval_episodes: int = 50
    """the number of evaluation episodes"""

    # Reward model
    reward_model: Literal["lare", "rd", "none", "dense"] = "lare"
    """lare: LLM factors + decoder; rd: the decoder on raw observations; none: the episodic reward as is (team
    return / n_agents to every agent at the last step); dense: each agent's own per-step reward (LaRe's dense
    baseline, an oracle here)"""
    reward_frequency: int = 10
    """train the reward decoder after every this many PPO updates, once the buffer holds a batch of episodes"""
    reward_gradient_steps: int = 50
    """decoder gradient steps per decoder training"""
    reward_batch_episodes: int = 256
    """episodes sampled (without replacement) per decoder gradient step"""
    reward_buffer_episodes: int = 15_000
    """capacity of the episode buffer of the decoder"""
    reward_learning_rate: float = 5e-4
    """learning rate of the reward decoder (Adam)"""
    reward_weight_decay: float = 1e-5
    """weight decay of the reward decoder"""
    reward_hidden: int = 64
    """hidden width of the reward decoder"""
    reward_layers: int = 5
    """number of linear layers of the reward decoder"""

    # LLM (only used by --reward-model lare)
    llm_mode: Literal["cached", "live", "record"] = "cached"
    """cached: replay llm_outputs/ (no network); live: ask an OpenAI-compatible endpoint; record: live, and save the answers"""
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
    llm_outputs: str = "llm_outputs/lare/mpe"
    """folder of the cached LLM answers (one sub-folder per scenario), relative to the repository root"""
    prompt_dir: str = "prompts/lare/mpe"
    """folder of the prompt templates and task descriptions, relative to the repository root"""


# ---------------------------------------------------------------------------------------------------------------------
# Environment: the MPE scenarios of mpe_envs; every PPO update runs one whole episode in each env
# ---------------------------------------------------------------------------------------------------------------------
def rollout(agent, envs, length, device, generator=None):
    """One whole episode in every env (all envs start and end together). Returns tensors (T, E, N, ...). Actions are
    sampled with `generator` when one is given (the evaluation's, so that it leaves the training's stream alone)."""
    obs = envs.reset().to(device)
    buf = {k: [] for k in ("obs", "actions", "logprobs", "values", "rewards", "next_obs")}
    for _ in range(length):
        with torch.no_grad():
            action, logprob, value = agent.get_action_and_value(obs, generator=generator)
        next_obs, reward = envs.step(action)
        next_obs, reward = next_obs.to(device), reward.to(device)
        for k, v in zip(buf, (obs, action, logprob, value, reward, next_obs)):
            buf[k].append(v)
        obs = next_obs
    return {k: torch.stack(v) for k, v in buf.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Networks: one actor-critic shared by all agents
# ---------------------------------------------------------------------------------------------------------------------
def layer_init(layer, std=1.0, bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    """One actor-critic shared by all agents (parameter sharing); each agent feeds its own observation. LaRe's
    network: separate actor and critic, two tanh layers each, orthogonal weights with gain 1 (actor head 0.01)."""

    def __init__(self, obs_dim, n_actions, hidden=64):
        super().__init__()

        def body():
            return [layer_init(nn.Linear(obs_dim, hidden)), nn.Tanh(), layer_init(nn.Linear(hidden, hidden)), nn.Tanh()]

        self.critic = nn.Sequential(*body(), layer_init(nn.Linear(hidden, 1)))
        self.actor = nn.Sequential(*body(), layer_init(nn.Linear(hidden, n_actions), std=0.01))

    def get_action_and_value(self, x, action=None, generator=None):
        probs = Categorical(logits=self.actor(x))
        if action is None and generator is not None:
            flat = probs.probs.reshape(-1, probs.probs.shape[-1])
            action = torch.multinomial(flat, 1, generator=generator).reshape(probs.probs.shape[:-1])
        elif action is None:
            action = probs.sample()
        return action, probs.log_prob(action), self.critic(x).squeeze(-1)


# ---------------------------------------------------------------------------------------------------------------------
# LaRe: the LLM's latent-reward encoder (self-verified), the reward decoder, return decomposition, episode buffer
# ---------------------------------------------------------------------------------------------------------------------
# LLM stage: latent-reward factors with self-verification (docs/methods.md).
def observation_form(scn):
    """One learner's observation entry by entry, and what a relative position is: the layout, as LaRe's prompt gives it."""
    lines, start = [], 0
    for _, size, text in observation_layout(scn):
        lines.append(f"- observation[:, {start}:{start + size}]: {text}")
        start += size
    lines.append("A relative position is the other entity's (x, y) minus the agent's own (x, y).")
    return "\n".join(lines)


def contact_distance(scn):
    """The distance that LaRe's task text states: spread, two agents collide within it (2 r_agent); tag, a predator
    catches a prey within it (r_pred + r_prey). Per scenario, from its entry in mpe_envs.SCENARIOS."""
    return scn["collide_dist"] if scn["kind"] == "spread" else scn["catch_dist"]


def read_answer(text):
    """The function source of a JSON answer; raises ValueError with a message fit for the LLM."""
    try:
        data = extract_json(text)
    except Exception as e:  # the extractor's own error type: re-raised as ValueError, its message kept for the LLM
        raise ValueError(str(e)) from e
    source = next((v for k, v in data.items() if k.lower() in ("function", "functions", "code")), None)
    if not isinstance(source, str) or "evaluation_func" not in source:
        raise ValueError('the JSON answer has no "function" string defining evaluation_func')
    return source


def verify_factors(fn, obs):
    """Runs the LLM function on real observations of all agents; its contract: a list of finite (batch, 1) arrays."""
    out = fn(obs.copy())
    if not isinstance(out, list | tuple) or len(out) == 0:
        raise ValueError(f"evaluation_func must return a non-empty list of arrays, got {type(out).__name__}")
    for i, f in enumerate(out):
        shape = tuple(np.shape(f))
        if shape != (obs.shape[0], 1):
            raise ValueError(f"factor {i} has shape {shape}, expected ({obs.shape[0]}, 1)")
        if not np.all(np.isfinite(np.asarray(f, dtype=np.float64))):
            raise ValueError(f"factor {i} contains non-finite values")
    return len(out)


def render_messages(args, scn):
    """The LLM sees what LaRe's MPE prompt gives: the goal, what the agents are, the collision (spread) or catch (tag)
    distance, that landmarks are fixed obstacles (tag), and the observation layout; no reward, episode or arena facts."""
    prompts = REPO_ROOT / args.prompt_dir
    obs_dim = sum(size for _, size, _ in observation_layout(scn))
    fields = dict(n_agents=scn["n_agents"], n_landmarks=scn["n_landmarks"], n_prey=scn["n_prey"], obs_dim=obs_dim,
                  contact_distance=f"{contact_distance(scn):g}")
    task = render_prompt(prompts / "scenarios" / f"{scn['kind']}.task.txt", **fields).strip()
    return chat(render_prompt(prompts / "system.txt"),
                render_prompt(prompts / "generate.txt", task=task, observation_form=observation_form(scn), **fields))


def design_latent_reward(args, scn, reset_obs, log):
    """n candidate evaluation functions, merged into one, verified on the real reset observations of all agents,
    errors sent back up to llm_max_retries times. Returns (source, number of factors, transcript summary)."""
    prompts = REPO_ROOT / args.prompt_dir
    obs_dim = reset_obs.shape[1]
    client = LLMClient(mode=args.llm_mode, cache_dir=REPO_ROOT / args.llm_outputs / args.scenario, answers=args.llm_answers, model=args.llm_model,
                       base_url=args.llm_base_url, temperature=args.llm_temperature)
    messages = render_messages(args, scn)
    candidates = client.ask(messages, n=args.llm_samples, position="candidates", temperature=args.llm_temperature)
    answer = candidates[0]
    if args.llm_samples > 1:
        blocks = []
        for i, c in enumerate(candidates):
            try:
                blocks.append(f"Expert {i + 1}:\n```python\n{read_answer(c.text).strip()}\n```")
            except ValueError:
                blocks.append(f"Expert {i + 1} (raw answer):\n{c.text.strip()}")
        merge = render_prompt(prompts / "merge.txt", candidates="\n\n".join(blocks), obs_dim=obs_dim)
        messages = messages + [{"role": "user", "content": merge}]
        answer = client.ask(messages, n=1, position="merge", temperature=args.llm_merge_temperature)[0]

    obs = np.asarray(reset_obs, np.float32)
    for attempt in range(args.llm_max_retries + 1):
        try:
            source = read_answer(answer.text)
            fn = compile_llm_function(source, entry="evaluation_func")
            factor_num = verify_factors(fn, obs)
            log(f"LLM function verified after {attempt} retries: {factor_num} factors")
            return source, factor_num, {"retries": attempt, "candidates": len(candidates)}
        except SandboxUnavailable:
            raise
        except (LLMCodeError, ValueError, TypeError) as e:  # refused, failed, or broke the contract: said back
            error = f"{type(e).__name__}: {e}"
            log(f"LLM function failed verification ({attempt + 1}/{args.llm_max_retries + 1}): {error}")
            if attempt == args.llm_max_retries:
                raise LLMCodeFailed(f"no valid evaluation_func after {attempt} retries; last error: {error}") from None
            fix = render_prompt(prompts / "fix.txt", error=error, batch=obs.shape[0], obs_dim=obs_dim)
            messages = messages + [{"role": "assistant", "content": answer.text}, {"role": "user", "content": fix}]
            answer = client.ask(messages, n=1, position=f"fix{attempt + 1}", temperature=args.llm_merge_temperature)[0]


def make_encoder(source, factor_num):
    """The verified LLM function as a batched encoder: torch (..., obs_dim) -> torch (..., k) on the same device.
    Every call is checked (the runner: finite, |x| <= 1e6; here: the factors' count and shapes)."""
    fn = compile_llm_function(source, entry="evaluation_func")

    def encode(obs):
        flat = obs.reshape(-1, obs.shape[-1]).cpu().numpy()
        try:
            factors = fn(flat)
            if not (isinstance(factors, list | tuple) and len(factors) == factor_num
                    and all(np.shape(f) == (len(flat), 1) for f in factors)):
                raise LLMCodeFailed(f"evaluation_func must return {factor_num} arrays shaped ({len(flat)}, 1)")
            z = np.concatenate([np.asarray(f, dtype=np.float32) for f in factors], axis=1)
        except (LLMCodeError, ValueError, TypeError) as error:  # e.g. a factor that is not finite on a new state
            raise exit_for(error, "LaRe: the evaluation function failed during training") from None
        return torch.as_tensor(z, device=obs.device).reshape(*obs.shape[:-1], -1)

    return encode


# The reward decoder, trained by return decomposition on a buffer of whole episodes.
class RewardDecoder(nn.Module):
    """f_psi: per-agent, per-step inputs (LLM factors for LaRe, the raw observation for rd) -> proxy reward."""

    def __init__(self, in_dim, hidden=64, layers=5):
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1)
        mods = []
        for a, b in zip(dims[:-1], dims[1:]):
            mods += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*mods, nn.Linear(dims[-1], 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def decomposition_loss(pred, returns):
    """Return decomposition, sum form with per-agent credit (docs/methods.md): pred (episodes, T, n_agents) are the
    predicted rewards of every step of every agent; loss = mean over episodes of (sum_{t, i} pred - R)^2, with R the
    episode's return per agent (the team return / n_agents)."""
    return ((pred.sum(dim=(1, 2)) - returns) ** 2).mean()


def train_decoder(decoder, optimizer, buffer, steps, batch_episodes):
    """`steps` gradient steps of return decomposition on episodes drawn from the buffer; returns the last loss."""
    for _ in range(steps):
        x, returns = buffer.sample(min(batch_episodes, buffer.size))
        loss = decomposition_loss(decoder(x), returns)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


class EpisodeBuffer:
    """A ring of whole episodes: the decoder inputs of every step and agent, and the episode's return."""

    def __init__(self, capacity, length, n_agents, in_dim, device):
        self.x = torch.zeros(capacity, length, n_agents, in_dim, device=device)
        self.returns = torch.zeros(capacity, device=device)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, x, returns):
        idx = (self.pos + torch.arange(len(x), device=self.x.device)) % self.capacity
        self.x[idx], self.returns[idx] = x, returns
        self.pos = (self.pos + len(x)) % self.capacity
        self.size = min(self.size + len(x), self.capacity)

    def sample(self, n):
        idx = torch.randperm(self.size, device=self.x.device)[:n]
        return self.x[idx], self.returns[idx]

    def state_dict(self):
        return {"x": self.x[: self.size].cpu(), "returns": self.returns[: self.size].cpu(), "pos": self.pos,
                "capacity": self.capacity}

    def load_state_dict(self, state):
        x, returns, pos = state["x"], state["returns"], state["pos"]
        if state["capacity"] != self.capacity:
            # A run extended with a larger --total-timesteps has a larger buffer (capacity = min(reward_buffer_episodes,
            # all episodes of the run)). Lay the episodes out oldest first from slot 0, as the uninterrupted run has
            # them (sampling draws slot indices), and keep the newest if they do not all fit.
            if len(returns) == state["capacity"]:  # full: the oldest episode sits at pos
                order = torch.cat([torch.arange(pos, len(returns)), torch.arange(pos)])
                x, returns = x[order], returns[order]
            x, returns = x[-self.capacity :], returns[-self.capacity :]
            pos = len(returns) % self.capacity
        n = len(returns)
        self.x[:n], self.returns[:n] = x.to(self.x.device), returns.to(self.x.device)
        self.size, self.pos = n, pos


# ---------------------------------------------------------------------------------------------------------------------
# PPO's pieces: the Huber loss of the values, advantages over whole episodes
# ---------------------------------------------------------------------------------------------------------------------
def huber(error, delta: float):
    return torch.where(error.abs() < delta, 0.5 * error**2, delta * (error.abs() - 0.5 * delta))


def compute_gae(rewards, values, gamma: float, lam: float):
    """Generalised advantage estimation over (T, ...) whole episodes. The last step is a real end (fixed-length
    episodes whose reward arrives at the end): nothing is bootstrapped after it."""
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0
    for t in reversed(range(rewards.shape[0])):
        next_values = values[t + 1] if t + 1 < rewards.shape[0] else torch.zeros_like(values[t])
        delta = rewards[t] + gamma * next_values - values[t]
        advantages[t] = lastgaelam = delta + gamma * lam * lastgaelam
    return advantages, advantages + values


# ---------------------------------------------------------------------------------------------------------------------
# Training loop: IPPO with the chosen reward model
# ---------------------------------------------------------------------------------------------------------------------
def train(args: Args) -> dict:
    """Trains the shared policy in a new run folder (or the resumed checkpoint's) and returns its summary."""
    run = Run(args, f"{args.scenario}__{args.exp_name}__{args.seed}", CHECKPOINT_FORMAT)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")
    ckpt = run.checkpoint

    scn, T = SCENARIOS[args.scenario], args.episode_length
    n_agents, batch_steps = scn["n_agents"], args.num_envs * T
    num_updates = max(args.total_timesteps // batch_steps, 1)
    envs = make_envs(args.backend, scn, args.num_envs, args.seed, device, T)
    eval_envs = make_envs(args.backend, scn, args.eval_episodes, args.seed + 10_000, device, T)
    eval_actions = torch.Generator(device).manual_seed(args.seed + 20_000)
    reset_obs = envs.reset()
    obs_dim = reset_obs.shape[-1]

    # LaRe: the LLM designs the latent-reward encoder once, before training, verified on real reset observations. A
    # resumed run goes on with the function its checkpoint carries (no LLM needed).
    encoder, source, llm_info = None, None, {}
    if args.reward_model == "lare":
        if ckpt is not None:
            source, llm_info = ckpt["llm_source"], ckpt["llm"]
        else:
            try:
                source, factor_num, llm_info = design_latent_reward(args, scn, reset_obs[0].cpu().numpy(), print)
            except (LLMCodeError, LLMError, CacheError) as error:  # no usable answer: one line, non-zero exit
                raise exit_for(error, "LaRe: no usable evaluation_func from the LLM") from None
            llm_info = dict(llm_info, factor_num=factor_num)
        encoder = make_encoder(source, llm_info["factor_num"])
        (run.dir / "evaluation_func.py").write_text(source)
        run.writer.add_text("llm/evaluation_func", f"```python\n{source}\n```")
        run.log(0, {"llm/factor_num": llm_info["factor_num"], "llm/verify_retries": llm_info.get("retries", 0)})

    agent = Agent(obs_dim, envs.n_actions, args.hidden_size).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate)
    parts = {"agent": agent, "optimizer": optimizer}
    decoder = None
    if args.reward_model in ("lare", "rd"):
        in_dim = llm_info["factor_num"] if args.reward_model == "lare" else obs_dim
        decoder = RewardDecoder(in_dim, args.reward_hidden, args.reward_layers).to(device)
        decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.reward_learning_rate,
                                       weight_decay=args.reward_weight_decay)
        buffer = EpisodeBuffer(min(args.reward_buffer_episodes, num_updates * args.num_envs), T, n_agents, in_dim, device)
        parts.update(decoder=decoder, decoder_optimizer=decoder_optimizer, buffer=buffer)
    reward_scale = T * n_agents  # LaRe multiplies every arm's rewards by max_step_per_round x n_agents

    start_update, best_eval, evals, train_returns = 1, -np.inf, [], []
    if ckpt is not None:
        for name, part in parts.items():
            part.load_state_dict(ckpt[name])
        start_update, best_eval = ckpt["update"] + 1, ckpt["best_eval"]
        evals, train_returns = ckpt["evals"], ckpt["train_returns"]
        # Every random stream, restored after setup has drawn from them: the global ones (torch draws the actions, the
        # minibatches and the decoder's batches) and the envs' own, so that the envs are not re-seeded with seed + i.
        run.restore_random_streams()
        try:
            eval_actions.set_state(ckpt["eval_action_rng"].cpu())
        except RuntimeError:  # saved on another kind of device
            print("eval_action_rng: saved on another device; the evaluation's actions start from their seed")
        for name, e in (("env_rng", envs), ("eval_env_rng", eval_envs)):
            if not e.set_rng_state(ckpt[name]):
                print(f"{name}: saved with another number of envs; these envs start from their seed")

    start_time = time.time()
    bar = run.progress(num_updates * batch_steps, (start_update - 1) * batch_steps,
                       f"{args.scenario} {args.backend} {args.reward_model}", mininterval=2.0)
    for update in range(start_update, num_updates + 1):
        global_step = update * batch_steps
        frac = 1.0 - max(update - 2.0, 0.0) / num_updates  # LaRe anneals after each update: updates 1 and 2 at full
        lr_now = frac * args.learning_rate if args.anneal_lr else args.learning_rate
        clip_now = frac * args.clip_coef if args.anneal_clip else args.clip_coef
        optimizer.param_groups[0]["lr"] = lr_now

        with run.timed("simulation"):
            data = rollout(agent, envs, T, device)
        dense = data["rewards"]  # (T, E, N): each agent's own per-step env reward, hidden from the learner
        team_return = dense.sum(dim=(0, 2))  # (E,) the episodic team reward
        # LaRe's code regresses on agent 0's return, one agent's sample of this per-agent mean (docs/methods.md)
        per_agent_return = team_return / n_agents
        train_returns.append([global_step, float(team_return.mean())])
        # every episode of this update ended at its last step: all of them enter the logged mean
        run.log(global_step, {"charts/episodic_return": team_return.mean().item(), "charts/episodic_length": T})

        # The reward the learner sees, scaled as LaRe scales every arm's.
        with run.timed("reward"):
            if decoder is not None:
                # decoder inputs from next observations: LLM factors (lare) or the raw observation (rd); (E, T, N, in_dim)
                x = data["next_obs"].transpose(0, 1)
                x = encoder(x) if encoder is not None else x
                buffer.add(x, per_agent_return)
                with torch.no_grad():
                    rewards = decoder(x).transpose(0, 1)
                proxy, truth = rewards.flatten().cpu().numpy(), dense.flatten().cpu().numpy()
                if proxy.std() > 0 and truth.std() > 0:
                    run.log(global_step, {"charts/reward_pred_corr": float(np.corrcoef(proxy, truth)[0, 1])})
            elif args.reward_model == "dense":
                rewards = dense
            else:  # the episodic reward: the per-agent mean return to every agent at the last step
                rewards = torch.zeros_like(dense)
                rewards[-1] = per_agent_return[:, None]
            rewards = rewards * reward_scale

        with run.timed("learning"):
            with torch.no_grad():
                advantages, returns = compute_gae(rewards, data["values"], args.gamma, args.gae_lambda)

            # flatten the batch: every (step, env, agent) is one sample of the shared policy
            b_obs = data["obs"].reshape(-1, obs_dim)
            b_logprobs, b_actions = data["logprobs"].reshape(-1), data["actions"].reshape(-1)
            b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), data["values"].reshape(-1)
            if args.norm_adv:
                b_advantages = (b_advantages - b_advantages.mean()) / (b_advantages.std() + 1e-10)
            n_samples = b_obs.shape[0]
            minibatch_size = min(args.minibatch_size, n_samples)

            clipfracs = []
            for _ in range(max(args.update_epochs * n_samples // minibatch_size, 1)):
                mb_inds = torch.randperm(n_samples, device=device)[:minibatch_size]
                _, newlogprob, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_now).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                pg_loss = torch.max(-mb_advantages * ratio,
                                    -mb_advantages * torch.clamp(ratio, 1 - clip_now, 1 + clip_now)).mean()
                # Huber value loss, clipped around the rollout's values by the initial clip coefficient
                old = b_values[mb_inds]
                clipped = old + (newvalue - old).clamp(-args.clip_coef, args.clip_coef)
                v_loss = torch.max(huber(b_returns[mb_inds] - newvalue, args.huber_delta),
                                   huber(b_returns[mb_inds] - clipped, args.huber_delta)).mean()
                # LaRe's entropy term: p log p of the action taken, minimised
                entropy_loss = (newlogprob.exp() * newlogprob).mean()
                loss = pg_loss + args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        # LaRe trains the decoder after the policy update, every reward_frequency updates, once a batch of episodes
        # is stored; until then the rewards come from the freshly initialised decoder.
        if decoder is not None and update % args.reward_frequency == 0 and buffer.size >= args.reward_batch_episodes:
            with run.timed("reward"):
                reward_loss = train_decoder(decoder, decoder_optimizer, buffer, args.reward_gradient_steps,
                                            args.reward_batch_episodes)
            run.log(global_step, {"losses/reward_loss": reward_loss})

        y_pred, y_true = b_values.cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y
        sps = int((update - start_update + 1) * batch_steps / (time.time() - start_time - run.seconds["evaluation"]))
        run.log(global_step, {
            "charts/learning_rate": lr_now, "charts/clip_coef": clip_now, "losses/value_loss": v_loss.item(),
            "losses/policy_loss": pg_loss.item(), "losses/entropy": entropy_loss.item(),
            "losses/old_approx_kl": old_approx_kl.item(), "losses/approx_kl": approx_kl.item(),
            "losses/clipfrac": np.mean(clipfracs), "losses/explained_variance": explained_var, "charts/SPS": sps})

        if update % args.eval_frequency == 0 or update == num_updates:
            with run.timed("evaluation"):
                eval_data = rollout(agent, eval_envs, T, device, eval_actions)
            eval_return = float(eval_data["rewards"].sum(dim=(0, 2)).cpu().numpy().mean())
            run.log(global_step, {"eval/episodic_return": eval_return})
            evals.append([global_step, eval_return])
            best_eval = max(best_eval, eval_return)
            bar.set_postfix(eval=f"{eval_return:.1f}", best=f"{best_eval:.1f}", train=f"{team_return.mean().item():.1f}")
        bar.update(batch_steps)
        # Checkpoints fall between PPO updates, and every update runs whole episodes that start with a reset: no env
        # state is saved, the random streams are all a resumed run needs to continue exactly.
        if run.due(update % args.checkpoint_frequency == 0 or update == num_updates):
            run.save({"update": update, "best_eval": best_eval, "evals": evals,
                      "train_returns": train_returns, "env_rng": envs.rng_state(), "eval_env_rng": eval_envs.rng_state(),
                      "eval_action_rng": eval_actions.get_state(),
                      "llm_source": source, "llm": llm_info, **{name: part.state_dict() for name, part in parts.items()}})

    train_time, steps = time.time() - start_time, num_updates * batch_steps
    summary = run.finish({
        "scenario": args.scenario, "backend": args.backend, "reward_model": args.reward_model, "seed": args.seed,
        "n_agents": n_agents, "steps": steps, "agent_steps": steps * n_agents, "updates": num_updates,
        "final_eval_return": evals[-1][1] if evals else None, "best_eval_return": best_eval if evals else None,
        "evals": evals, "history": [{"step": step, "eval_return": ret} for step, ret in evals],  # the benchmark report's curve
        "final_train_return": train_returns[-1][1] if train_returns else None, "train_returns": train_returns,
        "sps": (num_updates - start_update + 1) * batch_steps / max(train_time - run.seconds["evaluation"], 1e-9),
        "train_time_s": train_time, "llm": llm_info, "args": asdict(args),
    })
    envs.close()
    eval_envs.close()
    return summary


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------
def check_args(args: Args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(total_timesteps=args.total_timesteps, num_envs=args.num_envs, episode_length=args.episode_length,
                 minibatch_size=args.minibatch_size, update_epochs=args.update_epochs, hidden_size=args.hidden_size,
                 eval_frequency=args.eval_frequency, eval_episodes=args.eval_episodes,
                 checkpoint_frequency=args.checkpoint_frequency, reward_frequency=args.reward_frequency,
                 reward_gradient_steps=args.reward_gradient_steps, reward_batch_episodes=args.reward_batch_episodes,
                 reward_buffer_episodes=args.reward_buffer_episodes, reward_hidden=args.reward_hidden,
                 reward_layers=args.reward_layers, llm_samples=args.llm_samples)
    check_choice("--scenario", args.scenario, SCENARIOS)
    if args.llm_max_retries < 0 or args.torch_threads < 0:
        usage_error("--llm-max-retries and --torch-threads must be 0 or more")


if __name__ == "__main__":
    args = resumed_args(parse(Args), CHECKPOINT_FORMAT)  # a resume goes on with its run's settings (a new budget aside)
    check_args(args)
    train(args)
