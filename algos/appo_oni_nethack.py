# ONI (Zheng, Henaff et al., arXiv 2410.23022) with APPO on the NetHack Learning Environment, CleanRL style.
# Actor processes step NLE into shared-memory rollout buffers; the learner trains a recurrent policy with V-trace and
# PPO clipping. An annotator thread asks an LLM whether game messages signal progress (FOO/BAR) and never blocks
# training; the labels become an intrinsic reward r_int * N_ep(msg)^-beta through --reward-model retrieval (label
# table), classification (a message classifier trained online on the labels), ranking (a reward model trained on
# pairwise preferences) or none (extrinsic reward only). cached mode replays label tables in ONI's online rhythm.
# Sections, as in every script of algos/: arguments, environment, networks, the method, APPO's pieces, the training
# loop, the entry point. Decisions the paper leaves open: docs/methods.md, section "ONI with APPO on NetHack".
import multiprocessing as mp
import os
import queue
import random
import re
import signal
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

from llmcode.annotator import Annotator, refuse_reference_record_file
from llmcode.client import recorded_folder
from llmcode.prompts import chat, render_prompt
from runkit import Run, check_counts, parse, resumed_args, usage_error, write_json
from runkit.workers import die_with_parent

REPO = Path(__file__).resolve().parents[1]
CHECKPOINT_FORMAT = 3  # saved in each checkpoint; a resume refuses any other (3: ONI's tasks and r_int on o_t)


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
    """if toggled, the learner uses cuda when available (actors always run on the CPU)"""
    torch_threads: int = 0
    """CPU threads of the learner's torch (0: torch's default); actors always use 1"""
    track: bool = False
    """if toggled, this experiment will be tracked with Weights and Biases"""
    wandb_project_name: str = "clean-llm-rewards"
    """the wandb's project name"""
    wandb_entity: str | None = None
    """the entity (team) of wandb's project"""
    save_model: bool = True
    """save a checkpoint (policy, optimiser, labels, classifier and its data) into the run folder every
    `checkpoint_frequency` env steps, at least every 10 minutes, and at the end (Ctrl-C always saves one)"""
    checkpoint_frequency: int = 1_000_000
    """with --save-model, checkpoint every this many env steps"""
    resume: str | None = None
    """path of a checkpoint (`<run folder>/checkpoint.pt`) to continue training from (its run folder is reused)"""
    runs_dir: str = "runs"
    """folder that receives the run folder"""

    # Algorithm specific arguments (defaults: ONI's APPO settings, docs/methods.md, sized for one machine)
    task: Literal["NetHackScoreExtendedActions-v1", "NetHackOracleExtendedActions-v1",
                  "NetHackStaircaseLvl3ExtendedActions-v1", "NetHackStaircaseLvl4ExtendedActions-v1"] = (
        "NetHackScoreExtendedActions-v1")
    """the NLE task (extended action set); the reward-free setting is the Score task with --extrinsic-reward-coeff 0"""
    total_timesteps: int = 10_000_000
    """total environment steps (the paper trains for up to 2e9)"""
    num_workers: int = 0
    """actor processes (0: one per CPU core)"""
    envs_per_worker: int = 8
    """NLE environments stepped by each actor process (ONI: 2 with separate inference workers; our actors run the
    policy themselves, so more envs per forward pass amortise it)"""
    rollout: int = 32
    """steps per rollout (also the recurrence length the LSTM is trained over)"""
    batch_size: int = 1024
    """transitions per learner update (a multiple of rollout * envs_per_worker)"""
    num_buffers: int = 0
    """shared-memory rollout slots (0: 2 * num_workers + batch_size / (rollout * envs_per_worker))"""
    learning_rate: float = 1e-4
    """Adam learning rate of the policy"""
    adam_eps: float = 1e-6
    """Adam epsilon"""
    gamma: float = 0.99
    """the discount factor gamma"""
    clip_ratio: float = 0.1
    """PPO clip range of the importance ratio"""
    value_clip: float = 1.0
    """clip range of the value change around the behaviour value"""
    ent_coef: float = 0.003
    """entropy bonus coefficient"""
    vf_coef: float = 0.5
    """value loss coefficient"""
    max_grad_norm: float = 4.0
    """gradient clipping norm"""
    vtrace_rho: float = 1.0
    """V-trace truncation of the importance weights in the targets and advantages (rho bar)"""
    vtrace_c: float = 1.0
    """V-trace truncation of the trace coefficients (c bar)"""
    reward_scale: float = 1.0
    """scale of the environment reward, applied by the actors before the clip (as sample-factory does)"""
    reward_clip: float = 10.0
    """the scaled environment reward is clipped to [-reward_clip, reward_clip] by the actors, before the learner
    applies --extrinsic-reward-coeff (ONI's order); the intrinsic reward is not clipped"""
    hidden_size: int = 256
    """width of the LSTM core (ONI: a 512 GRU; 256 keeps CPU actors fast)"""
    crop_size: int = 9
    """side of the glyph crop centred on the agent"""
    max_episode_steps: int = 5000
    """NLE's step limit of an episode (a time-out bootstraps from the value of its last observation; ONI ends it as
    terminal)"""

    # ONI reward
    reward_model: Literal["retrieval", "classification", "ranking", "none"] = "retrieval"
    """retrieval: message -> LLM label table; classification: classifier trained online on the labels; ranking: a
    message reward model trained on LLM pairwise preferences; none: extrinsic only"""
    extrinsic_reward_coeff: float | None = None
    """weight of the task reward (None: the task's ONI coefficient, 0.1 Score, 10 otherwise; 0: reward-free)"""
    llm_reward_coeff: float = 0.4
    """weight of the intrinsic reward r_int * N_ep(msg)^-beta"""
    beta_count_exponent: float = 3.0
    """exponent beta of the within-episode message count"""
    classifier_lr: float = 1e-4
    """Adam learning rate of the message classifier"""
    classifier_batch_size: int = 256
    """minibatch of the message classifier"""
    classifier_steps: int = 32
    """classifier gradient steps each time a batch of labels arrives (live: one LLM round; cached: every
    --llm-batch-size labels that arrive)"""
    classifier_max_dataset: int = 25_000
    """above this many labels the classifier no longer trains on arrival but one step per learner update (ONI)"""
    classification_threshold: float = 0.5
    """a message earns the intrinsic reward when P(helpful) exceeds this"""
    ranking_subsample: int = 10
    """ranking: every this many-th transition's message joins the pool that preference pairs are drawn from"""
    ranking_pairs: int = 10
    """ranking: random pairs queued whenever fewer than 2 * llm_batch_size pairs wait for the LLM"""
    ranking_threshold: float = -0.5
    """ranking: normalised rewards below this are set to 0"""
    ranking_grad_clip: float = 10.0
    """ranking: gradient clipping norm of the preference model"""

    # LLM annotation
    llm_mode: Literal["cached", "live", "record"] = "cached"
    """cached: labels from the label files (a message they lack: the reference table's keyword rules, no network);
    live: ask an OpenAI-compatible endpoint; record: live, then add the answers to --llm-record-file"""
    llm_model: str | None = None
    """model name for live/record (default: the OPENAI_MODEL variable)"""
    llm_base_url: str | None = None
    """OpenAI-compatible endpoint for live/record (default: the OPENAI_BASE_URL variable or OpenAI)"""
    llm_batch_size: int = 100
    """the annotator labels at most this many of the newest unlabelled messages per round (cached: this many
    arriving labels count as one round for the classifier's training schedule)"""
    llm_max_pending: int = 10_000
    """live/record: at most this many messages wait for the LLM; the oldest are dropped first (the annotator takes
    the newest first, so they are the ones it would reach last)"""
    llm_concurrency: int = 8
    """parallel requests of the annotator"""
    llm_temperature: float = 0.1
    """sampling temperature of the annotation requests"""
    llm_timeout_s: float = 60.0
    """per-request timeout; a failing endpoint leaves messages unlabelled and is retried later (HTTP 401, 403 and 404
    stop the run instead: retrying cannot fix a wrong key, model or URL)"""
    llm_retry_s: float = 10.0
    """pause of the annotator after a failed round"""
    llm_label_files: tuple[str, ...] | None = None
    """label tables, relative to the repository root. cached: the tables answer in place of the LLM (a label arrives
    when its message is first seen in play); live/record: labels known from the start, never sent to the LLM.
    None: the shipped reference table in cached mode, none in live/record (so every message goes to the LLM);
    replay a recorded run with --llm-label-files llm_outputs/oni/recorded-<model>/labels.json"""
    llm_record_file: str | None = None
    """where --llm-mode record writes its labels (with recorded provenance), relative to the repository root
    (default: llm_outputs/oni/recorded-<model>/labels.json; never a reference table)"""
    prompt_dir: str = "prompts/oni"
    """folder of the annotation prompts, relative to the repository root"""


# ---------------------------------------------------------------------------------------------------------------------
# Environment: the four ONI tasks on NLE, NetHack's own seeding, messages and the glyph crop
# ---------------------------------------------------------------------------------------------------------------------
TASK_COEFF = {"NetHackScoreExtendedActions-v1": 0.1, "NetHackOracleExtendedActions-v1": 10.0,
              "NetHackStaircaseLvl3ExtendedActions-v1": 10.0, "NetHackStaircaseLvl4ExtendedActions-v1": 10.0}
BL_X, BL_Y, BL_DEPTH, BL_DLEVEL = 0, 1, 12, 24  # indices into NLE's bottom-line stats (DLEVEL: level in its branch)
MSG_LEN = 256
SUCCESS_REWARD = 50.0  # ONI's Oracle and Staircase reward on success (0 otherwise, no time penalty)
DESCENT = b"You descend the stairs"  # nle's message for taking a down staircase (not for trapdoors or teleports)
MORE_CONFIDENT = b"You feel more confident in"  # NetHack's hint that a skill can be advanced with #enhance
SPACE, ESC = ord(" "), 27


def extended_actions():
    from nle import nethack
    from nle.env import tasks

    C = nethack.Command
    return tuple(tasks.TASK_ACTIONS) + (C.CAST, C.QUAFF, C.PRAY, C.PICKUP, C.PAY)


def prompt_key(message: bytes, key: int) -> int:
    """ONI's answer to the eat and drink prompts, which stay open for the agent: the key `y` (the north-west move)
    picks the first inventory letter the prompt offers ("[fgh or ?*]" -> f), any other key closes the prompt with a
    space. Without this the agent could only eat or drink the items whose letters happen to be action keys."""
    if b"What do you want to eat" not in message and b"What do you want to drink" not in message:
        return key
    offered = re.search(rb"\[([a-zA-Z]+)", message)
    return offered.group(1)[0] if offered and key == ord("y") else SPACE


def make_env(task, max_episode_steps=5000, **nle_options):
    """The four ONI tasks (ONI's rl_baseline/tasks_nle.py, rebuilt on nle 1.3.0) with the extended action set: nle's
    23 task actions + CAST, QUAFF, PRAY, PICKUP, PAY. Score: nle's score delta + time penalty (-0.01 on steps where
    the turn counter stands still). Oracle: 50 for standing next to the Oracle, else 0. StaircaseLvlN: 50 for taking
    a down staircase to level N of the current branch (nle's descent message and DLEVEL == N: no trapdoor, hole or
    level teleport, no deeper level), else 0. No time penalty on the sparse tasks; success ends the episode, and so
    does the step limit, which is reported as `truncated` (nle 1.3.0 itself reports it as terminated)."""
    from nle import nethack
    from nle.env import base, tasks

    cast = int(nethack.Command.CAST)

    class ExtendedActions(tasks.NetHackScore):
        """nle's step with ONI's changes: the eat/drink prompt answer (`prompt_key`), `drink` among the prompts left
        open, the descent message kept through --More--, a spell chosen after CAST, and #enhance when offered."""

        open_prompts = base.SKIP_EXCEPTIONS + (b"drink",)

        def reset(self, *args, **kwargs):
            self.enhance_pending = False
            return super().reset(*args, **kwargs)

        def step(self, action):
            previous = tuple(a.copy() for a in self.last_observation)  # nle overwrites its arrays in place
            key = prompt_key(bytes(previous[self._message_index]), int(self.actions[action]))
            observation, done = self.nethack.step(key)
            if observation[self._program_state_index][0] == 1 or not self._allow_all_modes:  # game over, or menus
                observation, done = self._perform_known_steps(observation, done, key=key)
            self._steps += 1
            self.last_observation = observation
            end_status = self._get_end_status(observation, done)
            reward = float(self._reward_fn(previous, key, observation, end_status))
            if end_status and not done:  # success or the step limit: quit the game properly
                # quitting overwrites nle's arrays: keep the observation the episode stopped in (a time-out
                # bootstraps from it, and the depth reached is read from it)
                observation = tuple(a.copy() for a in observation)
                self._quit_game(observation, done)
                done = True
            timed_out = end_status == self.StepStatus.ABORTED
            return (self._get_observation(observation), reward, done and not timed_out, timed_out,
                    self._get_information(end_status))

        def _perform_known_steps(self, observation, done, exceptions=True, key=None):
            """What the env answers for the agent after a key: --More-- gets a space (a descent message stays in the
            observation, which is where the Staircase success test reads it), text input and the questions not left
            open to the agent get ESC. ONI's macros: after CAST the first spell (`a`) is chosen, and once NetHack says
            a skill can be advanced, #enhance advances the first one as soon as no question is open."""
            i = self._message_index
            if key == cast and not done:
                observation, done = self.nethack.step(ord("a"))
            while not done:
                message, internal = observation[i], observation[self._internal_index]
                if MORE_CONFIDENT in bytes(message):
                    self.enhance_pending = True
                if internal[3]:  # --More--
                    kept = message.copy() if DESCENT + b"." in bytes(message) else None
                    observation, done = self.nethack.step(SPACE)
                    if kept is not None:
                        observation = (*observation[:i], kept, *observation[i + 1:])
                    continue
                if internal[2]:  # a line of text: not something the agent can type
                    observation, done = self.nethack.step(ESC)
                    continue
                if internal[1]:  # a one-key question: left to the agent if it is one of the open prompts
                    if exceptions and (self._allow_all_yn_questions or any(p in bytes(message) for p in self.open_prompts)):
                        break
                    observation, done = self.nethack.step(ESC)
                if self.enhance_pending and not done:
                    observation, done = self.nethack.step(nethack.Command.ENHANCE)
                    if not done:
                        observation, done = self.nethack.step(ord("a"))
                    self.enhance_pending = False
                break
            return observation, done

    def sparse_reward(self, last_observation, action, observation, end_status):
        return SUCCESS_REWARD if end_status == self.StepStatus.TASK_SUCCESSFUL else 0.0

    class Oracle(ExtendedActions, tasks.NetHackOracle):  # success: the Oracle in the 3x3 square around the hero
        _reward_fn = sparse_reward

    class Staircase(ExtendedActions, tasks.NetHackStaircase):
        _reward_fn = sparse_reward
        target_level = 3

        def _is_episode_end(self, observation):
            arrived = (DESCENT in bytes(observation[self._message_index])
                       and observation[self._blstats_index][BL_DLEVEL] == self.target_level)
            return self.StepStatus.TASK_SUCCESSFUL if arrived else self.StepStatus.RUNNING

    kwargs = dict(actions=extended_actions(), observation_keys=("glyphs", "blstats", "message"),
                  max_episode_steps=max_episode_steps, **nle_options)
    if task == "NetHackScoreExtendedActions-v1":
        return ExtendedActions(**kwargs)
    if task == "NetHackOracleExtendedActions-v1":
        return Oracle(**kwargs)
    env = Staircase(**kwargs)
    env.target_level = 3 if "Lvl3" in task else 4
    return env


def env_rngs(seed, worker, num_envs, start_version=0):
    """One generator per env of an actor, from (run seed, worker, env index, policy version at start): distinct for
    every env of every worker (a formula such as seed * 16 + i collides once a worker has more than 16 envs), and a
    resumed run goes on with dungeons other than the ones its first part began with."""
    return [np.random.default_rng([seed, worker, i, start_version]) for i in range(num_envs)]


def seeded_reset(env, rng):
    """Reset with NetHack's own RNGs seeded from `rng`. NLE's reset(seed=...) only seeds gymnasium's np_random, not
    the game; env.seed(core, disp, reseed=False) sets the game's seeds for the next reset (reseed=False turns off
    NetHack's anti-TAS reseeding, which would make the episode irreproducible). Drawing new seeds before every reset
    gives each episode its own dungeon, all determined by --seed. (ONI does not seed NetHack: its wrapper makes
    seed() a no-op.)"""
    core, disp = (int(x) for x in rng.integers(0, 2**62, size=2))
    env.seed(core, disp, reseed=False)
    return env.reset()[0]


def decode_message(raw) -> str:
    """The message as text, the key of the counts and labels. Stripped: NetHack's prompts end in a space (ONI keys by
    the unstripped bytes), and no message differs from another only by that, so the counts and labels are the same."""
    return bytes(np.asarray(raw, dtype=np.uint8)).split(b"\0", 1)[0].decode("latin-1").strip()


def encode_message(text: str) -> np.ndarray:
    raw = np.zeros(MSG_LEN, dtype=np.uint8)
    data = text.encode("latin-1", errors="replace")[:MSG_LEN]
    raw[: len(data)] = np.frombuffer(data, dtype=np.uint8)
    return raw


def glyph_crop(glyphs, blstats, size):
    """size x size glyph window centred on the agent, padded with 0 outside the map."""
    half = size // 2
    padded = np.pad(glyphs, half, constant_values=0)
    x, y = int(blstats[BL_X]), int(blstats[BL_Y])
    return padded[y: y + size, x: x + size]


def obs_tensors(obs, crop_size):
    """An NLE observation as the policy's inputs: glyph crop (int16), bottom-line stats, message bytes."""
    return (torch.from_numpy(glyph_crop(obs["glyphs"], obs["blstats"], crop_size).astype(np.int16)),
            torch.from_numpy(obs["blstats"].astype(np.float32)), torch.from_numpy(obs["message"]))


# ---------------------------------------------------------------------------------------------------------------------
# Networks: the policy (glyph crop, bottom-line stats and message bytes into an LSTM)
# ---------------------------------------------------------------------------------------------------------------------
MAX_GLYPH = 5976 + 1  # nethack.MAX_GLYPH, +1 for padding


class MessageEncoder(nn.Module):
    """The policy's character-level CNN over the 256 message bytes: embedding 16, a stride-4 convolution over 8 bytes
    (4x cheaper for the actors than byte by byte), a k3 convolution, max-pool 2, global max-pool, FC 64."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(256, 16)
        self.convs = nn.Sequential(nn.Conv1d(16, 32, 8, stride=4), nn.ReLU(), nn.Conv1d(32, 32, 3, padding=1), nn.ReLU(),
                                   nn.MaxPool1d(2))
        self.fc = nn.Linear(32, 64)

    def forward(self, msg):  # (N, 256) uint8/long
        x = self.embed(msg.long()).transpose(1, 2)
        return F.relu(self.fc(self.convs(x).amax(dim=2)))


class Agent(nn.Module):
    def __init__(self, n_actions, hidden=512, crop=9):
        super().__init__()
        self.glyph_embed = nn.Embedding(MAX_GLYPH, 32)
        self.crop_net = nn.Sequential(nn.Conv2d(32, 16, 3, padding=1), nn.ELU(), nn.Conv2d(16, 16, 3, padding=1), nn.ELU(),
                                      nn.Flatten(), nn.Linear(16 * crop * crop, 256), nn.ELU())
        self.stats_net = nn.Sequential(nn.Linear(27, 64), nn.ELU())
        self.msg_net = MessageEncoder()
        self.fc = nn.Sequential(nn.Linear(256 + 64 + 64, hidden), nn.ELU())
        self.core = nn.LSTMCell(hidden, hidden)  # a cell stepped in Python: far faster than nn.LSTM for one CPU step
        self.actor = nn.Linear(hidden, n_actions)
        self.critic = nn.Linear(hidden, 1)

    def encode(self, crop, blstats, msg):
        g = self.glyph_embed(crop.long()).permute(0, 3, 1, 2)
        s = torch.sign(blstats) * torch.log1p(blstats.abs())
        return self.fc(torch.cat([self.crop_net(g), self.stats_net(s), self.msg_net(msg)], dim=1))

    def forward(self, crop, blstats, msg, state, done):
        """Inputs (T, B, ...); `done` (T, B) resets the LSTM state before that step. Returns logits, values, state."""
        T, B = done.shape
        x = self.encode(crop.flatten(0, 1), blstats.flatten(0, 1), msg.flatten(0, 1)).view(T, B, -1)
        h, c = state[0], state[1]
        outs = []
        for t in range(T):
            keep = (1.0 - done[t]).view(B, 1)
            h, c = self.core(x[t], (h * keep, c * keep))
            outs.append(h)
        out = torch.stack(outs).flatten(0, 1)
        return self.actor(out).view(T, B, -1), self.critic(out).view(T, B), torch.stack([h, c])


# ---------------------------------------------------------------------------------------------------------------------
# ONI: the intrinsic reward, ONI's questions to the LLM on llmcode's annotator, and the reward models on its labels
# ---------------------------------------------------------------------------------------------------------------------
def acted_messages(batch, rollout):
    """The message each step is scored on: step t's is the message of o_t, the observation its action was taken in
    (ONI's learner scores the policy's inputs). So an episode's reset message is scored (at count 1) and its final
    message never: the actor replaced that observation with the next episode's reset one."""
    return [decode_message(m) for m in batch["msg"][:rollout].cpu().numpy().reshape(-1, MSG_LEN)]


def intrinsic_reward(labels, counts, beta):
    """ONI's count-scaled intrinsic reward label(msg) * N_ep(msg)^-beta, where N_ep >= 1 is how often the message was
    seen in the episode up to and including this observation. The empty message is counted like the others; its
    label is 0 (see RewardModel.labels_for)."""
    return labels.float() * counts.float().clamp(min=1).pow(-beta)


def oni_reward(ext_reward, r_int, timeout, final_value, ext_coeff, llm_coeff, gamma):
    """The learner's reward and discount per step. ONI's reward ext_coeff * r_ext + llm_coeff * r_int, where r_ext
    was already scaled and clipped by the actor (ONI clips the environment reward alone, before the coefficients).
    A time-out ends the trace (discount 0) and adds gamma * V(final observation), which the actor computed with its
    recurrent state, so the value target bootstraps from the observation the episode stopped in, not from the next
    episode's first one. Discounts of true terminations are set by the caller."""
    rewards = ext_coeff * ext_reward + llm_coeff * r_int + gamma * timeout * final_value
    return rewards, gamma * (1.0 - timeout)


def parse_preference(text: str) -> float:
    """Ranking answers: best_description 1 -> 1.0 (first message preferred), 2 -> 0.0, anything else a tie (0.5)."""
    found = re.search(r"best_description\W*(1|2|None)", text)
    return {"1": 1.0, "2": 0.0}.get(found.group(1), 0.5) if found else 0.5


def parse_label(text: str) -> int | None:
    """FOO -> 1, BAR -> 0 (the label section if present, else anywhere); None when the answer has neither."""
    section = re.search(r"<label>(.*?)</label>", text, re.S)
    body = section.group(1) if section else text
    if re.search(r"\bFOO\b", body):
        return 1
    if re.search(r"\bBAR\b", body):
        return 0
    return None


LABEL_FORMAT = "1 = FOO (helpful), 0 = BAR; preference = P(first message preferred)"


def oni_questions(prompt_dir, temperature):
    """ONI's two questions: is this message helpful (classify prompt, FOO/BAR), which of two is (rank prompt)."""
    system = render_prompt(Path(prompt_dir) / "system.txt").strip()

    def ask(client, item):
        if isinstance(item, tuple):
            prompt = chat(system, render_prompt(Path(prompt_dir) / "rank.txt", message1=item[0], message2=item[1]))
            answer = client.ask(prompt, n=1, temperature=temperature)[0]
            return parse_preference(answer.text), answer
        prompt = chat(system, render_prompt(Path(prompt_dir) / "classify.txt", message=item))
        answer = client.ask(prompt, n=1, temperature=temperature)[0]
        label = parse_label(answer.text)
        if label is None:  # a failed request, not a BAR: counted in llm_failures, the message is asked again later
            raise ValueError(f"the answer has no FOO/BAR label: {answer.text[-120:]!r}")
        return label, answer

    return ask


def oni_annotator(mode, label_files=(), record_file=None, model=None, base_url=None, prompt_dir="prompts/oni",
                  temperature=0.1, **options) -> Annotator:
    """llmcode's annotator asking ONI's questions; file names relative to the repository."""
    ask = None if mode == "cached" else oni_questions(REPO / prompt_dir, temperature)
    return Annotator(mode, ask, [REPO / name for name in label_files], None if record_file is None else REPO / record_file,
                     model, base_url, temperature=temperature, name="ONI annotator", label_format=LABEL_FORMAT, **options)


def record_file(args: Args) -> str:
    """Where record mode writes: --llm-record-file, else a folder per model as for the other methods."""
    model = args.llm_model or os.environ.get("OPENAI_MODEL") or "model"
    return args.llm_record_file or f"llm_outputs/oni/{recorded_folder(model)}/labels.json"


def label_files(args: Args):
    """The label tables a run reads: --llm-label-files if given; otherwise the shipped reference table in cached mode
    and none in live/record mode, where a preloaded label would keep its message from ever reaching the LLM."""
    if args.reward_model == "none":
        return ()
    if args.llm_label_files is not None:
        return tuple(args.llm_label_files)
    return ("llm_outputs/oni/reference_labels.json",) if args.llm_mode == "cached" else ()


class ONIMessageCNN(nn.Module):
    """The message encoder of ONI's classification reward model: byte embedding 32 (0 = padding), then 64-channel
    convolutions without padding, k7 -> max-pool 3 -> k7 -> max-pool 3 -> k3, k3, k3, k3 -> max-pool 3, which leaves
    5 positions of the 256 bytes; flattened (so the position of a phrase still counts) -> FC 128."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(256, 32, padding_idx=0)
        self.convs = nn.Sequential(
            nn.Conv1d(32, 64, 7), nn.ReLU(), nn.MaxPool1d(3, 3), nn.Conv1d(64, 64, 7), nn.ReLU(), nn.MaxPool1d(3, 3),
            nn.Conv1d(64, 64, 3), nn.ReLU(), nn.Conv1d(64, 64, 3), nn.ReLU(), nn.Conv1d(64, 64, 3), nn.ReLU(),
            nn.Conv1d(64, 64, 3), nn.ReLU(), nn.MaxPool1d(3, 3), nn.Flatten(), nn.Linear(5 * 64, 128), nn.ReLU())

    def forward(self, msg):  # (N, 256) uint8/long
        return self.convs(self.embed(msg.long()).transpose(1, 2))


class MessageModel(nn.Module):
    """ONI's reward models on ONIMessageCNN. classification: MLP [512, 512] -> dropout 0.1 -> 2 logits (BAR, FOO), like
    ONI one dropout layer after the hidden layers. ranking (here over the message alone): one scalar."""

    def __init__(self, kind):
        super().__init__()
        self.encoder = ONIMessageCNN()
        self.head = nn.Sequential(nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(512, 2)) if kind == "classification" else nn.Linear(128, 1)

    def forward(self, msg):
        return self.head(self.encoder(msg))


class RewardModel:
    """Message -> intrinsic label. retrieval: the LLM's table (unlabelled = 0). classification: a classifier trained on
    the labels that have arrived, reward 1 when P(helpful) > threshold. ranking: a scalar reward model trained on
    pairwise preferences, normalised by running mean/std and set to 0 below `ranking_threshold`. Model outputs are
    memoised per message until the model trains again. The empty message (most steps) is never sent to the LLM and
    gets 0 in every mode, as the BAR that ONI's LLM would give it (ONI labels "" like any message)."""

    def __init__(self, kind, annotator, args, device):
        self.kind, self.annotator, self.args, self.device = kind, annotator, args, device
        self.trained = kind in ("classification", "ranking")
        self.memo: dict[str, float] = {}
        self.dataset: dict = {}  # message -> label (classification) or (m1, m2) -> preference (ranking), in arrival order
        self.encoded: list = []  # the dataset's keys as bytes, in the same order
        self.tensors = None  # (encoded, labels) as tensors on the device, for the dataset's current size
        self.loss, self.accuracy = float("nan"), float("nan")
        self.rounds = self.steps = 0  # training rounds and gradient steps so far
        self.pool: deque = deque(maxlen=10_000)  # ranking: recent unique messages that pairs are drawn from
        self.pool_set: set = set()
        self.mean, self.var, self.count = 0.0, 1.0, 1e-4  # ranking: running reward statistics
        if self.trained:
            self.model = MessageModel(kind).to(device)
            self.optimizer = optim.Adam(self.model.parameters(), lr=args.classifier_lr)

    def _scores(self, texts):
        self.model.eval()
        with torch.no_grad():
            out = self.model(torch.as_tensor(np.stack([encode_message(m) for m in texts]), device=self.device))
        if self.kind == "classification":
            return (torch.softmax(out, dim=1)[:, 1] > self.args.classification_threshold).float().cpu().tolist()
        return out.squeeze(1).cpu().tolist()

    def labels_for(self, messages):
        if self.kind == "retrieval":
            table = self.annotator.labels
            return [table.get(m, 0) if m else 0 for m in messages]
        unknown = sorted({m for m in messages if m and m not in self.memo})
        if unknown:
            self.memo.update(zip(unknown, self._scores(unknown)))
        values = [self.memo.get(m, 0.0) if m else 0.0 for m in messages]
        if self.kind == "ranking":
            raw = np.array([v for v, m in zip(values, messages) if m], dtype=np.float64)
            if raw.size:  # running mean/std over the rewards of message-carrying transitions
                b_mean, b_var, n = raw.mean(), raw.var(), raw.size
                delta, total = b_mean - self.mean, self.count + n
                self.mean += delta * n / total
                self.var = (self.var * self.count + b_var * n + delta**2 * self.count * n / total) / total
                self.count = total
            std = max(self.var, 1e-8) ** 0.5
            values = [(v - self.mean) / std if m else 0.0 for v, m in zip(values, messages)]
            values = [v if v >= self.args.ranking_threshold else 0.0 for v in values]
        return values

    def observe(self, messages):
        """Ranking: add every `ranking_subsample`-th message to the pool; queue random pairs when the LLM runs low."""
        for m in messages[:: self.args.ranking_subsample]:
            if m and m not in self.pool_set:
                if len(self.pool) == self.pool.maxlen:
                    self.pool_set.discard(self.pool[0])
                self.pool.append(m)
                self.pool_set.add(m)
        if len(self.pool) >= 2 and self.annotator.pending_pairs() < 2 * self.args.llm_batch_size:
            picks = [random.sample(range(len(self.pool)), 2) for _ in range(self.args.ranking_pairs)]
            self.annotator.submit_pairs([(self.pool[i], self.pool[j]) for i, j in picks])

    def _add(self, key, value):
        """A new label joins the dataset; a message (or pair) already in it keeps its first label."""
        if key not in self.dataset:
            self.dataset[key] = value
            self.encoded.append(encode_message(key) if isinstance(key, str) else
                                np.stack([encode_message(key[0]), encode_message(key[1])]))

    def update(self):
        """ONI's schedule (its learner.py): each time a batch of labels arrives, `classifier_steps` (32) gradient steps
        on the whole dataset while it holds at most `classifier_max_dataset` (25,000) labels; beyond that, one step per
        learner update instead."""
        new, batches = self.annotator.take_new_labels()
        if not self.trained:
            return
        for key, value in new:
            if isinstance(key, tuple if self.kind == "ranking" else str):
                self._add(key, value)
        if not self.dataset:
            return
        if len(self.dataset) > self.args.classifier_max_dataset:
            self.train(1)
        elif batches:
            self.train(self.args.classifier_steps)

    def train(self, steps):
        """`steps` minibatches drawn as ONI's shuffled DataLoader draws them: a fresh permutation of the whole dataset,
        taken in order, reshuffled when used up. Plain cross-entropy (classification) as ONI: no class weights."""
        n, bs = len(self.dataset), self.args.classifier_batch_size
        if self.tensors is None or len(self.tensors[0]) != n:  # the dataset only grows: rebuild when it has
            self.tensors = (torch.as_tensor(np.stack(self.encoded), device=self.device),
                            torch.as_tensor(list(self.dataset.values()), device=self.device))
        x_all, y_all = self.tensors
        self.model.train()
        order, pos, correct, seen = torch.randperm(n, device=self.device), 0, 0, 0
        for _ in range(steps):
            if pos >= n:
                order, pos = torch.randperm(n, device=self.device), 0
            idx = order[pos: pos + bs]
            pos += bs
            if self.kind == "classification":
                logits = self.model(x_all[idx])
                loss = F.cross_entropy(logits, y_all[idx])
                correct += (logits.argmax(1) == y_all[idx]).sum().item()
                seen += len(idx)
            else:  # soft-label cross-entropy over the pair (ties: 0.5 each)
                r = self.model(x_all[idx].flatten(0, 1)).view(-1, 2)
                target = torch.stack([y_all[idx], 1 - y_all[idx]], dim=1).float()
                loss = -(target * F.log_softmax(r, dim=1)).sum(1).mean()
            self.optimizer.zero_grad()
            loss.backward()
            if self.kind == "ranking":
                nn.utils.clip_grad_norm_(self.model.parameters(), self.args.ranking_grad_clip)
            self.optimizer.step()
        self.loss = loss.item()
        self.accuracy = correct / seen if seen else float("nan")
        self.rounds += 1
        self.steps += steps
        self.memo.clear()

    def recall_precision(self, table):
        """Classification: recall and precision of 'helpful' (P(FOO) > threshold) against a label table, or None when
        the table has no FOO label. Says whether the classifier learned the labels at all (a collapsed one answers
        BAR for everything: recall 0)."""
        foo = [m for m, v in table.items() if v == 1]
        if self.kind != "classification" or not foo:
            return None, None
        predicted = dict(zip(table, self.labels_for(list(table))))
        hits = sum(predicted[m] for m in foo)
        return hits / len(foo), (hits / sum(predicted.values()) if sum(predicted.values()) else 0.0)

    def state_dict(self):
        if not self.trained:
            return {}
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "dataset": dict(self.dataset),
                "loss": self.loss, "stats": (self.mean, self.var, self.count), "pool": list(self.pool),
                "rounds": self.rounds, "steps": self.steps}

    def load_state_dict(self, state):
        if not (self.trained and state):  # a checkpoint of a run without a trained reward model has none
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        for key, value in state["dataset"].items():
            self._add(key, value)
        self.loss = state["loss"]
        self.mean, self.var, self.count = state["stats"]
        self.pool.extend(state["pool"])
        self.pool_set.update(state["pool"])
        self.rounds, self.steps = state["rounds"], state["steps"]


# ---------------------------------------------------------------------------------------------------------------------
# APPO's pieces: V-trace, the learner's update, and the actor processes with their shared rollout buffers
# ---------------------------------------------------------------------------------------------------------------------
def vtrace(behaviour_logp, target_logp, rewards, values, bootstrap, discounts, rho_bar=1.0, c_bar=1.0):
    """V-trace targets vs and policy-gradient advantages (Espeholt et al. 2018), all inputs (T, B) except bootstrap (B).
    discounts[t] = gamma * (1 - terminal[t]); vs_t = V(x_t) + sum_s (prod_{i<s} c_i) gamma^.. rho_s delta_s."""
    with torch.no_grad():
        rhos = torch.exp(target_logp - behaviour_logp).clamp(0.05, 20.0)  # as ONI's learner: extreme ratios are noise
        clipped_rhos = rhos.clamp(max=rho_bar)
        cs = rhos.clamp(max=c_bar)
        next_values = torch.cat([values[1:], bootstrap.unsqueeze(0)])
        deltas = clipped_rhos * (rewards + discounts * next_values - values)
        acc = torch.zeros_like(bootstrap)
        vs_minus_v = torch.zeros_like(values)
        for t in reversed(range(values.shape[0])):
            acc = deltas[t] + discounts[t] * cs[t] * acc
            vs_minus_v[t] = acc
        vs = vs_minus_v + values
        next_vs = torch.cat([vs[1:], bootstrap.unsqueeze(0)])
        pg_advantages = clipped_rhos * (rewards + discounts * next_vs - values)
    return vs, pg_advantages


def learner_update(agent, optimizer, batch, rewards, discounts, args):
    """One APPO step as ONI's learner does it: recompute the policy over the rollouts from their stored LSTM state;
    V-trace targets and advantages with importance ratios clamped to [0.05, 20] and truncated at rho/c bar;
    advantages normalised over the batch (one minibatch: ONI's batch 1024, 1 epoch) with a floor of 1e-3 on the std;
    PPO clip of the ratio to [1/(1+eps), 1+eps]; value loss vf_coef * max(unclipped, clipped squared error) (no 1/2);
    entropy bonus."""
    logits, values, _ = agent(batch["crop"], batch["blstats"], batch["msg"], batch["state"], batch["done"])
    T = args.rollout
    logp_all = F.log_softmax(logits, dim=-1)
    target_logp = logp_all[:T].gather(2, batch["action"].unsqueeze(2)).squeeze(2)
    # true terminations cut the bootstrap; time-outs were cut by oni_reward, which added gamma * V(final obs) instead
    discounts = discounts * (1.0 - batch["terminal"])
    vs, adv = vtrace(batch["logp"], target_logp, rewards, values[:T].detach(), values[T].detach(), discounts,
                     args.vtrace_rho, args.vtrace_c)
    adv = (adv - adv.mean()) / max(1e-3, adv.std().item())
    ratio = torch.exp(target_logp - batch["logp"]).clamp(0.05, 20.0)
    high = 1.0 + args.clip_ratio
    pg_loss = -torch.min(ratio * adv, ratio.clamp(1.0 / high, high) * adv).mean()
    v = values[:T]
    v_clipped = batch["value"] + (v - batch["value"]).clamp(-args.value_clip, args.value_clip)
    v_loss = args.vf_coef * torch.max((v - vs) ** 2, (v_clipped - vs) ** 2).mean()
    entropy = -(logp_all[:T].exp() * logp_all[:T]).sum(-1).mean()
    loss = pg_loss + v_loss - args.ent_coef * entropy
    optimizer.zero_grad()
    loss.backward()
    grad_norm = nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
    optimizer.step()
    with torch.no_grad():
        clipfrac = ((ratio - 1).abs() > args.clip_ratio).float().mean()
        approx_kl = ((ratio - 1) - (target_logp - batch["logp"])).mean()
    return {"losses/policy_loss": pg_loss.item(), "losses/value_loss": v_loss.item(), "losses/entropy": entropy.item(),
            "losses/approx_kl": approx_kl.item(), "losses/clipfrac": clipfrac.item(), "losses/grad_norm": float(grad_norm),
            "losses/vtrace_target_mean": vs.mean().item()}


def make_buffers(num_buffers, T, E, crop, hidden):
    """Rollout slots in shared memory. Observations have T+1 steps (the last one bootstraps); `msg_count` is the
    within-episode count of the message of the observation step t acted in, counted when that observation arrived;
    `reward` is the scaled and clipped environment reward; `timeout` marks a step that hit the time limit and
    `final_value` the acting model's value of the observation it ended in."""
    specs = {
        "crop": ((T + 1, E, crop, crop), torch.int16), "blstats": ((T + 1, E, 27), torch.float32),
        "msg": ((T + 1, E, MSG_LEN), torch.uint8), "done": ((T + 1, E), torch.float32),
        "action": ((T, E), torch.int64), "logp": ((T, E), torch.float32), "value": ((T, E), torch.float32),
        "reward": ((T, E), torch.float32), "terminal": ((T, E), torch.float32), "msg_count": ((T, E), torch.float32),
        "timeout": ((T, E), torch.float32), "final_value": ((T, E), torch.float32),
        "state": ((2, E, hidden), torch.float32), "version": ((), torch.int64),
    }
    return {k: torch.zeros((num_buffers, *shape), dtype=dtype).share_memory_() for k, (shape, dtype) in specs.items()}


def actor_loop(worker, args, n_actions, buffers, shared_model, version, weights_lock, free_q, full_q, stats_q, stop):
    """One actor: takes a free slot, fills it with a rollout of its envs under the newest published weights, hands it
    to the learner, and reports each finished episode on `stats_q`."""
    torch.set_num_threads(1)
    seed = args.seed * 1000 + worker
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    E, T = args.envs_per_worker, args.rollout
    envs = [make_env(args.task, args.max_episode_steps) for _ in range(E)]
    rngs = env_rngs(args.seed, worker, E, version.value)  # NetHack's seeds for every episode of every env
    model = Agent(n_actions, args.hidden_size, args.crop_size)
    local_version = -1

    def observe(i, obs):  # an observation arrives: the policy's inputs, and its message counted (N_ep)
        cur_crop[i], cur_bl[i], cur_msg[i] = obs_tensors(obs, args.crop_size)
        text = decode_message(obs["message"])
        cur_count[i] = msg_counts[i][text] = msg_counts[i].get(text, 0) + 1

    cur_crop = torch.zeros(E, args.crop_size, args.crop_size, dtype=torch.int16)
    cur_bl, cur_msg = torch.zeros(E, 27), torch.zeros(E, MSG_LEN, dtype=torch.uint8)
    cur_done, cur_count = torch.ones(E), torch.zeros(E)
    msg_counts = [dict() for _ in range(E)]  # N_ep: each env's messages in its current episode
    ep_ret, ep_len = np.zeros(E), np.zeros(E, dtype=np.int64)
    ep_depth = np.ones(E, dtype=np.int64)  # deepest dungeon level of the episode (a dead hero's last blstats are zeros)
    for i, env in enumerate(envs):
        observe(i, seeded_reset(env, rngs[i]))
    state = torch.zeros(2, E, args.hidden_size)  # the LSTM's (h, c)
    try:
        while not stop.is_set():
            try:
                idx = free_q.get(timeout=0.5)
            except queue.Empty:
                continue
            if version.value != local_version:
                with weights_lock:
                    model.load_state_dict(shared_model.state_dict())
                    local_version = version.value
            buf = {k: v[idx] for k, v in buffers.items()}
            buf["state"].copy_(state)
            buf["version"].fill_(local_version)
            buf["timeout"].zero_()
            buf["final_value"].zero_()
            with torch.no_grad():
                for t in range(T):
                    buf["crop"][t], buf["blstats"][t], buf["msg"][t], buf["done"][t] = cur_crop, cur_bl, cur_msg, cur_done
                    buf["msg_count"][t] = cur_count
                    logits, value, state = model(cur_crop[None], cur_bl[None], cur_msg[None], state, cur_done[None])
                    dist = torch.distributions.Categorical(logits=logits[0])
                    action = dist.sample()
                    buf["action"][t], buf["logp"][t], buf["value"][t] = action, dist.log_prob(action), value[0]
                    for i, env in enumerate(envs):
                        obs, r, term, trunc, info = env.step(int(action[i]))
                        timeout = bool(trunc)  # make_env's tasks report only the step limit as truncated
                        # ONI's actors scale and clip the environment reward alone; the coefficients come later
                        buf["reward"][t, i] = float(np.clip(r * args.reward_scale, -args.reward_clip, args.reward_clip))
                        buf["terminal"][t, i] = float((term or trunc) and not timeout)
                        if timeout:  # bootstrap from the final observation, with this env's recurrent state
                            crop, bl, msg = obs_tensors(obs, args.crop_size)
                            _, final_value, _ = model(crop[None, None], bl[None, None], msg[None, None],
                                                      state[:, i: i + 1], torch.zeros(1, 1))
                            buf["timeout"][t, i], buf["final_value"][t, i] = 1.0, final_value.item()
                        ep_ret[i] += r
                        ep_len[i] += 1
                        ep_depth[i] = max(ep_depth[i], int(obs["blstats"][BL_DEPTH]))
                        if term or trunc:  # end_status 2: TASK_SUCCESSFUL (the Score task's StepStatus lacks the name)
                            stats_q.put({"return": float(ep_ret[i]), "length": int(ep_len[i]), "depth": int(ep_depth[i]),
                                         "success": float(info.get("end_status") == 2), "truncated": timeout})
                            ep_ret[i], ep_len[i], ep_depth[i] = 0.0, 0, 1
                            msg_counts[i].clear()
                            obs = seeded_reset(env, rngs[i])  # the final observation is neither counted nor scored
                        cur_done[i] = float(term or trunc)
                        observe(i, obs)
                buf["crop"][T], buf["blstats"][T], buf["msg"][T], buf["done"][T] = cur_crop, cur_bl, cur_msg, cur_done
            full_q.put(idx)
    finally:
        for env in envs:
            env.close()


def actor_process(*args):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the learner, which stops the actors
    die_with_parent()  # and a learner killed outright takes them with it
    actor_loop(*args)


class Actors:
    """The actor processes and what they share with the learner: rollout slots (free -> an actor fills one -> full ->
    the learner copies it out -> free), the published weights and their version, and the finished episodes."""

    def __init__(self, args, n_actions, agent, version):
        ctx = mp.get_context("fork")
        self.buffers = make_buffers(args.num_buffers, args.rollout, args.envs_per_worker, args.crop_size, args.hidden_size)
        self.model = Agent(n_actions, args.hidden_size, args.crop_size)
        self.model.load_state_dict({k: v.cpu() for k, v in agent.state_dict().items()})
        self.model.share_memory()
        self.version, self.lock, self.stop = ctx.Value("l", version), ctx.Lock(), ctx.Event()
        self.free, self.full, self.episodes = ctx.Queue(), ctx.Queue(), ctx.Queue()
        for i in range(args.num_buffers):
            self.free.put(i)
        self.processes = [ctx.Process(target=actor_process, daemon=True, args=(
            w, args, n_actions, self.buffers, self.model, self.version, self.lock, self.free, self.full, self.episodes,
            self.stop)) for w in range(args.num_workers)]
        for p in self.processes:
            p.start()

    def batch(self, slots):
        """`slots` filled rollout slots, copied out of shared memory and laid out (T, slots * E, ...)."""
        index = []
        while len(index) < slots:
            try:
                index.append(self.full.get(timeout=5.0))
            except queue.Empty:  # the time-out notices dead actors
                dead = [p.exitcode for p in self.processes if not p.is_alive()]
                if dead:
                    raise RuntimeError(f"actor process(es) died with exit codes {dead}") from None
        index = torch.tensor(index)  # (slots, T or 2, E, ...) -> (T or 2, slots * E, ...)
        batch = {k: v[index] if k == "version" else v[index].transpose(0, 1).flatten(1, 2) for k, v in self.buffers.items()}
        for i in index.tolist():
            self.free.put(i)
        return batch

    def publish(self, agent, version):
        with self.lock:
            self.model.load_state_dict({k: v.cpu() for k, v in agent.state_dict().items()})
            self.version.value = version

    def finished_episodes(self):
        while True:
            try:
                yield self.episodes.get_nowait()
            except queue.Empty:
                return

    def close(self):
        self.stop.set()
        for p in self.processes:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()


# ---------------------------------------------------------------------------------------------------------------------
# Training loop: the learner, against the actor processes and the annotator
# ---------------------------------------------------------------------------------------------------------------------
def train(args: Args) -> dict:
    """Trains in a new run folder (or the resumed checkpoint's) and returns the summary. Ctrl-C, a dead actor or a
    fatal LLM error stop the actors and the annotator, then write `interrupted_summary.json` (not summary.json, which
    the benchmark sweep takes for a finished run). A checkpoint is saved only where the state is whole: between two
    updates, on schedule (with --save-model) and after a first Ctrl-C (which finishes the update under way). An
    exception (a dead actor, a fatal LLM error, a second Ctrl-C) can come in the middle of an update: it saves
    nothing, and the last checkpoint stays as it was."""
    workers = args.num_workers or os.cpu_count() or 1
    slots_per_batch = args.batch_size // (args.rollout * args.envs_per_worker)
    args = replace(args, num_workers=workers, num_buffers=args.num_buffers or 2 * workers + slots_per_batch)
    ext_coeff = TASK_COEFF[args.task] if args.extrinsic_reward_coeff is None else args.extrinsic_reward_coeff
    llm_coeff = 0.0 if args.reward_model == "none" else args.llm_reward_coeff
    setting = args.task if ext_coeff != 0 else args.task.replace("Score", "RewardFree")
    run = Run(args, f"{setting}__{args.exp_name}__{args.seed}", CHECKPOINT_FORMAT)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    n_actions = len(extended_actions())
    agent = Agent(n_actions, args.hidden_size, args.crop_size).to(device)
    optimizer = optim.Adam(agent.parameters(), lr=args.learning_rate, eps=args.adam_eps, betas=(0.9, 0.999))
    annotator = oni_annotator("cached" if args.reward_model == "none" else args.llm_mode, label_files(args),
                              record_file(args) if args.llm_mode == "record" else None, args.llm_model,
                              args.llm_base_url, args.prompt_dir, args.llm_temperature, batch_size=args.llm_batch_size,
                              concurrency=args.llm_concurrency, timeout_s=args.llm_timeout_s, retry_s=args.llm_retry_s,
                              max_pending=args.llm_max_pending)
    reward_model = RewardModel(args.reward_model, annotator, args, device) if args.reward_model != "none" else None
    global_step, version, episodes = 0, 0, 0
    ckpt = run.checkpoint
    if ckpt is not None:
        agent.load_state_dict(ckpt["agent"])
        optimizer.load_state_dict(ckpt["optimizer"])
        annotator.load_state_dict(ckpt["annotator"])
        if reward_model is not None:
            reward_model.load_state_dict(ckpt["reward_model"])
        global_step, version, episodes = ckpt["global_step"], ckpt["version"], ckpt["episodes"]
        run.restore_random_streams()
        print(f"resumed from {args.resume} at step {global_step}")
    curves = ckpt["curves"] if ckpt is not None else {"returns": [], "successes": [], "depths": [], "lags": [],
                                                      "episodic_returns": [], "history": []}

    def state():
        return {"agent": agent.state_dict(), "optimizer": optimizer.state_dict(), "annotator": annotator.state_dict(),
                "reward_model": reward_model.state_dict() if reward_model else {}, "global_step": global_step,
                "version": version, "episodes": episodes,
                "curves": {"returns": list(returns), "successes": list(successes), "depths": list(depths),
                           "lags": list(lags), "episodic_returns": episodic_returns, "history": history}}

    actors = Actors(args, n_actions, agent, version)
    start_time, start_step, next_ckpt = time.time(), global_step, global_step + args.checkpoint_frequency
    # running statistics over the last 100 episodes (lags: slots), and the curves; a resume goes on with them
    returns, successes, depths, lags = (deque(curves[k], maxlen=100) for k in ("returns", "successes", "depths", "lags"))
    episodic_returns, history = curves["episodic_returns"], curves["history"]
    bar = run.progress(args.total_timesteps, global_step, f"{setting} {args.reward_model}", dynamic_ncols=True)
    error = None
    try:
        while global_step < args.total_timesteps and not run.stop.requested:
            with run.timed("waiting for actors"):
                batch = actors.batch(slots_per_batch)
            policy_lag = (version - batch.pop("version")).float()
            batch = {k: v.to(device) for k, v in batch.items()}

            # ONI's reward: ext_coeff * r_ext + llm_coeff * label(msg) * N_ep(msg)^-beta (+ gamma * V at time-outs)
            with run.timed("reward model"):
                r_int = torch.zeros_like(batch["reward"])
                if reward_model is not None:
                    texts = acted_messages(batch, args.rollout)
                    if args.reward_model == "ranking":
                        reward_model.observe(texts)
                    else:
                        annotator.submit(dict.fromkeys(t for t in texts if t))
                    labels = torch.tensor(reward_model.labels_for(texts), dtype=torch.float32, device=device)
                    r_int = intrinsic_reward(labels.view_as(r_int), batch["msg_count"], args.beta_count_exponent)
                rewards, discounts = oni_reward(batch["reward"], r_int, batch["timeout"], batch["final_value"],
                                                ext_coeff, llm_coeff, args.gamma)

            with run.timed("learning"):  # then the actors get the new weights
                metrics = learner_update(agent, optimizer, batch, rewards, discounts, args)
                version += 1
                actors.publish(agent, version)
            with run.timed("reward model"):
                if reward_model is not None:
                    reward_model.update()
            if annotator.fatal_error is not None:  # after the update, before its step is counted: nothing saved
                error = SystemExit(f"error: ONI annotator: {annotator.fatal_error}")
                break
            global_step += args.batch_size
            bar.update(args.batch_size)

            for ep in actors.finished_episodes():
                episodes += 1
                returns.append(ep["return"])
                episodic_returns.append(ep["return"])
                successes.append(ep["success"])
                depths.append(ep["depth"])
                run.log(global_step, {"charts/episodic_return": ep["return"], "charts/episodic_length": ep["length"],
                                      "charts/episodic_max_depth": ep["depth"], "charts/episodic_success": ep["success"]})
            if returns:  # learning curve for the benchmark report: running means over the last 100 episodes
                history.append({"step": global_step, "episodic_return": float(np.mean(returns)),
                                "success_rate": float(np.mean(successes)), "max_depth": float(np.mean(depths))})
            lags.extend(policy_lag.tolist())
            sps = int((global_step - start_step) / (time.time() - start_time))
            run.log(global_step, {
                **metrics, "charts/SPS": sps, "charts/policy_lag_mean": policy_lag.mean().item(),
                "charts/policy_lag_max": policy_lag.max().item(), "charts/extrinsic_reward_mean": batch["reward"].mean().item(),
                "charts/intrinsic_reward_mean": r_int.mean().item(), "llm/labels": len(annotator.labels),
                "llm/labels_helpful": sum(annotator.labels.values()), "llm/pending": len(annotator.pending),
                "llm/requests": annotator.requests, "llm/failures": annotator.failures})
            if reward_model is not None and reward_model.trained:
                run.log(global_step, {
                    f"losses/{args.reward_model}_model_loss": reward_model.loss,
                    "llm/reward_model_dataset": len(reward_model.dataset), "llm/reward_model_updates": reward_model.rounds,
                    "llm/preferences": len(annotator.preferences),
                    "llm/classifier_train_accuracy": reward_model.accuracy if args.reward_model == "classification" else None})
            bar.set_postfix(sps=sps, ret=f"{np.mean(returns):.1f}" if returns else "-", labels=len(annotator.labels),
                            lag=f"{policy_lag.mean().item():.1f}")
            if run.due(global_step >= next_ckpt) and not run.stop.requested:  # Ctrl-C: saved below, actors stopped
                run.save(state())
                next_ckpt = global_step + args.checkpoint_frequency
    except (Exception, KeyboardInterrupt) as exc:  # a dead actor, a second Ctrl-C: maybe mid-update, not saved
        error = exc
    finally:
        actors.close()
        annotator.close()
        bar.close()

    # A first Ctrl-C (and nothing else) ended the loop between two updates: the state is whole, saved below
    ctrl_c = error is None and run.stop.requested
    if ctrl_c:
        error = KeyboardInterrupt()
    elapsed = time.time() - start_time
    # classification: how well the classifier reproduces the labels it trained on, and the whole table (cached mode:
    # also the messages the run never saw, which is where the classifier generalises or not)
    seen_quality = reward_model.recall_precision(annotator.labels) if reward_model else (None, None)
    table_quality = reward_model.recall_precision(annotator.table) if reward_model else (None, None)
    summary = {
        "task": args.task, "reward_model": args.reward_model, "seed": args.seed, "global_step": global_step,
        "extrinsic_reward_coeff": ext_coeff, "llm_reward_coeff": llm_coeff, "episodes": episodes,
        "mean_return_last100": float(np.mean(returns)) if returns else None,
        "success_rate_last100": float(np.mean(successes)) if successes else None,
        "max_depth_last100": float(np.mean(depths)) if depths else None,
        "sps": (global_step - start_step) / max(elapsed, 1e-9), "policy_lag_mean": float(np.mean(lags)) if lags else 0.0,
        "policy_versions": version, "labels": len(annotator.labels), "labels_helpful": sum(annotator.labels.values()),
        "preferences": len(annotator.preferences), "llm_requests": annotator.requests, "llm_failures": annotator.failures,
        "llm_mode": args.llm_mode, "llm_last_error": annotator.last_error, "label_files": list(label_files(args)),
        "reward_model_dataset": len(reward_model.dataset) if reward_model else 0,
        "reward_model_updates": reward_model.rounds if reward_model else 0,
        "classifier_recall_labels": seen_quality[0], "classifier_precision_labels": seen_quality[1],
        "classifier_recall_table": table_quality[0], "classifier_precision_table": table_quality[1],
        "wall_time_s": elapsed, "episodic_returns": episodic_returns, "history": history,
        "interrupted": error is not None, "error": None if error is None else f"{type(error).__name__}: {error}",
    }
    if error is not None:
        write_json(run.dir / "interrupted_summary.json", {**summary, "cpus": run.cpus})
    # Saved after a first Ctrl-C (run.save then ends with the resume command), or at the end of a run that trained
    # (with --save-model); never after an exception, which may have left an update half done
    if ctrl_c or (error is None and global_step > start_step and run.due(True)):
        print(f"checkpoint written to {run.save(state())}")
    if error is not None:
        run.close()
        raise error
    (run.dir / "interrupted_summary.json").unlink(missing_ok=True)  # from a stretch of this run that was resumed
    return run.finish(summary)


# ---------------------------------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------------------------------
def check_args(args: Args) -> None:
    """One line and exit code 2 for an argument out of range, before anything is written."""
    check_counts(total_timesteps=args.total_timesteps, envs_per_worker=args.envs_per_worker, rollout=args.rollout,
                 batch_size=args.batch_size, hidden_size=args.hidden_size, crop_size=args.crop_size,
                 max_episode_steps=args.max_episode_steps, checkpoint_frequency=args.checkpoint_frequency,
                 classifier_batch_size=args.classifier_batch_size, llm_batch_size=args.llm_batch_size,
                 llm_max_pending=args.llm_max_pending, llm_concurrency=args.llm_concurrency)
    if args.num_workers < 0 or args.num_buffers < 0 or args.torch_threads < 0:
        usage_error("--num-workers, --num-buffers and --torch-threads must be 0 (automatic) or more")
    per_slot = args.rollout * args.envs_per_worker
    if args.batch_size % per_slot:
        usage_error(f"--batch-size ({args.batch_size}) must be a multiple of --rollout x --envs-per-worker ({per_slot})")
    workers = args.num_workers or os.cpu_count() or 1
    if args.num_buffers and args.num_buffers < args.batch_size // per_slot + workers:
        usage_error(f"--num-buffers ({args.num_buffers}) must be at least --batch-size / (--rollout x --envs-per-worker)"
                    f" + the number of actor processes ({args.batch_size // per_slot + workers})")
    if args.llm_mode == "record" and args.reward_model != "none":
        try:
            refuse_reference_record_file(REPO / record_file(args), [REPO / f for f in label_files(args)])
        except ValueError as error:
            usage_error(str(error))


if __name__ == "__main__":
    args = resumed_args(parse(Args), CHECKPOINT_FORMAT)  # a resume goes on with its run's settings (a new budget aside)
    check_args(args)
    train(args)
