"""Tests of algos/td3_lare_mujoco.py: the episodic-reward wrapper, the trajectory replay buffer, the return-decomposition
losses, the decoder's fit, LaRe's self-verification loop, the shipped LLM answers, and a smoke run of every reward model
on every task (in-process, tiny budgets, real updates)."""

import itertools
import json
import math
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from script_tools import load_script, one_torch_thread, read_scalars, run_main  # noqa: F401 (autouse fixture)

import runkit
from llmcode.errors import LLMCodeFailed

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "td3_lare_mujoco.py"
ENVS = ["Reacher-v5", "HalfCheetah-v5", "Walker2d-v5", "HumanoidStandup-v5"]
MODELS = ["lare", "rd", "rrd", "rrd-unbiased", "ircr", "none", "dense"]
TINY = ["--total-timesteps", "300", "--learning-starts", "100", "--batch-size", "32", "--rrd-k", "8",
        "--eval-frequency", "200", "--eval-episodes", "1"]


@pytest.fixture(scope="module")
def lare():
    return load_script("td3_lare_mujoco")


def run_script(monkeypatch, tmp_path, *argv):
    return run_main(monkeypatch, SCRIPT, tmp_path, *argv)


# Episodic reward wrapper
def test_episodic_wrapper_passes_check_env(lare):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # check_env notes that the env is wrapped; that is the point here
        check_env(lare.EpisodicReward(gym.make("Reacher-v5")), skip_render_check=True)


@pytest.mark.parametrize("env_id,steps", [("Reacher-v5", 20), ("Walker2d-v5", 1000)])
def test_episodic_wrapper_hides_reward_until_the_end(lare, env_id, steps):
    env = lare.make_env(env_id, seed=0, max_episode_steps=steps)
    env.reset(seed=0)
    dense, seen, done = [], [], False
    while not done:
        _, r, term, trunc, info = env.step(env.action_space.sample())
        dense.append(info["dense_reward"])
        seen.append(r)
        done = term or trunc
    assert all(r == 0.0 for r in seen[:-1])
    assert seen[-1] == pytest.approx(sum(dense))
    assert seen[-1] != 0.0
    env.reset()  # the next episode starts from zero again
    _, r, *_ = env.step(env.action_space.sample())
    assert r == 0.0


# Replay buffer with trajectory structure
def fill(rb, lengths, obs_dim=3, act_dim=2, rng=None):
    rng = rng or np.random.default_rng(0)
    for length in lengths:
        total = 0.0
        for t in range(length):
            r = float(rng.normal())
            total += r
            done = t == length - 1
            rb.add(rng.normal(size=obs_dim), rng.normal(size=obs_dim), rng.normal(size=act_dim), r,
                   total if done else 0.0, 0.0, done)


def test_buffer_keeps_episode_structure(lare):
    rb = lare.EpisodicReplayBuffer(100, 3, 2)
    fill(rb, [5, 7, 4])
    assert rb.num_episodes == 3 and list(rb.ep_len) == [5, 7, 4] and list(rb.ep_start) == [0, 5, 12]
    for ep in range(3):
        steps = slice(rb.ep_start[ep], rb.ep_start[ep] + rb.ep_len[ep])
        assert rb.ep_return[ep] == pytest.approx(rb.dense_rewards[steps].sum())
        assert (rb.episode_ids[steps] == ep).all()
    rng = np.random.default_rng(1)
    idx, seg, ret, lengths, counts = rb.sample_episode_steps(6, 3, rng)
    assert len(idx) == counts.sum() and (counts == np.minimum(3, lengths)).all()
    for j in range(6):  # every sampled step belongs to its episode, without repeats
        ids = rb.episode_ids[idx[seg == j]]
        assert len(set(idx[seg == j])) == counts[j] and (ids == ids[0]).all() and ret[j] == rb.ep_return[ids[0]]
    idx, seg, ret, lengths, counts = rb.sample_episode_steps(4, None, rng)  # rd: whole episodes
    assert (counts == lengths).all()


def test_buffer_finished_only_sampling_and_ring(lare):
    rb = lare.EpisodicReplayBuffer(20, 3, 2)
    fill(rb, [6, 6, 6])
    for _ in range(3):  # an unfinished episode of 3 steps
        rb.add(np.zeros(3), np.zeros(3), np.zeros(2), 0.0, 0.0, 0.0, False)
    idx = rb.sample(1000, np.random.default_rng(0), finished_only=True)
    assert rb.episode_ids[idx].max() < rb.num_episodes and rb.episode_ids[idx].min() == 0
    # 21 transitions in a ring of 20: episode 0 lost its first step, so it may no longer be decomposed
    assert rb.first_whole_episode() == 1
    _, seg, ret, *_ = rb.sample_episode_steps(50, 2, np.random.default_rng(0))
    assert set(np.round(ret, 6)) <= set(np.round(rb.ep_return[1:], 6))
    ircr = lare.ircr_rewards(rb, idx)
    assert ircr.min() >= 0.0 and ircr.max() <= 1.0


# Return-decomposition losses
def test_decomposition_losses_hand_computed(lare):
    # Episode A: T=4, R=8, sampled K=2 predictions [1, 3]: mean 2 = R/T; s^2 = 2; correction (1 - 2/4) * 2 / 2 = 0.5.
    # Episode B: T=3, R=6, all K=3 predictions [0, 1, 2]: mean 1, R/T = 2, squared error 1; correction (1 - 3/3) = 0.
    pred = torch.tensor([1.0, 3.0, 0.0, 1.0, 2.0])
    seg = np.array([0, 0, 1, 1, 1])
    args = (seg, np.array([8.0, 6.0]), np.array([4, 3]), np.array([2, 3]))
    assert lare.decomposition_loss(pred, *args, "rrd-unbiased").item() == pytest.approx((-0.5 + 1.0) / 2)
    assert lare.decomposition_loss(pred, *args, "rrd").item() == pytest.approx((0.0 + 1.0) / 2)


def test_rrd_unbiased_is_unbiased_for_rd(lare):
    # Averaged over every K-subset of an episode, the rrd-unbiased loss equals the rd loss of the whole episode.
    r = torch.tensor([0.3, -1.2, 2.0, 0.7, 1.5, -0.4])
    T, R = len(r), 4.0
    rd = lare.decomposition_loss(r, np.zeros(T, int), np.array([R]), np.array([T]), np.array([T]), "rd").item()
    for k in (2, 3, 5):
        losses = [lare.decomposition_loss(r[list(s)], np.zeros(k, int), np.array([R]), np.array([T]), np.array([k]),
                                          "rrd-unbiased").item() for s in itertools.combinations(range(T), k)]
        assert np.mean(losses) == pytest.approx(rd, abs=1e-5)
        biased = [lare.decomposition_loss(r[list(s)], np.zeros(k, int), np.array([R]), np.array([T]), np.array([k]),
                                          "rrd").item() for s in itertools.combinations(range(T), k)]
        assert np.mean(biased) > rd + 1e-3  # the plain rrd loss is biased upwards by the sampling variance


@pytest.mark.parametrize("kind", ["rrd-unbiased", "rd"])
def test_decoder_recovers_per_step_reward_from_episodic_returns(lare, kind):
    # Factors z (3 per step), true reward r = 2 z0 - z1^2 + 0.5 z0 z2 + 1; the decoder only sees episode returns.
    torch.manual_seed(0)
    rng = np.random.default_rng(0)

    def true_reward(z):
        return 2 * z[:, 0] - z[:, 1] ** 2 + 0.5 * z[:, 0] * z[:, 2] + 1.0

    rb = lare.EpisodicReplayBuffer(20_000, 3, 1, factor_dim=3)
    for _ in range(400):
        z = rng.normal(size=(50, 3)).astype(np.float32)
        r = true_reward(z)
        for t in range(50):
            done = t == 49
            rb.add(z[t], z[t], np.zeros(1), r[t], r.sum() if done else 0.0, 0.0, done)
    # The LLM encoder of this toy task: its factors are the observation itself.
    rb.encode_pending(lambda obs, act: obs)
    decoder = lare.RewardDecoder(3, 256)
    opt = torch.optim.Adam(decoder.parameters(), lr=3e-4)
    k = None if kind == "rd" else 16
    for _ in range(600):
        idx, seg, ret, lengths, counts = rb.sample_episode_steps(16 if k else 5, k, rng)
        loss = lare.decomposition_loss(decoder(torch.as_tensor(rb.factors[idx])), seg, ret, lengths, counts, kind)
        opt.zero_grad()
        loss.backward()
        opt.step()
    z = rng.normal(size=(2000, 3)).astype(np.float32)
    with torch.no_grad():
        pred = decoder(torch.as_tensor(z)).numpy()
    assert np.corrcoef(pred, true_reward(z))[0, 1] > 0.9


# LaRe's LLM stage: self-verification with error feedback, replayed from a cache
FUNC_OK = "import numpy as np\n\ndef evaluation_func(observation, action):\n    return [observation[:, 8:9], np.sum(action ** 2, axis=1, keepdims=True)]\n"
FUNC_BAD_SHAPE = "def evaluation_func(observation, action):\n    return [observation[:, 8]]\n"


def answer(function):
    return json.dumps({"understanding": "u", "analysis": "a", "function": function})


def test_self_verification_feeds_errors_back(lare, tmp_path, monkeypatch):
    from llmcode import client as client_module
    from llmcode.cache import AnswerCache, reference_provenance

    # Replay by position: the cached prompts here differ from the script's, which is allowed (with a warning).
    cache = AnswerCache(tmp_path / "HalfCheetah")
    prov = reference_provenance("test")
    cache.add("x", 0, answer(FUNC_OK), prov, position="candidates")
    cache.add("x", 1, "not json at all", prov, position="candidates")
    cache.add("x", 0, answer(FUNC_BAD_SHAPE), prov, position="merge")
    cache.add("x", 0, "{broken json", prov, position="fix1")
    cache.add("x", 0, answer(FUNC_OK), prov, position="fix2")
    asked = []

    class Spy(client_module.LLMClient):
        def ask(self, messages, n=1, position=None, temperature=None):
            asked.append((position, n, temperature, messages))
            return super().ask(messages, n=n, position=position, temperature=temperature)

    monkeypatch.setattr(client_module, "LLMClient", Spy)
    args = lare.Args(env_id="HalfCheetah-v5", llm_samples=2, llm_outputs=str(tmp_path))
    env = lare.make_env(args.env_id, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source, factor_num, info = lare.design_latent_reward(args, env, lambda msg: None)
    assert factor_num == 2 and info["retries"] == 2 and source == FUNC_OK
    assert [(p, n, t) for p, n, t, _ in asked] == [("candidates", 2, 1.0), ("merge", 1, 0.3), ("fix1", 1, 0.3), ("fix2", 1, 0.3)]
    merge_request = asked[1][3][-1]["content"]
    assert "observation[:, 8:9]" in merge_request and "not json at all" in merge_request  # both candidates shown
    fix1 = asked[2][3]
    assert fix1[-2]["role"] == "assistant" and "(2, 1)" in fix1[-1]["content"] and "shape (2,)" in fix1[-1]["content"]

    args.llm_max_retries = 1  # the same answers with one retry only: no valid function
    with warnings.catch_warnings(), pytest.raises(LLMCodeFailed, match="no valid evaluation_func"):
        warnings.simplefilter("ignore")
        lare.design_latent_reward(args, env, lambda msg: None)


@pytest.mark.parametrize("env_id", ENVS)
def test_shipped_answers_are_reference_and_verify(lare, env_id):
    folder = ROOT / "llm_outputs" / "lare" / "mujoco" / lare.env_name(env_id)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {e["provenance"]["source"] for e in manifest["entries"]} == {"reference"}
    args = lare.Args(env_id=env_id)
    env = lare.make_env(env_id, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped prompts match the script's prompts exactly (no PromptChangedWarning)
        source, factor_num, info = lare.design_latent_reward(args, env, lambda msg: None)
    assert info == {"retries": 0, "candidates": 5} and factor_num >= 4
    obs = np.stack([env.reset(seed=i)[0] for i in range(8)]).astype(np.float32)
    z = lare.make_encoder(source, factor_num)(obs, np.stack([env.action_space.sample() for _ in range(8)]))
    assert z.shape == (8, factor_num) and np.isfinite(z).all()


# Smoke runs: every reward model on every task, real updates, in-process
@pytest.mark.parametrize("env_id,model", list(itertools.product(ENVS, MODELS)))
def test_smoke(env_id, model, tmp_path, monkeypatch):
    # 60-step episodes so that the decomposition sees finished episodes within 300 steps
    run_dir = run_script(monkeypatch, tmp_path, "--env-id", env_id, "--reward-model", model, "--max-episode-steps", "60", *TINY)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["reward_model"] == model and summary["steps"] == 300
    assert [s for s, _ in summary["evals"]] == [200, 300] and math.isfinite(summary["final_eval_return"])
    logged = read_scalars(run_dir)
    for tag in ["charts/episodic_return", "losses/qf1_loss", "losses/actor_loss", "eval/episodic_return", "charts/SPS"]:
        assert logged[tag] and all(math.isfinite(v) for v in logged[tag]), tag
    if model in ("lare", "rd", "rrd", "rrd-unbiased"):
        assert all(math.isfinite(v) for v in logged["losses/reward_loss"])
    if model == "lare":
        assert logged["llm/factor_num"] == [summary["llm"]["factor_num"]] and (run_dir / "evaluation_func.py").exists()


def test_long_episodes_without_finished_episode(tmp_path, monkeypatch):
    # 1000-step episodes and 300 steps: no episode ends; the decoder is then used untrained, nothing crashes.
    run_dir = run_script(monkeypatch, tmp_path, "--env-id", "HalfCheetah-v5", "--reward-model", "lare", *TINY)
    assert json.loads((run_dir / "summary.json").read_text())["evals"][-1][0] == 300


@pytest.mark.parametrize("env_id", ["Reacher-v5", "Walker2d-v5"])
def test_a_run_resumed_mid_episode_continues_exactly(tmp_path, monkeypatch, env_id, lare):
    # Step 170 is in the middle of an episode: the checkpoint holds the env's physics, step count and random streams.
    common = ["--env-id", env_id, "--reward-model", "lare", "--save-model", "--learning-starts", "100",
              "--batch-size", "32", "--rrd-k", "8", "--eval-frequency", "300", "--eval-episodes", "1"]
    straight = run_script(monkeypatch, tmp_path / "a", *common, "--total-timesteps", "300")
    stopped = run_script(monkeypatch, tmp_path / "b", *common, "--total-timesteps", "170")
    ckpt = torch.load(stopped / "checkpoint.pt", weights_only=False)
    assert 0 < ckpt["ep_length"] and ckpt["buffer"]["total"] == 170  # mid-episode, its partial transitions kept
    resumed = run_script(monkeypatch, tmp_path / "b", *common, "--total-timesteps", "300",  # goes on in its folder
                         "--resume", str(stopped / "checkpoint.pt"))
    assert resumed == stopped
    a, c = (torch.load(run / "checkpoint.pt", weights_only=False) for run in (straight, resumed))
    for part in ("actor", "qf1", "decoder"):
        for name, value in a[part].items():
            assert torch.equal(value, c[part][name]), (part, name)
    for key in ("obs", "next_obs", "actions", "dense_rewards", "episodic_rewards", "factors"):
        np.testing.assert_array_equal(a["buffer"][key], c["buffer"][key], err_msg=key)
    eval_a = json.loads((straight / "summary.json").read_text())["evals"][-1]
    eval_c = json.loads((resumed / "summary.json").read_text())["evals"][-1]
    assert eval_a == eval_c
    summary = json.loads((resumed / "summary.json").read_text())
    assert summary["resumes"] == [{"step": 170, "exact": True}]
    # One CPU per stretch of the run (start, then the resume), so records from different kinds of CPU can be told apart.
    assert summary["cpus"] == [runkit.cpu_model()] * 2 and runkit.cpu_model() not in ("", "unknown")


def test_resuming_a_finished_run_keeps_its_summary_and_checkpoint(tmp_path, monkeypatch):
    # The final checkpoint of a finished run, resumed with the same budget: nothing to train, nothing rewritten
    common = ["--env-id", "Reacher-v5", "--reward-model", "none", "--save-model", *TINY]
    first = run_script(monkeypatch, tmp_path, *common)
    summary, ckpt = ((first / name).read_bytes() for name in ("summary.json", "checkpoint.pt"))
    again = run_script(monkeypatch, tmp_path, *common, "--resume", str(first / "checkpoint.pt"))
    assert again == first
    assert (first / "summary.json").read_bytes() == summary and (first / "checkpoint.pt").read_bytes() == ckpt


def test_truncation_handling_and_resume(tmp_path, monkeypatch):
    first = run_script(monkeypatch, tmp_path / "a", "--env-id", "Reacher-v5", "--reward-model", "lare", "--save-model",
                       "--max-episode-steps", "30", *TINY)
    ckpt = torch.load(first / "checkpoint.pt", weights_only=False)
    buf = ckpt["buffer"]
    assert ckpt["global_step"] == 300 and buf["total"] == 300 and len(buf["ep_len"]) == 10
    # Reacher only truncates: no termination is stored, so TD3 bootstraps through every time limit.
    assert buf["terminations"].sum() == 0
    # Within an episode next_obs[t] == obs[t+1]; at an episode end next_obs is the final observation, not the reset one.
    ends = np.cumsum(buf["ep_len"]) - 1
    inner = np.setdiff1d(np.arange(299), ends)
    np.testing.assert_array_equal(buf["next_obs"][inner], buf["obs"][inner + 1])
    assert not np.allclose(buf["next_obs"][ends[:-1]], buf["obs"][ends[:-1] + 1])
    assert (buf["episodic_rewards"][np.setdiff1d(np.arange(300), ends)] == 0).all()
    # Resume: continues at step 300 with the same buffer and the LLM function from the checkpoint.
    second = run_script(monkeypatch, tmp_path / "a", "--env-id", "Reacher-v5", "--reward-model", "lare",
                        "--max-episode-steps", "30", "--resume", str(first / "checkpoint.pt"),
                        *[a if a != "300" else "400" for a in TINY])
    summary = json.loads((second / "summary.json").read_text())
    assert second == first and [s for s, _ in summary["evals"]] == [200, 300, 400] and summary["llm"]["factor_num"] == 5
