# LaRe (Qu et al., AAAI-25, arXiv 2412.11120) for multi-agent credit assignment: IPPO (one actor-critic shared by all
# agents, each acting on its own observation) on the Multi-Particle Environments with an episodic team reward.
# An LLM-written function turns each agent's next observation into latent factors; a decoder trained by return
# decomposition (sum over agents and steps = team return) turns them into a per-agent, per-step reward.
# Baselines: --reward-model rd (decoder on raw observations) | none (episodic reward as is) | dense (oracle).
# Backends: --backend mpe2 (PettingZoo parallel envs, as in the paper) | vmas (vectorized torch simulation).
# Docs: README.md, section "LaRe with IPPO on the Multi-Particle Environments".
import json
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
import tyro
from torch.distributions.categorical import Categorical
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from llmcode.errors import LLMCodeError, LLMCodeFailed, exit_for
from runkit import CheckpointClock, Stopper, announce, check_choice, check_counts, cpu_model, save_atomic, stopped, usage_error

REPO_ROOT = Path(__file__).resolve().parent.parent


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
    """save a checkpoint (networks, optimisers, value normaliser, episode buffer, LLM function) every
    `checkpoint_frequency` PPO updates, at least every 10 minutes, and at the end (Ctrl-C always saves one)"""
    checkpoint_frequency: int = 100
    """with --save-model, checkpoint every this many PPO updates"""
    resume: str | None = None
    """path of a checkpoint written by --save-model to continue training from"""
    runs_dir: str = "runs"
    """folder that receives the run folder"""

    # Algorithm specific arguments (defaults: LaRe's MPE settings, methods.md §3.5)
    scenario: str = "spread_n6"
    """spread_n6 | spread_n15 | spread_n30 (Cooperative Navigation), tag_n6 | tag_n15 | tag_n30 (Predator-Prey)"""
    backend: Literal["mpe2", "vmas"] = "mpe2"
    """mpe2: PettingZoo parallel envs stepped one by one (as in the paper); vmas: one batched torch simulation"""
    total_timesteps: int = 2_050_000
    """total env steps (each moves every agent once); the default is 1000 PPO updates of 82 x 25 steps"""
    num_envs: int = 82
    """parallel envs; each PPO update collects one whole episode per env (82 x 25 = 2050, the reference's batch 2048)"""
    episode_length: int = 25
    """steps per episode (the reference's max_step_per_round)"""
    learning_rate: float = 1e-4
    """the learning rate of the optimizer"""
    anneal_lr: bool = True
    """linear schedule of the learning rate to 0"""
    gamma: float = 1.0
    """the discount factor gamma"""
    gae_lambda: float = 0.95
    """the lambda for the general advantage estimation"""
    num_minibatches: int = 16
    """minibatches per epoch: 2048 / 16 = the reference's 128 env steps, each with all n_agents samples"""
    update_epochs: int = 10
    """the K epochs to update the policy"""
    norm_adv: bool = True
    """advantages normalization"""
    clip_coef: float = 0.5
    """the surrogate clipping coefficient"""
    anneal_clip: bool = True
    """linear schedule of the clipping coefficient to 0, as the learning rate"""
    ent_coef: float = 0.01
    """coefficient of the entropy"""
    vf_coef: float = 0.5
    """coefficient of the value function"""
    max_grad_norm: float = 10.0
    """the maximum norm for the gradient clipping"""
    hidden_size: int = 128
    """hidden width of the actor and the critic"""
    layer_norm: bool = True
    """layer normalisation after every hidden layer"""
    value_norm: bool = True
    """critic predicts normalised returns (running mean/std): the x (25 n_agents) reward scale stays harmless"""
    eval_frequency: int = 100
    """evaluate the greedy policy on the true team return every this many PPO updates (and at the end)"""
    eval_episodes: int = 50
    """the number of evaluation episodes"""

    # Reward model
    reward_model: Literal["lare", "rd", "none", "dense"] = "lare"
    """lare: LLM factors + decoder; rd: the decoder on raw observations; none: the episodic team reward as is
    (team return / n_agents to every agent at the last step); dense: each agent's per-step env reward (oracle)"""
    reward_frequency: int = 10
    """train the reward decoder every this many PPO updates (and at the first one)"""
    reward_gradient_steps: int = 50
    """decoder gradient steps per decoder training"""
    reward_batch_episodes: int = 256
    """episodes sampled per decoder gradient step"""
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
    """cached: replay llm_outputs/ (no network); live: ask an OpenAI-compatible endpoint; record: live, then store the answers"""
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


# Scenarios of the reference (methods.md §3.6). Learners: the agents (spread) or the predators (tag).
SCENARIOS = {
    "spread_n6": dict(kind="spread", n_agents=6, n_landmarks=6, n_prey=0),
    "spread_n15": dict(kind="spread", n_agents=15, n_landmarks=15, n_prey=0),
    "spread_n30": dict(kind="spread", n_agents=30, n_landmarks=30, n_prey=0),
    "tag_n6": dict(kind="tag", n_agents=6, n_landmarks=3, n_prey=2),
    "tag_n15": dict(kind="tag", n_agents=15, n_landmarks=5, n_prey=5),
    "tag_n30": dict(kind="tag", n_agents=30, n_landmarks=10, n_prey=10),
}
K_LANDMARKS, K_AGENTS, K_PREY = 6, 5, 5  # each agent observes the 6 nearest landmarks, 5 nearest agents (5 nearest prey)
AGENT_SIZE = {"spread": 0.15, "tag": 0.075}  # the same radii in mpe2 and VMAS
PREY_SIZE, LANDMARK_SIZE_TAG = 0.05, 0.2
# Direction of each discrete action. mpe2: [no-op, -x, +x, -y, +y]. VMAS: 3 x 3 grid, index = 3 * ix + iy with
# 0 -> stay, 1 -> minus, 2 -> plus on each axis (9 actions, diagonals included).
MPE2_DIRECTIONS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
VMAS_DIRECTIONS = [((0, -1, 1)[a // 3], (0, -1, 1)[a % 3]) for a in range(9)]


def observation_layout(scn):
    """[(name, size, description)] of one learner's observation; the same layout for both backends."""
    k_l, k_a = min(K_LANDMARKS, scn["n_landmarks"]), min(K_AGENTS, scn["n_agents"] - 1)
    mates = "predators" if scn["kind"] == "tag" else "agents"
    layout = [("vel", 2, "the agent's own velocity (x, y)"),
              ("pos", 2, "the agent's own absolute position (x, y)"),
              ("landmarks", 2 * k_l, f"the positions of the {k_l} nearest landmarks relative to the agent, nearest first, (x, y) each"),
              ("mates", 2 * k_a, f"the positions of the {k_a} nearest other {mates} relative to the agent, nearest first, (x, y) each")]
    if scn["kind"] == "tag":
        k_p = min(K_PREY, scn["n_prey"])
        layout += [("prey_pos", 2 * k_p, f"the positions of the {k_p} nearest prey relative to the agent, nearest first, (x, y) each"),
                   ("prey_vel", 2 * k_p, f"the velocities of the same {k_p} prey, in the same order, (x, y) each")]
    return layout


def nearest(src, dst, k, exclude_self=False):
    """Relative positions dst - src of the k nearest dst per src row (nearest first) and their indices.
    src (B, N, 2), dst (B, M, 2) -> (B, N, k, 2), (B, N, k)."""
    rel = dst[:, None, :, :] - src[:, :, None, :]
    dist = rel.norm(dim=-1)
    if exclude_self:
        dist = dist + torch.diag(torch.full((src.shape[1],), float("inf"), device=src.device))
    idx = dist.topk(k, dim=-1, largest=False, sorted=True).indices
    return rel.gather(2, idx[..., None].expand(*idx.shape, 2)), idx


def build_observation(scn, pos, vel, landmarks, prey_pos=None, prey_vel=None):
    """K-nearest observation of every learner from the world state (torch, batched): (B, N, obs_dim)."""
    b, n = pos.shape[:2]
    k_l, k_a = min(K_LANDMARKS, scn["n_landmarks"]), min(K_AGENTS, n - 1)
    parts = [vel, pos, nearest(pos, landmarks, k_l)[0].reshape(b, n, -1), nearest(pos, pos, k_a, True)[0].reshape(b, n, -1)]
    if scn["kind"] == "tag":
        rel, idx = nearest(pos, prey_pos, min(K_PREY, scn["n_prey"]))
        pv = prey_vel[:, None].expand(b, n, *prey_vel.shape[1:]).gather(2, idx[..., None].expand(*idx.shape, 2))
        parts += [rel.reshape(b, n, -1), pv.reshape(b, n, -1)]
    return torch.cat(parts, dim=-1)


def scripted_prey_actions(prey_pos, pred_pos, directions):
    """The prey policy (the reference drives prey with a pre-trained checkpoint that is not public; this replaces it).
    Each prey flees the predators, weighting each by 1/distance, and is pushed back when it leaves the [-0.8, 0.8]
    square (mpe2 penalises prey outside 0.9, VMAS walls them in at 1); it takes the discrete action whose direction
    best matches. prey_pos (B, P, 2), pred_pos (B, N, 2), directions (A, 2) -> actions (B, P)."""
    away = prey_pos[:, :, None] - pred_pos[:, None]
    flee = (away / (away**2).sum(-1, keepdim=True).clamp(min=1e-2)).sum(2)
    flee = flee / flee.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    outside = (prey_pos.abs() - 0.8).clamp(min=0) * prey_pos.sign()
    steer = flee - 10.0 * outside
    unit = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    return (steer @ unit.T).argmax(-1)


# Backend 1: mpe2 (PettingZoo). A thin parallel-API wrapper: K-nearest observations, scripted prey.
def make_knearest_mpe(scn, max_cycles=25):
    from gymnasium import spaces
    from pettingzoo import ParallelEnv

    class KNearestMPE(ParallelEnv):
        """mpe2's simple_spread / simple_tag with the reference's observations: each learner sees its velocity and
        position and the K nearest landmarks, other learners (and prey). mpe2's own num_*_neighbors options are not used:
        its tag variant mixes predators and prey in one neighbour list, and its spread variant appends always-zero
        communication slots. In tag only the predators are agents of this env; the prey follow scripted_prey_actions.
        Dynamics and rewards are mpe2's, unchanged (simple_spread local_ratio 0.5; simple_tag: every predator gets
        +10 per predator-prey contact of the whole team)."""

        metadata = {"name": f"knearest_{scn['kind']}_v0", "render_modes": [], "is_parallelizable": True}

        def __init__(self):
            if scn["kind"] == "spread":
                from mpe2 import simple_spread_v3

                self.env = simple_spread_v3.parallel_env(N=scn["n_agents"], local_ratio=0.5, max_cycles=max_cycles,
                                                         continuous_actions=False)
            else:
                from mpe2 import simple_tag_v3

                self.env = simple_tag_v3.parallel_env(num_good=scn["n_prey"], num_adversaries=scn["n_agents"],
                                                      num_obstacles=scn["n_landmarks"], max_cycles=max_cycles,
                                                      continuous_actions=False)
            self.world = self.env.unwrapped.world
            self.learners = [a for a in self.world.agents if scn["kind"] == "spread" or a.adversary]
            self.prey = [a for a in self.world.agents if scn["kind"] == "tag" and not a.adversary]
            self.possible_agents = [a.name for a in self.learners]
            self.agents = []
            obs_dim = sum(size for _, size, _ in observation_layout(scn))
            self.observation_spaces = {a: spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32) for a in self.possible_agents}
            self.action_spaces = {a: spaces.Discrete(5) for a in self.possible_agents}
            self.directions = torch.tensor(MPE2_DIRECTIONS, dtype=torch.float32)

        def observation_space(self, agent):
            return self.observation_spaces[agent]

        def action_space(self, agent):
            return self.action_spaces[agent]

        def _state(self, entities, attr="p_pos"):
            return torch.as_tensor(np.array([getattr(e.state, attr) for e in entities]), dtype=torch.float32)[None]

        def _observe(self):
            prey = (self._state(self.prey), self._state(self.prey, "p_vel")) if self.prey else (None, None)
            obs = build_observation(scn, self._state(self.learners), self._state(self.learners, "p_vel"),
                                    self._state(self.world.landmarks), *prey)[0].numpy()
            return {a: obs[i] for i, a in enumerate(self.possible_agents)}

        def reset(self, seed=None, options=None):
            self.env.reset(seed=seed, options=options)
            self.agents = list(self.possible_agents)
            return self._observe(), {a: {} for a in self.agents}

        def step(self, actions):
            actions = {a: int(actions[a]) for a in self.agents}
            if self.prey:
                prey_act = scripted_prey_actions(self._state(self.prey), self._state(self.learners), self.directions)[0]
                actions.update({p.name: int(u) for p, u in zip(self.prey, prey_act)})
            _, rew, term, trunc, _ = self.env.step(actions)
            obs = self._observe()
            agents = self.agents
            rewards = {a: float(rew[a]) for a in agents}
            terminations = {a: bool(term[a]) for a in agents}
            truncations = {a: bool(trunc[a]) for a in agents}
            if any(terminations.values()) or any(truncations.values()):
                self.agents = []
            return obs, rewards, terminations, truncations, {a: {} for a in agents}

        def close(self):
            self.env.close()

    return KNearestMPE()


class MPE2Vec:
    """num_envs KNearestMPE envs stepped one after the other; torch tensors (num_envs, n_agents, ...) in and out."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        self.envs = [make_knearest_mpe(scn, episode_length) for _ in range(num_envs)]
        self.names = self.envs[0].possible_agents
        self.n_actions, self.device, self.seed = 5, device, seed

    def reset(self):
        seeds = [self.seed + i for i in range(len(self.envs))] if self.seed is not None else [None] * len(self.envs)
        self.seed = None  # seed the first reset only; later episodes continue each env's random stream
        obs = [e.reset(seed=s)[0] for e, s in zip(self.envs, seeds)]
        return torch.as_tensor(np.array([[o[a] for a in self.names] for o in obs]), device=self.device)

    def rng_state(self):
        """The random streams of these envs, for a checkpoint: mpe2 draws only from each env's np_random (its reset
        positions; no action noise in these scenarios), plus whether the first reset is still to be seeded."""
        return {"seed": self.seed, "np_random": [e.env.unwrapped.np_random.bit_generator.state for e in self.envs]}

    def set_rng_state(self, state):
        """Restore rng_state(); False (nothing restored) if it was saved with another number of envs."""
        if len(state["np_random"]) != len(self.envs):
            return False
        self.seed = state["seed"]  # None once seeded: a resumed run must not re-seed its envs with seed + i
        for e, s in zip(self.envs, state["np_random"]):
            e.env.unwrapped.np_random.bit_generator.state = s
        return True

    def step(self, actions):
        actions = actions.cpu().numpy()
        out = [e.step(dict(zip(self.names, a))) for e, a in zip(self.envs, actions)]
        obs = np.array([[o[0][a] for a in self.names] for o in out])
        rew = np.array([[o[1][a] for a in self.names] for o in out], np.float32)
        return torch.as_tensor(obs, device=self.device), torch.as_tensor(rew, device=self.device)

    def close(self):
        for e in self.envs:
            e.close()


# Backend 2: VMAS, one batched simulation. Scenario subclasses: the same K-nearest observations, and the library's
# rewards computed for all agents at once (the same formulas as its Python loops, which are O(N^2) per agent).
class VMASVec:
    """VMAS simple_spread / simple_tag (their own physics: substeps, contact forces, tag's walls at +-1) with discrete
    actions (VMAS's 3 x 3 grid, 9 actions). Rewards as in VMAS: simple_spread gives every agent the global reward
    (minus n_agents x the sum over landmarks of the closest agent's distance, minus 1 per overlapping ordered pair);
    simple_tag (adversaries_share_rew, its default) gives every predator +10 per predator-prey contact of the team."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        import vmas
        from vmas.scenarios.mpe import simple_spread, simple_tag

        spread = scn["kind"] == "spread"
        base = simple_spread.Scenario if spread else simple_tag.Scenario

        class KNearest(base):
            def state(self):
                learners = [a for a in self.world.agents if spread or a.adversary]
                prey = [a for a in self.world.agents if not spread and not a.adversary]
                pos = torch.stack([a.state.pos for a in learners], 1)
                vel = torch.stack([a.state.vel for a in learners], 1)
                lm = torch.stack([m.state.pos for m in self.world.landmarks], 1)
                if spread:
                    return pos, vel, lm, None, None
                return pos, vel, lm, torch.stack([a.state.pos for a in prey], 1), torch.stack([a.state.vel for a in prey], 1)

            def observation(self, agent):
                i = self.world.agents.index(agent)
                if i == 0:  # VMAS asks agent by agent, first agent first: compute everyone's once
                    self.obs_cache = build_observation(scn, *self.state())
                if i < scn["n_agents"]:  # learners come first in both scenarios
                    return self.obs_cache[:, i]
                return torch.zeros(self.world.batch_dim, 1, device=self.world.device)  # prey: scripted, unobserved

            def reward(self, agent):
                i = self.world.agents.index(agent)
                if i == 0:
                    pos, _, lm, prey_pos, _ = self.state()
                    if spread:
                        closest = (pos[:, :, None] - lm[:, None]).norm(dim=-1).min(dim=1).values.sum(-1)
                        d = (pos[:, :, None] - pos[:, None]).norm(dim=-1)
                        eye = torch.eye(pos.shape[1], dtype=torch.bool, device=pos.device)
                        overlaps = ((d < 2 * AGENT_SIZE["spread"]) & ~eye).sum((1, 2))
                        # VMAS subtracts the coverage term once per agent (its landmark loop sits in its agent loop)
                        self.rew_cache = (-closest * pos.shape[1] - overlaps, None)
                    else:
                        hit = (prey_pos[:, :, None] - pos[:, None]).norm(dim=-1) < AGENT_SIZE["tag"] + PREY_SIZE
                        self.rew_cache = (10.0 * hit.sum((1, 2)), -10.0 * hit.sum(2))
                if i < scn["n_agents"]:
                    return self.rew_cache[0].float()
                return self.rew_cache[1][:, i - scn["n_agents"]].float()

        kwargs = (dict(n_agents=scn["n_agents"]) if spread else
                  dict(num_adversaries=scn["n_agents"], num_good_agents=scn["n_prey"], num_landmarks=scn["n_landmarks"]))
        # VMAS keeps ONE random state for all its envs (Environment.vmas_random_state, a class attribute that it swaps
        # in around every call and that make_env re-seeds), and on a GPU it draws reset positions from torch's CUDA
        # generator, which the training samples from too. So that the evaluation env neither re-seeds nor consumes the
        # training env's stream (training would then depend on --eval-frequency / --eval-episodes), every VMASVec keeps
        # its own copy of these streams in self.rng and swaps it in around each call into VMAS; a checkpoint saves it.
        self.device = torch.device(device)
        outer = self._global_rng()
        self.env = vmas.make_env(KNearest(), num_envs=num_envs, device=device, continuous_actions=False, seed=seed,
                                 max_steps=None, **kwargs)
        self.rng = self._global_rng()  # seeded with `seed`, after make_env's first reset
        self._set_global_rng(outer)
        self.scn, self.n_actions = scn, 9
        self.directions = torch.tensor(VMAS_DIRECTIONS, dtype=torch.float32, device=device)

    def _global_rng(self):
        from vmas.simulator.environment.environment import Environment

        state = {"vmas": list(Environment.vmas_random_state)}  # [torch CPU, numpy, python] states
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def _set_global_rng(self, state):
        from vmas.simulator.environment.environment import Environment

        Environment.vmas_random_state[:] = state["vmas"]  # in place: VMAS's decorators hold this very list
        if "cuda" in state:
            torch.cuda.set_rng_state(state["cuda"], self.device)

    def _call(self, fn, *a):
        """fn(*a) with this env's random streams swapped in (and the caller's swapped back afterwards)."""
        outer = self._global_rng()
        self._set_global_rng(self.rng)
        try:
            return fn(*a)
        finally:
            self.rng = self._global_rng()
            self._set_global_rng(outer)

    def rng_state(self):
        return dict(self.rng)

    def set_rng_state(self, state):
        self.rng = dict(self.rng, vmas=list(state["vmas"]))
        if "cuda" in state and self.device.type == "cuda":
            self.rng["cuda"] = state["cuda"]
        return True

    def reset(self):
        obs = self._call(self.env.reset)
        return torch.stack(obs[: self.scn["n_agents"]], 1)

    def step(self, actions):
        n = self.scn["n_agents"]
        acts = [actions[:, i] for i in range(n)]
        if self.scn["kind"] == "tag":
            pos, _, _, prey_pos, _ = self.env.scenario.state()
            acts += list(scripted_prey_actions(prey_pos, pos, self.directions).unbind(1))
        obs, rews, _, _ = self._call(self.env.step, acts)
        return torch.stack(obs[:n], 1), torch.stack(rews[:n], 1)

    def close(self):
        pass


def make_envs(backend, scn, num_envs, seed, device, episode_length=25):
    cls = MPE2Vec if backend == "mpe2" else VMASVec
    # mpe2 computes on the CPU anyway; VMAS simulates on the training device
    return cls(scn, num_envs, seed, device if backend == "vmas" else torch.device("cpu"), episode_length)


# ALGO LOGIC: initialize agent here:
def layer_init(layer, std=2**0.5, bias_const=0.0):
    torch.nn.init.orthogonal_(layer.weight, std)
    torch.nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    """One actor-critic shared by all agents (parameter sharing); each agent feeds its own observation."""

    def __init__(self, obs_dim, n_actions, hidden=128, layer_norm=True):
        super().__init__()

        def body():
            norm = (lambda: nn.LayerNorm(hidden)) if layer_norm else nn.Identity
            return [layer_init(nn.Linear(obs_dim, hidden)), nn.ReLU(), norm(), layer_init(nn.Linear(hidden, hidden)), nn.ReLU(), norm()]

        self.critic = nn.Sequential(*body(), layer_init(nn.Linear(hidden, 1), std=1.0))
        self.actor = nn.Sequential(*body(), layer_init(nn.Linear(hidden, n_actions), std=0.01))

    def get_value(self, x):
        return self.critic(x).squeeze(-1)

    def get_action_and_value(self, x, action=None, greedy=False):
        logits = self.actor(x)
        probs = Categorical(logits=logits)
        if action is None:
            action = logits.argmax(-1) if greedy else probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x).squeeze(-1)


class ValueNorm(nn.Module):
    """Running mean and variance of the value targets; the critic predicts normalised targets."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(()))
        self.register_buffer("var", torch.ones(()))
        self.register_buffer("count", torch.zeros(()))

    def update(self, x):
        x = x.detach().flatten().double()
        n, total = x.numel(), self.count + x.numel()
        delta = x.mean() - self.mean
        m2 = self.var * self.count + x.var(unbiased=False) * n + delta**2 * self.count * n / total
        self.mean.copy_(self.mean + delta * n / total)
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def normalize(self, x):
        return (x - self.mean.float()) / self.var.float().clamp(min=1e-8).sqrt()

    def denormalize(self, x):
        return x * self.var.float().clamp(min=1e-8).sqrt() + self.mean.float()


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
    """Return decomposition, sum form with per-agent credit (methods.md §3.4): pred (episodes, T, n_agents) are the
    predicted rewards of every step of every agent; loss = mean over episodes of (sum_{t, i} pred - R)^2."""
    return ((pred.sum(dim=(1, 2)) - returns) ** 2).mean()


class EpisodeBuffer:
    """A ring of whole episodes: the decoder inputs of every step and agent, and the team return."""

    def __init__(self, capacity, length, n_agents, in_dim, device):
        self.x = torch.zeros(capacity, length, n_agents, in_dim, device=device)
        self.returns = torch.zeros(capacity, device=device)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, x, returns):
        idx = (self.pos + torch.arange(len(x), device=self.x.device)) % self.capacity
        self.x[idx], self.returns[idx] = x, returns
        self.pos = (self.pos + len(x)) % self.capacity
        self.size = min(self.size + len(x), self.capacity)

    def sample(self, n, generator=None):
        idx = torch.randint(0, self.size, (n,), device=self.x.device, generator=generator)
        return self.x[idx], self.returns[idx]

    def state_dict(self):
        return {"x": self.x[: self.size].cpu(), "returns": self.returns[: self.size].cpu(), "pos": self.pos,
                "capacity": self.capacity}

    def load_state_dict(self, state):
        x, returns, pos = state["x"], state["returns"], state["pos"]
        if state.get("capacity", self.capacity) != self.capacity:
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


# LLM stage: latent-reward factors with self-verification (methods.md §3.2, §3.3).
def observation_form(scn):
    lines, start = [], 0
    for _, size, text in observation_layout(scn):
        lines.append(f"- observation[:, {start}:{start + size}]: {text}")
        start += size
    if scn["kind"] == "spread":
        lines.append(f"Two agents collide when their distance is below {2 * AGENT_SIZE['spread']:.2f}.")
    else:
        lines.append(f"A predator touches (catches) a prey when their distance is below {AGENT_SIZE['tag'] + PREY_SIZE:.3f}; "
                     f"a predator bumps into a landmark when their distance is below {AGENT_SIZE['tag'] + LANDMARK_SIZE_TAG:.3f}.")
    lines.append("Positions are in world units; the agents start in [-1, 1] x [-1, 1].")
    return "\n".join(lines)


def read_answer(text):
    """Parse an answer into (json dict, function source); raises ValueError with a message fit for the LLM."""
    from llmcode.extract import extract_json

    try:
        data = extract_json(text)
    except Exception as e:  # the extractor's own error type: re-raised as ValueError, its message kept for the LLM
        raise ValueError(str(e)) from e
    source = next((v for k, v in data.items() if k.lower() in ("function", "functions", "code")), None)
    if not isinstance(source, str) or "evaluation_func" not in source:
        raise ValueError('the JSON answer has no "function" string defining evaluation_func')
    return data, source


def verify_factors(fn, obs):
    """Run the LLM function on real observations of all agents and check the contract: a list of (batch, 1) finite arrays."""
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
    from llmcode.prompts import chat, render_prompt

    prompts = REPO_ROOT / args.prompt_dir
    obs_dim = sum(size for _, size, _ in observation_layout(scn))
    fields = dict(n_agents=scn["n_agents"], n_landmarks=scn["n_landmarks"], n_prey=scn["n_prey"],
                  episode_length=args.episode_length, obs_dim=obs_dim)
    task = render_prompt(prompts / "scenarios" / f"{scn['kind']}.task.txt", **fields).strip()
    return chat(render_prompt(prompts / "system.txt"),
                render_prompt(prompts / "generate.txt", task=task, observation_form=observation_form(scn), **fields))


def design_latent_reward(args, scn, reset_obs, log):
    """n candidate evaluation functions, merged into one, verified on the real reset observations of all agents,
    errors sent back up to llm_max_retries times. Returns (source, number of factors, transcript summary)."""
    from llmcode.client import LLMClient
    from llmcode.prompts import render_prompt
    from llmcode.safe_runner import SandboxUnavailable, compile_llm_function

    prompts = REPO_ROOT / args.prompt_dir
    obs_dim = reset_obs.shape[1]
    client = LLMClient(mode=args.llm_mode, cache_dir=REPO_ROOT / args.llm_outputs / args.scenario, model=args.llm_model,
                       base_url=args.llm_base_url, temperature=args.llm_temperature)
    messages = render_messages(args, scn)
    candidates = client.ask(messages, n=args.llm_samples, position="candidates", temperature=args.llm_temperature)
    answer = candidates[0]
    if args.llm_samples > 1:
        blocks = []
        for i, c in enumerate(candidates):
            try:
                blocks.append(f"Expert {i + 1}:\n```python\n{read_answer(c.text)[1].strip()}\n```")
            except ValueError:
                blocks.append(f"Expert {i + 1} (raw answer):\n{c.text.strip()}")
        merge = render_prompt(prompts / "merge.txt", candidates="\n\n".join(blocks), obs_dim=obs_dim)
        messages = messages + [{"role": "user", "content": merge}]
        answer = client.ask(messages, n=1, position="merge", temperature=args.llm_merge_temperature)[0]

    obs = np.asarray(reset_obs, np.float32)
    for attempt in range(args.llm_max_retries + 1):
        try:
            source = read_answer(answer.text)[1]
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
                raise LLMCodeFailed(f"no valid evaluation_func after {args.llm_max_retries} retries; last error: {error}") from None
            fix = render_prompt(prompts / "fix.txt", error=error, batch=obs.shape[0], obs_dim=obs_dim)
            messages = messages + [{"role": "assistant", "content": answer.text}, {"role": "user", "content": fix}]
            answer = client.ask(messages, n=1, position=f"fix{attempt + 1}", temperature=args.llm_merge_temperature)[0]


def make_encoder(source, factor_num):
    """The verified LLM function as a batched encoder: torch (..., obs_dim) -> torch (..., k) on the same device.
    Every call is checked (the runner: finite, |x| <= 1e6; here: the factors' count and shapes)."""
    from llmcode.safe_runner import compile_llm_function

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




def rollout(agent, envs, length, device, greedy=False):
    """One whole episode in every env (all envs start and end together). Returns tensors (T, E, N, ...)."""
    obs = envs.reset().to(device)
    buf = {k: [] for k in ("obs", "actions", "logprobs", "values", "rewards", "next_obs")}
    for _ in range(length):
        with torch.no_grad():
            action, logprob, _, value = agent.get_action_and_value(obs, greedy=greedy)
        next_obs, reward = envs.step(action)
        next_obs, reward = next_obs.to(device), reward.to(device)
        for k, v in zip(buf, (obs, action, logprob, value, reward, next_obs)):
            buf[k].append(v)
        obs = next_obs
    return {k: torch.stack(v) for k, v in buf.items()}


def check_args(args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(total_timesteps=args.total_timesteps, num_envs=args.num_envs, episode_length=args.episode_length,
                 num_minibatches=args.num_minibatches, update_epochs=args.update_epochs, hidden_size=args.hidden_size,
                 eval_frequency=args.eval_frequency, eval_episodes=args.eval_episodes,
                 checkpoint_frequency=args.checkpoint_frequency, reward_frequency=args.reward_frequency,
                 reward_gradient_steps=args.reward_gradient_steps, reward_batch_episodes=args.reward_batch_episodes,
                 reward_buffer_episodes=args.reward_buffer_episodes, reward_hidden=args.reward_hidden,
                 reward_layers=args.reward_layers, llm_samples=args.llm_samples)
    check_choice("--scenario", args.scenario, SCENARIOS)
    if args.llm_max_retries < 0 or args.torch_threads < 0:
        usage_error("--llm-max-retries and --torch-threads must be 0 or more")


if __name__ == "__main__":
    args = tyro.cli(Args)
    check_args(args)
    scn = SCENARIOS[args.scenario]
    # map_location: a checkpoint written on a GPU resumes on a CPU-only machine too (states are moved to `device` below)
    ckpt = torch.load(args.resume, map_location="cpu", weights_only=False) if args.resume else None
    run_name = f"{args.scenario}__{args.exp_name}__{args.seed}__{int(time.time())}"
    run_dir = Path(args.runs_dir) / run_name
    if args.track:
        import wandb

        wandb.init(project=args.wandb_project_name, entity=args.wandb_entity, sync_tensorboard=True, config=vars(args),
                   name=run_name, save_code=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    announce(run_dir)
    writer = SummaryWriter(str(run_dir))
    table = "\n".join(f"|{k}|{v}|" for k, v in vars(args).items())
    writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}")

    # TRY NOT TO MODIFY: seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # env setup: every PPO update runs one whole episode in each of num_envs envs
    T, n_agents = args.episode_length, scn["n_agents"]
    batch_steps = args.num_envs * T
    num_updates = max(args.total_timesteps // batch_steps, 1)
    envs = make_envs(args.backend, scn, args.num_envs, args.seed, device, T)
    eval_envs = make_envs(args.backend, scn, args.eval_episodes, args.seed + 10_000, device, T)
    reset_obs = envs.reset()
    obs_dim = reset_obs.shape[-1]

    # LaRe: the LLM designs the latent-reward encoder once, before training, verified on real reset observations.
    encoder, llm_info, source = None, {}, None
    if args.reward_model == "lare":
        if ckpt is not None:  # the checkpoint carries the verified function: no LLM needed to resume
            source, factor_num, llm_info = ckpt["llm_source"], ckpt["llm_factor_num"], ckpt["llm_info"]
        else:
            try:
                source, factor_num, llm_info = design_latent_reward(args, scn, reset_obs[0].cpu().numpy(), tqdm.write)
            except LLMCodeError as error:  # no usable answer: one line, non-zero exit
                raise exit_for(error, "LaRe: no usable evaluation_func from the LLM") from None
        encoder = make_encoder(source, factor_num)
        (run_dir / "evaluation_func.py").write_text(source)
        writer.add_text("llm/evaluation_func", f"```python\n{source}\n```")
        writer.add_scalar("llm/factor_num", factor_num, 0)
        writer.add_scalar("llm/verify_retries", llm_info.get("retries", 0), 0)
        llm_info = dict(llm_info, factor_num=factor_num)

    agent = Agent(obs_dim, envs.n_actions, args.hidden_size, args.layer_norm).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    value_norm = ValueNorm().to(device)
    parts = {"agent": agent, "optimizer": optimizer, "value_norm": value_norm}
    decoder, buffer = None, None
    if args.reward_model in ("lare", "rd"):
        in_dim = llm_info["factor_num"] if args.reward_model == "lare" else obs_dim
        decoder = RewardDecoder(in_dim, args.reward_hidden, args.reward_layers).to(device)
        decoder_optimizer = optim.Adam(decoder.parameters(), lr=args.reward_learning_rate, weight_decay=args.reward_weight_decay)
        parts.update(decoder=decoder, decoder_optimizer=decoder_optimizer)
        buffer = EpisodeBuffer(min(args.reward_buffer_episodes, num_updates * args.num_envs), T, n_agents, in_dim, device)
    reward_scale = T * n_agents  # the reference multiplies the predicted rewards by max_step_per_round x n_agents

    start_update, best_eval, evals, train_returns = 1, -np.inf, [], []
    cpus = [cpu_model()]  # the CPU of each stretch of the run: first the start, then one per resume
    if ckpt is not None:
        for name, part in parts.items():
            part.load_state_dict(ckpt[name])
        if buffer is not None:
            buffer.load_state_dict(ckpt["buffer"])
        start_update, best_eval, evals, train_returns = ckpt["update"] + 1, ckpt["best_eval"], ckpt["evals"], ckpt["train_returns"]
        cpus = ckpt.get("cpus", ["not recorded"]) + cpus
        # Every random stream the run draws from, restored last (setup above drew from some of them): torch (policy
        # sampling, minibatch and decoder-batch indices), numpy / python (unused by this script, but the LLM function
        # may draw from numpy), and the envs' own streams (so that the envs are not re-seeded with seed + i).
        torch.set_rng_state(ckpt["torch_rng"])
        if ckpt.get("cuda_rng") is not None and device.type == "cuda":
            torch.cuda.set_rng_state(ckpt["cuda_rng"], device)
        if "env_rng" in ckpt:  # absent from checkpoints written before it was saved: those resume, not exactly
            np.random.set_state(ckpt["numpy_rng"])
            random.setstate(ckpt["python_rng"])
            for name, e in (("env_rng", envs), ("eval_env_rng", eval_envs)):
                if not e.set_rng_state(ckpt[name]):
                    tqdm.write(f"{name}: saved with another number of envs; these envs start from their seed")

    def save_checkpoint(update):
        # Checkpoints fall between PPO updates and every update runs whole episodes that start with a reset (rollout),
        # so no env state is saved: the random streams are all a resumed run needs to continue exactly.
        state = {"update": update, "global_step": update * batch_steps, "best_eval": best_eval, "evals": evals,
                 "train_returns": train_returns, "torch_rng": torch.get_rng_state(),
                 "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                 "numpy_rng": np.random.get_state(), "python_rng": random.getstate(),
                 "env_rng": envs.rng_state(), "eval_env_rng": eval_envs.rng_state(), "cpus": cpus,
                 "args": asdict(args)}
        state.update({name: part.state_dict() for name, part in parts.items()})
        if buffer is not None:
            state["buffer"] = buffer.state_dict()
        if encoder is not None:
            state.update(llm_source=source, llm_factor_num=llm_info["factor_num"], llm_info=llm_info)
        path = run_dir / f"{args.exp_name}.cleanrl_model"
        save_atomic(state, path)
        return path

    def run_eval(update):
        data = rollout(agent, eval_envs, T, device, greedy=True)
        returns = data["rewards"].sum(dim=(0, 2)).cpu().numpy()
        writer.add_scalar("eval/episodic_return", returns.mean(), update * batch_steps)
        evals.append([update * batch_steps, float(returns.mean())])
        return float(returns.mean())

    # TRY NOT TO MODIFY: start the game
    start_time, eval_time, reward_loss = time.time(), 0.0, None
    pbar = tqdm(total=num_updates * batch_steps, initial=(start_update - 1) * batch_steps, unit="step", unit_scale=True,
                desc=f"{args.scenario} {args.backend} {args.reward_model}", mininterval=2.0)
    stop, clock = Stopper().install(), CheckpointClock()  # Ctrl-C: save at the end of this update, then leave
    for update in range(start_update, num_updates + 1):
        global_step = update * batch_steps
        frac = 1.0 - (update - 1.0) / num_updates
        lr_now = frac * args.learning_rate if args.anneal_lr else args.learning_rate
        clip_now = frac * args.clip_coef if args.anneal_clip else args.clip_coef
        optimizer.param_groups[0]["lr"] = lr_now

        # ALGO LOGIC: one whole episode per env
        data = rollout(agent, envs, T, device)
        dense = data["rewards"]  # (T, E, N): each agent's own per-step env reward, hidden from the learner
        team_return = dense.sum(dim=(0, 2))  # (E,) the episodic team reward
        train_returns.append([global_step, float(team_return.mean())])
        # every episode of this update finished at this step: all of them enter the logged mean
        writer.add_scalar("charts/episodic_return", team_return.mean().item(), global_step)
        writer.add_scalar("charts/episodic_length", T, global_step)

        # The reward the learner sees.
        if args.reward_model == "dense":
            rewards = dense
        else:
            episodic = torch.zeros_like(dense)
            episodic[-1] = (team_return / n_agents)[:, None]  # team return / n_agents to every agent at the last step
            rewards = episodic
        if decoder is not None:
            # decoder inputs from next observations: LLM factors (lare) or the raw observation (rd); (E, T, N, in_dim)
            x = data["next_obs"].transpose(0, 1)
            x = encoder(x) if encoder is not None else x
            buffer.add(x, team_return)
            if (update - 1) % args.reward_frequency == 0:  # counted from update 1: the same schedule after a resume
                for _ in range(args.reward_gradient_steps):
                    bx, br = buffer.sample(min(args.reward_batch_episodes, buffer.size))
                    reward_loss = decomposition_loss(decoder(bx), br)
                    decoder_optimizer.zero_grad()
                    reward_loss.backward()
                    decoder_optimizer.step()
                writer.add_scalar("losses/reward_loss", reward_loss.item(), global_step)
            with torch.no_grad():
                rewards = decoder(x).transpose(0, 1) * reward_scale
            proxy, truth = rewards.flatten().cpu().numpy(), dense.flatten().cpu().numpy()
            if proxy.std() > 0 and truth.std() > 0:
                writer.add_scalar("charts/reward_pred_corr", float(np.corrcoef(proxy, truth)[0, 1]), global_step)

        # GAE; the episode's end is a real end (fixed 25-step episodes whose reward arrives at the end): no bootstrap
        with torch.no_grad():
            values = value_norm.denormalize(data["values"]) if args.value_norm else data["values"]
            advantages = torch.zeros_like(rewards)
            lastgaelam = 0
            for t in reversed(range(T)):
                next_values = values[t + 1] if t + 1 < T else torch.zeros_like(values[t])
                delta = rewards[t] + args.gamma * next_values - values[t]
                advantages[t] = lastgaelam = delta + args.gamma * args.gae_lambda * lastgaelam
            returns = advantages + values
            if args.value_norm:
                value_norm.update(returns)

        # flatten the batch: every (step, env, agent) is one sample of the shared policy
        b_obs = data["obs"].reshape(-1, obs_dim)
        b_logprobs, b_actions = data["logprobs"].reshape(-1), data["actions"].reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        b_targets = value_norm.normalize(b_returns) if args.value_norm else b_returns
        n_samples = b_obs.shape[0]
        minibatch_size = max(n_samples // args.num_minibatches, 1)

        # Optimizing the policy and value network
        clipfracs = []
        for _epoch in range(args.update_epochs):
            b_inds = torch.randperm(n_samples, device=device)
            for start in range(0, n_samples, minibatch_size):
                mb_inds = b_inds[start : start + minibatch_size]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb_inds], b_actions[mb_inds])
                logratio = newlogprob - b_logprobs[mb_inds]
                ratio = logratio.exp()
                with torch.no_grad():
                    old_approx_kl = (-logratio).mean()
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfracs += [((ratio - 1.0).abs() > clip_now).float().mean().item()]
                mb_advantages = b_advantages[mb_inds]
                if args.norm_adv:
                    mb_advantages = (mb_advantages - mb_advantages.mean()) / (mb_advantages.std() + 1e-8)
                pg_loss1 = -mb_advantages * ratio
                pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - clip_now, 1 + clip_now)
                pg_loss = torch.max(pg_loss1, pg_loss2).mean()
                v_loss = 0.5 * ((newvalue - b_targets[mb_inds]) ** 2).mean()
                entropy_loss = entropy.mean()
                loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        # in return space: the rollout's value predictions, denormalised with the statistics they were made under,
        # against the returns (b_targets use the statistics after value_norm.update: not comparable with data["values"])
        y_pred, y_true = values.flatten().cpu().numpy(), b_returns.cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        # TRY NOT TO MODIFY: record rewards for plotting purposes
        writer.add_scalar("charts/learning_rate", lr_now, global_step)
        writer.add_scalar("charts/clip_coef", clip_now, global_step)
        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)
        writer.add_scalar("losses/entropy", entropy_loss.item(), global_step)
        writer.add_scalar("losses/old_approx_kl", old_approx_kl.item(), global_step)
        writer.add_scalar("losses/approx_kl", approx_kl.item(), global_step)
        writer.add_scalar("losses/clipfrac", np.mean(clipfracs), global_step)
        writer.add_scalar("losses/explained_variance", explained_var, global_step)
        sps = int((update - start_update + 1) * batch_steps / (time.time() - start_time - eval_time))
        writer.add_scalar("charts/SPS", sps, global_step)

        if update % args.eval_frequency == 0 or update == num_updates:
            t0 = time.time()
            ret = run_eval(update)
            eval_time += time.time() - t0
            best_eval = max(best_eval, ret)
            pbar.set_postfix(eval=f"{ret:.1f}", best=f"{best_eval:.1f}", train=f"{team_return.mean().item():.1f}")
        pbar.update(batch_steps)
        if (args.save_model and (update % args.checkpoint_frequency == 0 or clock.due())) or stop.requested:
            path = save_checkpoint(update)
        if stop.requested:
            pbar.close()
            writer.close()
            stopped(path)
    stop.remove()
    pbar.close()

    train_time = time.time() - start_time
    if args.save_model:
        tqdm.write(f"model saved to {save_checkpoint(num_updates)}")
    summary = {
        "scenario": args.scenario,
        "backend": args.backend,
        "reward_model": args.reward_model,
        "seed": args.seed,
        "n_agents": n_agents,
        "steps": num_updates * batch_steps,
        "agent_steps": num_updates * batch_steps * n_agents,
        "updates": num_updates,
        "final_eval_return": evals[-1][1] if evals else None,
        "best_eval_return": best_eval if evals else None,
        "evals": evals,
        "history": [{"step": step, "eval_return": ret} for step, ret in evals],  # the benchmark report's curve
        "final_train_return": train_returns[-1][1] if train_returns else None,
        "train_returns": train_returns,
        "sps": (num_updates - start_update + 1) * batch_steps / max(train_time - eval_time, 1e-9),
        "train_time_s": train_time,
        "cpus": cpus,
        "llm": llm_info,
        "args": asdict(args),
    }
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    envs.close()
    eval_envs.close()
    writer.close()
