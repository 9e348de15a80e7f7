"""algos/ppo_eureka_isaac.py: reward contract, reflection, the shipped transcripts, cached and live searches,
parallel candidates and resume."""

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from fake_llm_server import Reply
from script_tools import load_script, one_torch_thread, read_scalars, run_main  # noqa: F401 (fixture)

import dexhands
import runkit
from llmcode import AnswerCache, PromptChangedWarning

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "ppo_eureka_isaac.py"
eu = load_script("ppo_eureka_isaac")
pc = load_script("ppo_progresscounts_isaac")

SUPPORTED_TASKS = sorted(p.parent.name for p in (ROOT / "llm_outputs" / "eureka").glob("*/manifest.json"))
TINY = ["--num-envs", "4", "--num-steps", "4", "--hidden-sizes", "32", "32", "--no-cuda", "--samples", "2",
        "--iterations", "2", "--candidate-timesteps", "48", "--eval-seeds", "1", "--eval-timesteps", "32"]

GOOD = '''Here is a reward.
```python
def compute_reward(state):
    goal_temp = 0.1
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    goal_reward = torch.exp(-goal_dist / goal_temp)
    return goal_reward, {"goal_reward": goal_reward}
```'''
REFUSED = '''```python
import os

def compute_reward(state):
    return state["object_pos"][:, 0], {}
```'''
CRASHES = '''```python
def compute_reward(state):
    height = state["object_pos"][:, 2]
    if bool((state["actions"] != 0).any()):
        height = height + state["no_such_key"]
    return height, {"height": height}
```'''


def tiny_args(**overrides) -> "eu.Args":
    args = eu.Args(num_envs=4, num_steps=4, hidden_sizes=(32, 32), cuda=False, samples=2, iterations=2,
                   candidate_timesteps=48, eval_seeds=0)
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def test_reward_contract_is_enforced():
    validate = eu.reward_validator(3)
    validate((torch.zeros(3), {"a": torch.ones(3)}))
    with pytest.raises(eu.LLMCodeFailed, match="pair"):
        validate(torch.zeros(3))
    with pytest.raises(eu.LLMCodeFailed, match="shape"):
        validate((torch.zeros(3, 1), {}))
    with pytest.raises(eu.LLMCodeFailed, match="NaN"):
        validate((torch.zeros(3), {"bad": torch.tensor([0.0, float("nan"), 1.0])}))


def test_reflection_lists_components_task_score_and_episode_length():
    history = [{"components": {"goal_reward": 0.1 * i, "drop": -1.0}, "success_rate": None if i < 2 else i / 40,
                "episode_length": None if i < 2 else 75.0} for i in range(40)]
    text = eu.reflection(history, points=10)
    assert "every 4 PPO iterations" in text
    goal_line = next(line for line in text.splitlines() if line.startswith("goal_reward:"))
    assert goal_line.count(",") == 9 + 3 and "Max: 3.9" in goal_line and goal_line.endswith("Min: 0")
    assert "task_score: [0.1, 0.2" in text and "Max: 0.975" in text  # None (no episode ended yet) is left out
    assert "episode_length:" in text and "drop:" in text and "rewrite the whole function" in text
    assert "```python" in text  # the output tips close the feedback
    assert "no_such" not in eu.error_feedback("boom") and "boom" in eu.error_feedback("boom")


def test_candidate_seeds_depend_only_on_seed_iteration_and_sample():
    seeds = {eu.candidate_seed(1, i, k) for i in range(5) for k in range(16)}
    assert len(seeds) == 80 and eu.candidate_seed(2, 0, 0) not in seeds


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_shipped_transcript_is_complete_reference_and_runs(task):
    entries = AnswerCache(ROOT / "llm_outputs" / "eureka" / task).entries()
    positions = {(e["position"], e["sample"]) for e in entries}
    assert positions == {(f"iter{i}", k) for i in range(5) for k in range(16)}
    assert all(e["provenance"]["source"] == "reference" and "not recorded from a model" in e["provenance"]["note"]
               for e in entries)
    env = dexhands.make(task, num_envs=3, num_threads=1)
    env.reset()
    for entry in entries[::7]:
        text = (ROOT / "llm_outputs" / "eureka" / task / entry["file"]).read_text()
        fn = eu.compile_llm_function(eu.extract_code(text), entry="compute_reward", validate=eu.reward_validator(3))
        reward, components = fn(env.state)
        assert reward.shape == (3,) and components


@pytest.mark.parametrize("task", dexhands.TASKS)
def test_every_task_has_a_transcript_whose_first_answer_replays(task):
    # The iteration-0 prompt must be exactly today's (task and state descriptions): otherwise the shipped answers
    # were written for another prompt. Fix: python llm_outputs/eureka/make_reference_transcripts.py --tasks <task>
    env = dexhands.make(task, num_envs=3, num_threads=1)
    env.reset()
    client = eu.make_client(eu.Args(task=task))
    with warnings.catch_warnings():
        warnings.simplefilter("error", PromptChangedWarning)
        answer = client.ask(eu.initial_messages(task, env), n=1, position="iter0")[0]
    fn = eu.compile_llm_function(eu.extract_code(answer.text), entry="compute_reward", validate=eu.reward_validator(3))
    reward, components = fn(env.state)
    assert reward.shape == (3,) and components


def test_cached_search_smoke_2_iterations_x_2_candidates(tmp_path, monkeypatch):
    # Tiny budgets change the reflections, so the iteration-1 prompt differs from the recorded one: said, then replayed.
    with pytest.warns(PromptChangedWarning, match="iter1"):
        run_dir = run_main(monkeypatch, SCRIPT, tmp_path, "--task", "ShadowHandOver", *TINY)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [c["label"] for c in summary["candidates"]] == [f"candidates/iter{i}_s{k}" for i in range(2) for k in range(2)]
    assert all(c["status"] == "ok" for c in summary["candidates"])
    assert [row["execute_rate"] for row in summary["iteration_summaries"]] == [1.0, 1.0]
    assert summary["best"]["code"].startswith("def compute_reward") and (run_dir / "best_reward.py").exists()
    # The paper's evaluation: the best reward retrained on a new seed, reported apart from the number it was selected on.
    assert summary["evaluation"]["seeds"] == [runkit.evaluation_seed(1, 0)]
    assert summary["evaluation"]["max_success_rate_mean"] is not None and "max_success_rate" not in summary["best"]
    best = next(c for c in summary["candidates"] if c["label"] == summary["best"]["label"])
    assert summary["best"]["selection_max_success_rate"] == best["max_success_rate"]
    # The evaluation's numbers at the top level, for the benchmark report (one seed: exactly that run's).
    assert summary["eval_max_success_rate"] == summary["evaluation"]["max_success_rate_mean"]
    assert summary["eval_final_episodic_human_return"] == summary["evaluation"]["final_episodic_human_returns"][0]
    assert summary["evaluation_history"] and "step" in summary["evaluation_history"][-1]
    assert -1.0 <= summary["evaluation"]["reward_correlation_mean"] <= 1.0
    scalars = read_scalars(run_dir / "candidates" / "iter0_s0")
    assert "charts/reward_components/goal_reward" in scalars and "losses/value_loss" in scalars
    search_scalars = read_scalars(run_dir)
    assert search_scalars["llm/execute_rate"] == [1.0, 1.0] and "eval/max_success_rate" in search_scalars
    messages = json.loads((run_dir / "messages.json").read_text())
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"] and "task_score" in messages[3]["content"]

    # Resume from the folder alone (its config.json): only the candidate missing from the state is trained again.
    state = json.loads((run_dir / "search_state.json").read_text())
    del state["candidates"]["candidates/iter1_s1"]
    (run_dir / "search_state.json").write_text(json.dumps(state))
    kept, redone = (run_dir / "candidates" / name / "summary.json" for name in ("iter1_s0", "iter1_s1"))
    before = kept.stat().st_mtime_ns, redone.stat().st_mtime_ns
    run_main(monkeypatch, SCRIPT, tmp_path, "--resume", str(run_dir))  # answers come from the state: nothing re-asked
    assert kept.stat().st_mtime_ns == before[0] and redone.stat().st_mtime_ns != before[1]
    assert len(json.loads((run_dir / "summary.json").read_text())["candidates"]) == 4


def test_live_search_feeds_refusals_and_crashes_back(tmp_path, fake_llm):
    scripted = {0: [REFUSED, CRASHES], 1: [GOOD, CRASHES], 2: [CRASHES, CRASHES], 3: [CRASHES, GOOD]}
    fake_llm.set_handler(lambda request, call: Reply(answers=scripted[call]))
    args = tiny_args(llm_mode="live", llm_base_url=fake_llm.base_url, llm_model="fake-model", max_retries=1)
    summary = eu.search(args, tmp_path)
    status = {c["label"]: c["status"] for c in summary["candidates"]}
    assert status == {"candidates/iter0_s0": "refused", "candidates/iter0_s1": "failed", "candidates/iter0_retry1_s0": "ok",
                      "candidates/iter0_retry1_s1": "failed", "candidates/iter1_s0": "failed", "candidates/iter1_s1": "failed",
                      "candidates/iter1_retry1_s0": "failed", "candidates/iter1_retry1_s1": "ok"}
    crash = next(c["error"] for c in summary["candidates"] if c["label"] == "candidates/iter0_s1")
    assert "no_such_key" in crash and "line 4" in crash
    assert summary["iteration_summaries"][0]["attempts"] == 2
    assert summary["best"]["label"] in ("candidates/iter0_retry1_s0", "candidates/iter1_retry1_s1")
    # Every candidate of iteration 0 failed: the repeated prompt carries the refusal, to be fixed.
    retry_feedback = fake_llm.requests[1]["messages"][-1]["content"]
    assert "failed with this error" in retry_feedback and "os" in retry_feedback and "import" in retry_feedback
    assert fake_llm.requests[1]["messages"][-2]["content"] == REFUSED
    # Iteration 1 reflects on the elite of the repeated round.
    feedback = fake_llm.requests[2]["messages"][-1]["content"]
    assert "goal_reward: [" in feedback and "task_score" in feedback and "episode_length" in feedback
    assert fake_llm.requests[2]["messages"][-2]["content"] == GOOD
    # A later iteration's retry keeps the elite and its reflection, and adds its own first failure.
    retry = fake_llm.requests[3]["messages"]
    assert retry[:4] == fake_llm.requests[2]["messages"] and retry[4]["content"] == CRASHES
    assert "no_such_key" in retry[5]["content"] and len(retry) == 6


@pytest.mark.filterwarnings("ignore::llmcode.PromptChangedWarning")
def test_a_training_exception_fails_the_candidate_not_the_search(tmp_path, monkeypatch):
    real = eu.train

    def train(args, out, fn, **kwargs):
        if out.name == "iter0_s0":
            raise RuntimeError("CUDA out of memory")  # not the LLM code's fault, but the candidate cannot train
        return real(args, out, fn, **kwargs)

    monkeypatch.setattr(eu, "train", train)
    summary = eu.search(tiny_args(iterations=1), tmp_path)
    candidates = {c["label"]: c for c in summary["candidates"]}
    assert candidates["candidates/iter0_s0"]["status"] == "failed"
    assert "RuntimeError: CUDA out of memory" in candidates["candidates/iter0_s0"]["error"]
    assert candidates["candidates/iter0_s1"]["status"] == "ok" and summary["best"]["label"] == "candidates/iter0_s1"


@pytest.mark.filterwarnings("ignore::llmcode.PromptChangedWarning")
def test_parallel_candidates_give_identical_results(tmp_path):
    results = {}
    for workers in (1, 2):
        args = tiny_args(iterations=1, parallel_candidates=workers, threads_per_candidate=1)
        eu.search(args, tmp_path / str(workers))
        state = json.loads((tmp_path / str(workers) / "search_state.json").read_text())
        results[workers] = {label: (r["history"], r["reward_correlation"]) for label, r in state["candidates"].items()}
    assert results[1] == results[2] and len(results[1]) == 2


@pytest.mark.filterwarnings("ignore::llmcode.PromptChangedWarning")
def test_resume_continues_from_the_last_finished_candidate(tmp_path, monkeypatch):
    class Interrupt(Exception):
        pass

    trained, interrupt = [], {"at": "candidates/iter1_s1"}
    real = eu.run_candidate

    def counting(job):
        if job["label"] == interrupt["at"]:
            raise Interrupt  # the search dies after iter1_s0 finished
        trained.append(job["label"])
        return real(job)

    monkeypatch.setattr(eu, "run_candidate", counting)
    with pytest.raises(Interrupt):
        eu.search(tiny_args(), tmp_path)
    assert trained == ["candidates/iter0_s0", "candidates/iter0_s1", "candidates/iter1_s0"]
    interrupt["at"] = None
    first = (tmp_path / "candidates" / "iter0_s0" / "summary.json").stat().st_mtime_ns
    summary = eu.search(tiny_args(), tmp_path)
    assert trained[3:] == ["candidates/iter1_s1"]  # nothing finished is trained again
    assert len(summary["candidates"]) == 4
    assert (tmp_path / "candidates" / "iter0_s0" / "summary.json").stat().st_mtime_ns == first
    assert summary["cpus"] == [runkit.cpu_model()] * 2  # the CPU of the start and of the resume


def test_cli_resume_and_unknown_task(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--task", "ShadowHandNope"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "unknown task" in result.stderr
    result = subprocess.run([sys.executable, str(SCRIPT), "--resume", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "search_state.json" in result.stderr
    result = subprocess.run([sys.executable, str(SCRIPT), "--samples", "100"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode != 0 and "between 1 and 99" in result.stderr


# Eureka's rl_games settings for the Bi-DexHands tasks (isaacgymenvs/cfg/train/ShadowHand*PPO.yaml and the task yamls
# in Eureka's repository), as the README lists them: the script's defaults must be exactly these.
RL_GAMES = {"num_envs": 2048, "num_steps": 8, "learning_rate": 3e-4, "desired_kl": 0.016, "update_epochs": 5,
            "num_minibatches": 1, "gamma": 0.96, "gae_lambda": 0.95, "clip_coef": 0.2, "ent_coef": 0.0, "vf_coef": 0.5,
            "max_grad_norm": 1.0, "init_noise_std": 1.0, "clip_observations": 0.0, "hidden_sizes": (512, 256, 128),
            "reward_scale": 0.01, "norm_value": True, "clip_value_loss": True, "bounds_loss_coef": 0.001,
            "candidate_timesteps": 3000 * 16384, "eval_timesteps": 6000 * 16384, "eval_seeds": 5, "ppo": "rl_games"}
# Bi-DexHands' PPO (bidexhands/cfg/ppo/config.yaml, algorithms/rl/ppo/ppo.py), as the ProgressCounts script uses.
BIDEXHANDS = {"hidden_sizes": (1024, 1024, 512), "init_noise_std": 0.8, "num_minibatches": 4, "vf_coef": 2.0,
              "reward_scale": 1.0, "norm_value": False, "clip_value_loss": False, "bounds_loss_coef": 0.0,
              "clip_observations": 5.0}


def test_defaults_are_eurekas_rl_games_settings_and_bidexhands_is_one_flag_away(monkeypatch):
    defaults = eu.Args()
    assert {key: getattr(defaults, key) for key in RL_GAMES} == RL_GAMES
    assert eu.BIDEXHANDS_PPO == BIDEXHANDS
    pc_defaults = pc.Args()
    assert all(getattr(pc_defaults, key) == value for key, value in BIDEXHANDS.items()
               if key not in ("reward_scale", "norm_value", "clip_value_loss", "bounds_loss_coef"))
    monkeypatch.setattr(sys, "argv", ["ppo_eureka_isaac.py", "--ppo", "bidexhands", "--preset", "paper", "--init-noise-std", "0.5"])
    args = eu.with_presets(eu.parse(eu.Args))
    assert args.hidden_sizes == (1024, 1024, 512) and args.num_minibatches == 4 and not args.norm_value
    assert args.init_noise_std == 0.5  # the command line wins over the preset
    # On a CPU, `--ppo bidexhands` takes the ProgressCounts script's CPU MLPs, so that both run one PPO.
    monkeypatch.setattr(sys, "argv", ["ppo_eureka_isaac.py", "--ppo", "bidexhands", "--preset", "cpu"])
    assert eu.with_presets(eu.parse(eu.Args)).hidden_sizes == pc.CPU_PRESET["hidden_sizes"]


def test_value_normaliser_tracks_values_and_returns_and_round_trips():
    norm = eu.RunningMeanStd()
    x = torch.randn(4096) * 3.0 + 7.0
    norm.update(x)
    # Starting from mean 0, var 1 and count 1 (rl_games), one large batch gives nearly its own moments.
    assert float(norm.mean) == pytest.approx(float(x.mean()), rel=1e-3)
    assert float(norm.var) == pytest.approx(float(x.var()), rel=1e-2)
    y = norm.normalise(x)
    assert abs(float(y.mean())) < 0.01 and float(y.std()) == pytest.approx(1.0, rel=0.01)
    assert torch.allclose(norm.denormalise(y), x, atol=1e-4)
    assert float(norm.normalise(torch.tensor(1e6))) == 5.0  # clamped to +-5


@pytest.mark.parametrize("ppo", ["rl_games", "bidexhands"])
def test_each_ppo_trains_a_candidate(ppo, tmp_path):
    args = eu.fill_runtime_args(tiny_args(ppo=ppo, total_timesteps=64, num_minibatches=1 if ppo == "rl_games" else 4,
                                          norm_value=ppo == "rl_games", clip_value_loss=ppo == "rl_games"))
    fn = eu.compile_llm_function(eu.extract_code(GOOD), entry="compute_reward", validate=eu.reward_validator(4))
    summary = eu.train(args, tmp_path, fn, progress=False)
    assert summary["global_step"] == 64
    scalars = read_scalars(tmp_path)
    for tag in ("losses/value_loss", "losses/policy_loss", "losses/bounds_loss", "losses/approx_kl", "charts/learning_rate"):
        assert all(math.isfinite(v) for v in scalars[tag]), tag
    if ppo == "rl_games":
        # The first epoch's KL is 0 (the policy has not moved), so the rate grows after it, as rl_games' does.
        assert scalars["charts/learning_rate"][0] > args.learning_rate
