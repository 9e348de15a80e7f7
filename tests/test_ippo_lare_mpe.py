"""Tests of algos/ippo_lare_mpe.py: the K-nearest observations, the mpe2 wrapper (PettingZoo's parallel API test), the
backends' rewards against LaRe's formulas, the scripted prey, the decomposition loss, LaRe's self-verification, the shipped
LLM answers, a smoke run of every backend x scenario x reward model (in-process, tiny budgets, real updates), exact
resume, and training that does not depend on the evaluation settings."""

import itertools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from script_tools import load_script, one_torch_thread, read_scalars, run_main  # noqa: F401 (autouse fixture)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import mpe_envs
import runkit
from mpe_envs.scenarios import LaRePrey, prey_observation

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "ippo_lare_mpe.py"
SCENARIOS = ["spread_n6", "spread_n15", "spread_n30", "tag_n6", "tag_n15", "tag_n30"]
BACKENDS = ["mpe2", "vmas"]
MODELS = ["lare", "rd", "none", "dense"]
# 5-step episodes, 2 envs, 2 PPO updates and one evaluation: seconds even with 30 agents
TINY = ["--num-envs", "2", "--episode-length", "5", "--total-timesteps", "20", "--update-epochs", "2",
        "--minibatch-size", "5", "--eval-frequency", "2", "--eval-episodes", "2", "--reward-frequency", "1",
        "--reward-gradient-steps", "2", "--reward-batch-episodes", "4"]


@pytest.fixture(scope="module")
def mpe():
    return load_script("ippo_lare_mpe")


def run_script(monkeypatch, tmp_path, *argv):
    return run_main(monkeypatch, SCRIPT, tmp_path, *argv)


def resume_script(monkeypatch, checkpoint, *argv):
    """Resumes from `checkpoint`; the run goes on in the checkpoint's folder, which is returned."""
    run_main(monkeypatch, SCRIPT, checkpoint.parent.parent, *argv, "--resume", str(checkpoint))
    return checkpoint.parent


# Observations and environments
def test_knearest_observation_hand_built(mpe):
    scn = dict(kind="tag", n_agents=2, n_landmarks=2, n_prey=1, k_landmarks=2, k_mates=1, k_prey=1)
    pos = torch.tensor([[[0.0, 0.0], [1.0, 0.0]]])
    vel = torch.tensor([[[0.1, 0.2], [0.3, 0.4]]])
    landmarks = torch.tensor([[[0.0, 2.0], [0.5, 0.0]]])
    prey_pos, prey_vel = torch.tensor([[[0.0, -1.0]]]), torch.tensor([[[1.0, -1.0]]])
    obs = mpe_envs.build_observation(scn, pos, vel, landmarks, prey_pos, prey_vel)
    # agent 0: vel, pos, landmarks nearest first (0.5,0) then (0,2), other predator (1,0), prey (0,-1), prey velocity
    expected0 = [0.1, 0.2, 0, 0, 0.5, 0, 0, 2, 1, 0, 0, -1, 1, -1]
    np.testing.assert_allclose(obs[0, 0].numpy(), expected0)
    np.testing.assert_allclose(obs[0, 1].numpy(), [0.3, 0.4, 1, 0, -0.5, 0, -1, 2, -1, 0, -1, -1, 1, -1])
    assert obs.shape[-1] == sum(size for _, size, _ in mpe.observation_layout(scn))


@pytest.mark.parametrize("scenario", ["spread_n6", "tag_n6", "tag_n30"])
def test_mpe2_wrapper_passes_parallel_api_test(mpe, scenario):
    from pettingzoo.test import parallel_api_test

    env = mpe_envs.make_lare_mpe(mpe.SCENARIOS[scenario])
    parallel_api_test(env, num_cycles=30)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_backends_share_the_observation_layout(mpe, scenario):
    scn = mpe.SCENARIOS[scenario]
    dim = sum(size for _, size, _ in mpe.observation_layout(scn))
    for backend in BACKENDS:
        envs = mpe.make_envs(backend, scn, 2, 0, torch.device("cpu"))
        obs = envs.reset()
        assert obs.shape == (2, scn["n_agents"], dim) and envs.n_actions == 5
        next_obs, rew = envs.step(torch.zeros(2, scn["n_agents"], dtype=torch.long))
        assert next_obs.shape == obs.shape and rew.shape == (2, scn["n_agents"]) and torch.isfinite(rew).all()
        # own position at 2:4 and the nearest-landmark slot is the closest one
        rel = obs[..., 4:6].norm(dim=-1)
        assert (rel <= obs[..., 6:8].norm(dim=-1) + 1e-6).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scenario", ["spread_n6", "tag_n6"])
def test_backend_rewards_are_lares_individual_rewards(mpe, backend, scenario):
    # after every step: each learner's own reward of the new state (tests/test_mpe_scenarios.py checks the formulas)
    scn = mpe.SCENARIOS[scenario]
    envs = mpe.make_envs(backend, scn, 4, 0, torch.device("cpu"))
    envs.reset()
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        _, rew = envs.step(torch.randint(0, 5, (4, scn["n_agents"]), generator=gen))
        pos, _, landmarks, prey_pos, _ = envs.state()
        torch.testing.assert_close(rew, mpe_envs.lare_rewards(scn, pos, landmarks, prey_pos).float())
        assert len(set(rew.flatten().tolist())) > 1  # individual, not shared


def test_lare_prey_flees_the_predators():
    # LaRe's pretrained prey, averaged over its Gumbel noise: predators on one side, the prey pushes the other way
    prey_pos, prey_vel = torch.tensor([[[0.0, 0.0], [0.0, 1.0]]]), torch.zeros(1, 2, 2)
    landmarks = torch.tensor([[[1.2, 1.2], [-1.2, 1.2], [1.2, -1.2]]])
    policy, gen = LaRePrey(), torch.Generator().manual_seed(0)
    for side in (-1.0, 1.0):
        predators = torch.tensor([[[0.4 * side, 0.05 * i - 0.12] for i in range(6)]])
        obs = prey_observation(prey_pos, prey_vel, landmarks, predators)[:, :1].expand(2000, 1, 26)
        push = policy.actions(obs, torch.rand(2000, 1, 5, generator=gen)).mean(0)[0]
        assert push[0] * side < -0.5 and abs(push[1]) < 0.2


# Return decomposition
def test_decomposition_loss_hand_computed(mpe):
    # 2 episodes, 2 steps, 2 agents. Sums: 1+2+3+4 = 10 vs R=12 -> 4; 0.5 * 4 = 2 vs R=1 -> 1; mean = 2.5
    pred = torch.tensor([[[1.0, 2.0], [3.0, 4.0]], [[0.5, 0.5], [0.5, 0.5]]])
    loss = mpe.decomposition_loss(pred, torch.tensor([12.0, 1.0]))
    assert loss.item() == pytest.approx(2.5)


def test_decoder_learns_per_agent_credit(mpe):
    # The team return is the sum of a hidden per-agent reward r = 2 x0 - x1; the decoder only sees the sum.
    torch.manual_seed(0)
    x = torch.randn(512, 5, 3, 2)
    returns = (2 * x[..., 0] - x[..., 1]).sum(dim=(1, 2))
    decoder = mpe.RewardDecoder(2, 64, 5)
    opt = torch.optim.Adam(decoder.parameters(), lr=5e-3)
    for _ in range(400):
        idx = torch.randint(0, 512, (128,))
        loss = mpe.decomposition_loss(decoder(x[idx]), returns[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    test = torch.randn(200, 2)
    corr = np.corrcoef(decoder(test).detach().numpy(), (2 * test[:, 0] - test[:, 1]).numpy())[0, 1]
    assert corr > 0.95


def test_episode_buffer_ring(mpe):
    buf = mpe.EpisodeBuffer(3, 2, 2, 1, torch.device("cpu"))
    for r in range(5):
        buf.add(torch.full((1, 2, 2, 1), float(r)), torch.tensor([float(r)]))
    assert buf.size == 3 and sorted(buf.returns.tolist()) == [2.0, 3.0, 4.0]
    x, ret = buf.sample(10)
    assert (x[:, 0, 0, 0] == ret).all()


def test_episode_buffer_resumes_into_another_capacity(mpe):
    def filled(capacity, n):
        buf = mpe.EpisodeBuffer(capacity, 2, 2, 1, torch.device("cpu"))
        for r in range(n):
            buf.add(torch.full((1, 2, 2, 1), float(r)), torch.tensor([float(r)]))
        return buf

    # A run of 4 episodes extended to 5: the same slots as a run of 5 that never stopped.
    resumed = mpe.EpisodeBuffer(8, 2, 2, 1, torch.device("cpu"))
    resumed.load_state_dict(filled(4, 4).state_dict())
    resumed.add(torch.full((1, 2, 2, 1), 4.0), torch.tensor([4.0]))
    straight = filled(8, 5)
    assert (resumed.size, resumed.pos) == (straight.size, straight.pos) and torch.equal(resumed.returns, straight.returns)
    # A ring that wrapped: oldest first; into a smaller ring: the newest kept. Same capacity: slots and pos as saved.
    for capacity, returns, pos in ((4, [2.0, 3.0, 4.0, 0.0], 3), (2, [3.0, 4.0], 0), (3, [3.0, 4.0, 2.0], 2)):
        buf = mpe.EpisodeBuffer(capacity, 2, 2, 1, torch.device("cpu"))
        buf.load_state_dict(filled(3, 5).state_dict())
        assert buf.returns.tolist() == returns and buf.pos == pos and buf.x[:, 0, 0, 0].tolist() == returns


# LLM stage
def answer(function):
    return json.dumps({"understanding": "u", "analysis": "a", "function": function})


FUNC_OK = "import numpy as np\n\ndef evaluation_func(observation):\n    return [observation[:, 0:1], observation[:, 2:3] ** 2]\n"
FUNC_BAD_SHAPE = "import numpy as np\n\ndef evaluation_func(observation):\n    return [observation[:, 0]]\n"


def test_self_verification_feeds_errors_back(mpe, tmp_path, monkeypatch):
    from llmcode import client as client_module
    from llmcode.cache import AnswerCache, reference_provenance

    cache = AnswerCache(tmp_path / "spread_n6")
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

    monkeypatch.setattr(mpe, "LLMClient", Spy)  # the name the script asks through
    args = mpe.Args(scenario="spread_n6", llm_samples=2, llm_outputs=str(tmp_path))
    obs = mpe.make_envs("mpe2", mpe.SCENARIOS["spread_n6"], 1, 0, torch.device("cpu")).reset()[0].numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source, factor_num, info = mpe.design_latent_reward(args, mpe.SCENARIOS["spread_n6"], obs, lambda msg: None)
    assert factor_num == 2 and info["retries"] == 2 and source == FUNC_OK
    assert [(p, n, t) for p, n, t, _ in asked] == [("candidates", 2, 1.0), ("merge", 1, 0.3), ("fix1", 1, 0.3), ("fix2", 1, 0.3)]
    assert "observation[:, 2:3]" in asked[1][3][-1]["content"] and "not json at all" in asked[1][3][-1]["content"]
    fix1 = asked[2][3]  # the real reset observations of all 6 agents: batch 6
    assert fix1[-2]["role"] == "assistant" and "(6, 1)" in fix1[-1]["content"] and "shape (6,)" in fix1[-1]["content"]


@pytest.mark.parametrize("scenario,backend", list(itertools.product(SCENARIOS, BACKENDS)))
def test_shipped_answers_are_reference_and_verify(mpe, scenario, backend):
    folder = ROOT / "llm_outputs" / "lare" / "mpe" / scenario
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {e["provenance"]["source"] for e in manifest["entries"]} == {"reference"}
    scn = mpe.SCENARIOS[scenario]
    obs = mpe.make_envs(backend, scn, 3, 0, torch.device("cpu")).reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped prompts match the script's prompts exactly
        source, factor_num, info = mpe.design_latent_reward(mpe.Args(scenario=scenario), scn, obs[0].numpy(), lambda m: None)
    assert info == {"retries": 0, "candidates": 5} and factor_num == 8
    z = mpe.make_encoder(source, factor_num)(obs)
    assert z.shape == (3, scn["n_agents"], 8) and torch.isfinite(z).all()


# Smoke runs: every backend x scenario x reward model, real updates, in-process
@pytest.mark.parametrize("backend,scenario,model", list(itertools.product(BACKENDS, SCENARIOS, MODELS)))
def test_smoke(backend, scenario, model, tmp_path, monkeypatch):
    run_dir = run_script(monkeypatch, tmp_path, "--backend", backend, "--scenario", scenario, "--reward-model", model, *TINY)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["reward_model"] == model and summary["steps"] == 20 and summary["updates"] == 2
    assert [s for s, _ in summary["evals"]] == [20] and math.isfinite(summary["final_eval_return"])
    logged = read_scalars(run_dir)
    for tag in ["charts/episodic_return", "losses/value_loss", "losses/policy_loss", "eval/episodic_return", "charts/SPS"]:
        assert logged[tag] and all(math.isfinite(v) for v in logged[tag]), tag
    if model in ("lare", "rd"):  # the decoder trains once its buffer holds a batch: after update 2 (4 episodes)
        assert len(logged["losses/reward_loss"]) == 1 and all(math.isfinite(v) for v in logged["losses/reward_loss"])
    if model == "lare":
        assert logged["llm/factor_num"] == [8] and (run_dir / "evaluation_func.py").exists()


def summary_of(run_dir):
    return json.loads((run_dir / "summary.json").read_text())


def checkpoint_of(run_dir):
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)


def logged_steps(run_dir, tag):
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return [e.step for e in acc.Scalars(tag)]


# 2 envs x 5 steps = 10 env steps per update; annealing off so that a run of 2 updates extended to 4 trains as a run of 4
EXACT = ["--scenario", "spread_n6", "--reward-model", "rd", "--num-envs", "2", "--episode-length", "5", "--update-epochs",
         "2", "--minibatch-size", "5", "--reward-gradient-steps", "2", "--reward-batch-episodes", "4", "--no-anneal-lr",
         "--no-anneal-clip", "--eval-frequency", "2", "--eval-episodes", "2", "--save-model"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_resumed_run_continues_exactly(backend, tmp_path, monkeypatch, mpe):
    # 4 updates straight vs 2 updates, checkpoint, resume to 4. The envs' random streams (mpe2: each env's np_random,
    # not re-seeded on resume; VMAS: its own generator), torch's, and the decoder schedule (--reward-frequency 2: the
    # decoder trains after updates 2 and 4, once the buffer holds a batch of 4 episodes; also when resuming at 3).
    common = ["--backend", backend, *EXACT, "--reward-frequency", "2"]
    straight = run_script(monkeypatch, tmp_path / "a", *common, "--total-timesteps", "40")
    stopped = run_script(monkeypatch, tmp_path / "b", *common, "--total-timesteps", "20")
    resumed = resume_script(monkeypatch, stopped / "checkpoint.pt", *common, "--total-timesteps", "40")
    a, c = summary_of(straight), summary_of(resumed)
    assert len(a["train_returns"]) == 4 and a["train_returns"] == c["train_returns"]
    # The CPU of each stretch is recorded (a seed repeats a run only on the same kind of CPU): the start, then the resume.
    cpu = runkit.cpu_model()
    assert a["cpus"] == [cpu] and c["cpus"] == [cpu, cpu]
    assert [s for s, _ in a["evals"]] == [20, 40] and a["evals"] == c["evals"]
    # The resumed run logs into the stopped run's folder: update 2 before the stop, update 4 after it (not update 3).
    assert logged_steps(straight, "losses/reward_loss") == [20, 40] and logged_steps(resumed, "losses/reward_loss") == [20, 40]
    ckpt_a, ckpt_c = checkpoint_of(straight), checkpoint_of(resumed)
    for part in ("agent", "decoder"):
        for name, value in ckpt_a[part].items():
            assert torch.equal(value, ckpt_c[part][name]), (part, name)
    assert torch.equal(ckpt_a["buffer"]["x"], ckpt_c["buffer"]["x"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_does_not_depend_on_the_evaluation_settings(backend, tmp_path, monkeypatch):
    # VMAS keeps one random state for all its envs: the evaluation env must neither re-seed nor consume the training's.
    common = ["--backend", backend, *EXACT, "--reward-frequency", "1", "--total-timesteps", "30"]
    often = run_script(monkeypatch, tmp_path / "a", *common, "--eval-frequency", "1", "--eval-episodes", "3")
    rarely = run_script(monkeypatch, tmp_path / "b", *common, "--eval-frequency", "3", "--eval-episodes", "2")
    assert [s for s, _ in summary_of(often)["evals"]] == [10, 20, 30] and [s for s, _ in summary_of(rarely)["evals"]] == [30]
    assert summary_of(often)["train_returns"] == summary_of(rarely)["train_returns"]
    ckpt_a, ckpt_b = checkpoint_of(often), checkpoint_of(rarely)
    for name, value in ckpt_a["agent"].items():
        assert torch.equal(value, ckpt_b["agent"][name]), name


def test_value_loss_is_lares_huber_loss(mpe):
    # quadratic inside delta, linear beyond it, continuous at delta
    errors = torch.tensor([0.0, 3.0, -3.0, 10.0, 14.0, -20.0])
    assert mpe.huber(errors, 10.0).tolist() == [0.0, 4.5, 4.5, 50.0, 90.0, 150.0]


def test_resuming_a_finished_run_keeps_its_summary_and_checkpoint(tmp_path, monkeypatch):
    # The final checkpoint of a finished run, resumed with the same budget: nothing to train, nothing rewritten
    common = ["--backend", "mpe2", "--scenario", "spread_n6", "--reward-model", "none", "--save-model", *TINY]
    first = run_script(monkeypatch, tmp_path, *common)
    summary, ckpt = ((first / name).read_bytes() for name in ("summary.json", "checkpoint.pt"))
    assert resume_script(monkeypatch, first / "checkpoint.pt", *common) == first
    assert (first / "summary.json").read_bytes() == summary and (first / "checkpoint.pt").read_bytes() == ckpt


def test_save_and_resume(tmp_path, monkeypatch):
    first = run_script(monkeypatch, tmp_path / "a", "--backend", "vmas", "--scenario", "tag_n6", "--save-model", *TINY)
    ckpt = torch.load(first / "checkpoint.pt", weights_only=False)
    assert ckpt["update"] == 2 and len(ckpt["buffer"]["returns"]) == 4 and ckpt["llm"]["factor_num"] == 8
    # The same checkpoint as if written on a GPU (every tensor tagged cuda:0): it must resume on this machine too, also
    # when it has no GPU (torch.load then needs map_location).
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        (tmp_path / "gpu").mkdir()
        torch.save(ckpt, tmp_path / "gpu" / "checkpoint.pt")
    more = [a if a != "20" else "40" for a in TINY]
    second = resume_script(monkeypatch, tmp_path / "gpu" / "checkpoint.pt", "--backend", "vmas", "--scenario", "tag_n6",
                           *more)
    summary = json.loads((second / "summary.json").read_text())
    assert [s for s, _ in summary["evals"]] == [20, 40] and len(summary["train_returns"]) == 4
