"""algos/ppo_progresscounts_isaac.py: discretisation, counts, GAE, the shipped progress functions, smoke runs."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from script_tools import load_script, read_scalars

import dexhands
import runkit
from llmcode.cache import Answer
from llmcode.safe_runner import LLMCodeRefused

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "algos" / "ppo_progresscounts_isaac.py"
pc = load_script("ppo_progresscounts_isaac")

SUPPORTED_TASKS = sorted(p.name for p in (ROOT / "llm_outputs" / "progresscounts").iterdir() if p.is_dir())
REWARDS = ["progresscounts", "sparse", "dense", "progress-as-reward", "simhash-counts"]


def progress_functions(pc, args, env) -> list:
    """Every progress-function sample for the task: (compiled function, answer text) pairs."""
    return [(pc.compile_progress(a, k), a.text) for k, a in enumerate(pc.ask_progress_answers(args, env))]


def tiny_args(**overrides) -> "pc.Args":
    args = pc.Args(num_envs=4, num_steps=4, total_timesteps=48, hidden_sizes=(32, 32), range_steps=3, cuda=False)
    for key, value in overrides.items():
        setattr(args, key, value)
    return pc.fill_runtime_args(args)


def test_bins_are_finer_for_later_subtasks_and_keep_the_total():
    assert pc.bins_per_subtask(1, 1000, "sum") == [1000]
    assert pc.bins_per_subtask(2, 1000, "sum") == [333, 667]
    three = pc.bins_per_subtask(3, 1000, "sum")
    assert three == sorted(three) and abs(sum(three) - 1000) <= 1
    tup = pc.bins_per_subtask(2, 1000, "tuple")
    assert tup == [10, 100]  # 1000**(1/3), 1000**(2/3): the product stays 1000


def test_discretiser_orients_clamps_and_sums():
    lo, hi = torch.tensor([0.0, 0.0]), torch.tensor([1.0, 2.0])
    # Direction +1 for sub-task 0 (range extended above hi by 100%: [0, 2]), -1 for sub-task 1 (a distance: [0, 2]).
    d = pc.ProgressDiscretiser(lo, hi, [1, -1], num_bins=10, combination="sum", extension=1.0)
    assert d.bins.tolist() == [3, 7]
    values = torch.tensor([[0.0, 2.0],    # nothing done: bin 0 + bin 0
                           [2.0, 0.0],    # both done: top bins 2 + 6
                           [1.0, 1.0],    # half way: floor(0.5*3)=1 + floor(0.5*7)=3
                           [5.0, -3.0]])  # beyond the range: clamped to the top bins
    assert d(values).tolist() == [0, 8, 4, 8]
    assert torch.allclose(d.normalised(values)[2], torch.tensor([0.5, 0.5]))


def test_sum_aliases_but_tuple_does_not():
    lo, hi = torch.zeros(2), torch.ones(2)
    a = torch.tensor([[0.2, 0.6], [0.6, 0.2]])
    s = pc.ProgressDiscretiser(lo, hi, [1, 1], num_bins=20, combination="sum", extension=0.0)
    t = pc.ProgressDiscretiser(lo, hi, [1, 1], num_bins=100, combination="tuple", extension=0.0)
    assert s.bins.tolist() == [7, 13]
    assert s(a)[0] != s(a)[1] or True  # sums of different per-task bins may or may not collide ...
    same_sum = torch.tensor([[3 / 7 + 1e-4, 0.0], [0.0, 3 / 13 + 1e-4]])  # ... these two do: 3 + 0 == 0 + 3
    assert s(same_sum)[0] == s(same_sum)[1]
    assert t(same_sum)[0] != t(same_sum)[1]
    assert int(t(torch.ones(1, 2)).item()) == t.num_ids - 1


def test_visit_counts_bonus_is_inverse_sqrt_of_the_count_after_this_visit():
    counts = pc.VisitCounts(4, "cpu")
    bonus = counts.visit(torch.tensor([0, 0, 1]))
    assert torch.allclose(bonus, torch.tensor([1 / math.sqrt(2), 1 / math.sqrt(2), 1.0]))
    bonus = counts.visit(torch.tensor([1]))
    assert torch.allclose(bonus, torch.tensor([1 / math.sqrt(2)]))
    assert counts.distinct == 2


def test_gae_matches_a_hand_computed_example():
    # Two steps, one env; the second step starts a new episode (dones[1] = 1).
    rewards = torch.tensor([[1.0], [2.0]])
    values = torch.tensor([[0.5], [1.0]])
    dones = torch.tensor([[0.0], [1.0]])
    gamma, lam = 0.9, 0.8
    adv, ret = pc.compute_gae(rewards, values, dones, next_value=torch.tensor([3.0]), next_done=torch.tensor([0.0]),
                              gamma=gamma, lam=lam)
    delta1 = 2.0 + 0.9 * 3.0 - 1.0           # 3.7, bootstraps from next_value
    delta0 = 1.0 + 0.0 - 0.5                 # 0.5, the episode ended after step 0
    assert torch.allclose(adv, torch.tensor([[delta0], [delta1]]))
    assert torch.allclose(ret, adv + values)


def test_feature_library_and_its_prompt_text():
    a, b = torch.zeros(2, 3), torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    assert pc.distance(a, b).tolist() == [5.0, 1.0]
    tips = torch.zeros(2, 5, 3)
    assert pc.fingertips_distance(tips, b).tolist() == [25.0, 5.0]
    q = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    quarter = torch.tensor([[0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)]])
    assert math.isclose(pc.rotation_distance(q, quarter).item(), math.pi / 2, rel_tol=1e-5)
    text = pc.feature_library_text()
    assert all(name in text for name in pc.FEATURE_LIBRARY)


def test_progress_contract_is_enforced():
    with pytest.raises(pc.LLMCodeFailed, match="direction"):
        pc.validate_progress(([torch.zeros(3)], [0]))
    with pytest.raises(pc.LLMCodeFailed, match="1-D float"):
        pc.validate_progress(([torch.zeros(3, 2)], [1]))
    with pytest.raises(pc.LLMCodeFailed, match="NaN"):
        pc.validate_progress(([torch.tensor([float("nan")])], [1]))
    # One value for all envs would broadcast one bin, and one bonus, to every env: refused when called on a state.
    state = {"shadow_hand_dof_pos": torch.zeros(3, 24)}
    with pytest.raises(pc.LLMCodeFailed, match=r"shape \(3,\)"):
        pc.stack_progress(lambda state: ([torch.zeros(1)], [1]), state)
    assert pc.stack_progress(lambda state: ([torch.zeros(3)], [1]), state)[0].shape == (3, 1)


def test_a_refused_sample_is_named_and_drops_out_of_the_selection(tmp_path):
    bad = Answer(text="```python\nimport os\ndef compute_progress(state):\n    return [], []\n```", sample=2,
                    provenance={}, prompt_hash="", file=tmp_path / "progress_s2.py")
    with pytest.raises(LLMCodeRefused, match="progress sample 2 .*progress_s2.py"):
        pc.compile_progress(bad, 2)
    summaries = [{"progress_sample": 0, "max_success_rate": 0.1}, {"progress_sample": 1, "status": "failed",
                 "max_success_rate": None}, {"progress_sample": 2, "max_success_rate": 0.3}]
    assert pc.selected(summaries)["progress_sample"] == 2
    with pytest.raises(SystemExit, match="every progress sample failed"):
        pc.selected(summaries[1:2])


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
def test_shipped_progress_functions_load_and_run_on_the_task_state(task):
    env = dexhands.make(task, num_envs=3)
    env.reset()
    functions = progress_functions(pc, tiny_args(task=task), env)
    assert len(functions) == 4
    for fn, _ in functions:
        for _ in range(4):  # the checked calls and the fast path
            values, directions = pc.stack_progress(fn, env.state)
            assert values.shape[0] == 3 and torch.isfinite(values).all()
            env.step(torch.rand(3, env.act_dim) * 2 - 1)


@pytest.mark.parametrize("task", SUPPORTED_TASKS)
@pytest.mark.parametrize("reward", REWARDS)
def test_smoke_every_task_and_reward_mode(task, reward, tmp_path):
    args = tiny_args(task=task, reward=reward)
    fn, answer = None, None
    if reward in ("progresscounts", "progress-as-reward"):
        fn, answer = progress_functions(pc, args, dexhands.make(task, num_envs=2))[0]
    summary = pc.train(args, tmp_path, fn, answer)
    # The range-estimation episode (3 steps of 4 envs) counts towards the budget of 48 env steps.
    range_steps = 12 if reward in ("progresscounts", "progress-as-reward") else 0
    assert args.range_env_steps == range_steps and summary["global_step"] == range_steps + (48 - range_steps) // 16 * 16
    assert json.loads((tmp_path / "summary.json").read_text())["task"] == task
    scalars = read_scalars(tmp_path)
    for tag in ("charts/SPS", "losses/value_loss", "losses/policy_loss", "losses/approx_kl", "charts/learning_rate"):
        assert tag in scalars and all(math.isfinite(v) for v in scalars[tag]), tag
    if reward in ("progresscounts", "simhash-counts"):
        assert scalars["charts/distinct_bins"][-1] >= 1
        assert all(v > 0 for v in scalars["charts/intrinsic_bonus"])
        visits = json.loads((tmp_path / "bin_counts.json").read_text())["visits"]
        assert sum(visits) == summary["global_step"] - range_steps and sum(v > 0 for v in visits) == summary["distinct_bins"]
    if reward in ("progresscounts", "progress-as-reward"):  # the diagnostics: do progress values move, reach "done"?
        assert "progress/mean_0" in scalars and "progress/max_0" in scalars
        assert all(0.0 <= v <= 1.0 for v in summary["max_progress"]) and len(summary["max_progress"]) >= 1
    assert "charts/advantage_std" in scalars and "charts/reward_std" in scalars


def test_a_reselection_evaluates_the_new_selected_function(tmp_path, monkeypatch):
    # Training stubbed out: each run's max success is looked up by the code it trains (and its seed is recorded).
    scores = {"f0": 0.1, "f1": 0.5, "f2": 0.0, "f3": 0.2}
    trained = []

    def train_sample(args, folder, answer, alone):
        trained.append((folder.name, args.seed, answer.text))
        summary = {"progress_sample": args.progress_sample, "seed": args.seed, "status": "ok",
                   "max_success_rate": scores[answer.text], "history": [{"step": 1, "success_rate": 0.0}]}
        pc.write_json(folder / "summary.json", summary)
        return summary

    monkeypatch.setattr(pc, "train_sample", train_sample)
    pc.write_json(tmp_path / "config.json", {"seed": 1})
    answers = [Answer(text=f"f{k}", sample=k, provenance={}, prompt_hash="", file=None) for k in range(4)]
    args = tiny_args(select_best=True, eval_seeds=2)
    first = pc.select_best(args, tmp_path, answers)
    assert first["selection"]["selected_sample"] == 1 and first["selection"]["selection_max_success_rate"] == 0.5
    assert [t for t in trained if t[0].startswith("eval")] == [("eval0", 19900, "f1"), ("eval1", 19901, "f1")]
    # Sample 2, resumed with a longer budget, now beats sample 1: the evaluation is redone with sample 2's function.
    (tmp_path / "sample2" / "summary.json").unlink()
    scores["f2"] = 0.9
    trained.clear()
    second = pc.select_best(args, tmp_path, None)
    assert second["selection"]["selected_sample"] == 2
    assert trained == [("sample2", 1, "f2"), ("eval0", 19900, "f2"), ("eval1", 19901, "f2")]
    assert second["evaluation"]["max_success_rates"] == [0.9, 0.9] and second["eval_max_success_rate"] == 0.9
    # Nothing left to do: a third pass trains nothing and reports the same.
    trained.clear()
    assert pc.select_best(args, tmp_path, None)["evaluation"] == second["evaluation"] and not trained


def test_cli_select_best_checkpoints_and_resumes(tmp_path):
    common = [sys.executable, str(SCRIPT), "--task", "ShadowHandOver", "--num-envs", "4", "--num-steps", "4",
              "--hidden-sizes", "32", "32", "--range-steps", "3", "--no-cuda"]
    subprocess.run(common + ["--total-timesteps", "32", "--select-best", "--eval-seeds", "2", "--save-model",
                             "--checkpoint-every", "1"], cwd=tmp_path, check=True, capture_output=True)
    run_dir = next((tmp_path / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    selection = summary["selection"]
    assert len(selection["samples"]) == 4 and selection["selected_sample"] in range(4)
    best = selection["selected_sample"]
    assert selection["selection_max_success_rate"] == selection["samples"][best]["max_success_rate"]
    # The paper's evaluation: the selected function retrained on new seeds, reported apart from the selection.
    seeds = [runkit.evaluation_seed(1, j) for j in range(2)]
    assert summary["evaluation"]["seeds"] == seeds and 1 not in seeds
    for j, seed in enumerate(seeds):
        run = json.loads((run_dir / f"eval{j}" / "summary.json").read_text())
        assert run["seed"] == seed and run["progress_sample"] == best
        assert (run_dir / f"eval{j}" / "progress_function.py").read_text() == (
            run_dir / f"sample{best}" / "progress_function.py").read_text()
        assert summary["evaluation"]["max_success_rates"][j] == run["max_success_rate"]
    assert summary["eval_max_success_rate"] == pytest.approx(sum(summary["evaluation"]["max_success_rates"]) / 2)
    assert (run_dir / "config.json").exists() and (run_dir / "sample0" / "progress_function.py").exists()
    checkpoint = run_dir / "sample1" / "checkpoint.pt"
    assert checkpoint.exists()
    # 12 range-estimation steps count towards each budget: 12 + 16 of 32, then 12 + 48 of 64.
    assert selection["samples"][1]["global_step"] == 28
    # Resuming continues that sample (its own settings, from the checkpoint) from the saved iteration up to the new
    # budget, keeps its learning curve, and redoes the selection over the four samples.
    subprocess.run([sys.executable, str(SCRIPT), "--total-timesteps", "64", "--resume", str(checkpoint)],
                   cwd=tmp_path, check=True, capture_output=True)
    resumed = json.loads((run_dir / "sample1" / "summary.json").read_text())
    assert resumed["global_step"] == 60 and resumed["progress_sample"] == 1 and resumed["task"] == "ShadowHandOver"
    # The CPU of each stretch is recorded (a seed repeats a run only on the same kind of CPU): the start, then the resume.
    assert selection["samples"][1]["cpus"] == [runkit.cpu_model()] and resumed["cpus"] == [runkit.cpu_model()] * 2
    # The checkpoint carries the bins' ranges (the counts are only meaningful with them) and the curve so far.
    saved = torch.load(checkpoint, weights_only=False)
    ranges = json.loads((run_dir / "sample1" / "progress_ranges.json").read_text())
    assert saved["ranges"]["lo"] == ranges["lo"] and saved["ranges"]["hi"] == ranges["hi"] and "history" in saved
    reselected = json.loads((run_dir / "summary.json").read_text())["selection"]
    assert reselected["samples"][1]["global_step"] == 60 and reselected["samples"][0] == selection["samples"][0]
    # An interrupted selection: Ctrl-C during sample 2 left its checkpoint, and sample 3 and the second evaluation
    # run never finished. Resuming sample 2 also trains sample 3 (with the function saved when the selection began),
    # redoes the selection, and finishes the evaluation at the selection's seeds.
    for leftover in ("sample2/summary.json", "sample3/summary.json", "sample3/checkpoint.pt", "eval1/summary.json"):
        (run_dir / leftover).unlink()
    subprocess.run([sys.executable, str(SCRIPT), "--total-timesteps", "64", "--resume", str(run_dir / "sample2" / "checkpoint.pt")],
                   cwd=tmp_path, check=True, capture_output=True)
    final = json.loads((run_dir / "summary.json").read_text())
    assert [s["progress_sample"] for s in final["selection"]["samples"]] == [0, 1, 2, 3]
    assert final["selection"]["samples"][3]["global_step"] == 60 and (run_dir / "sample3" / "checkpoint.pt").exists()
    assert final["evaluation"]["seeds"] == seeds
    assert json.loads((run_dir / "eval1" / "summary.json").read_text())["seed"] == seeds[1]



def test_cli_rejects_an_unknown_task(tmp_path):
    result = subprocess.run([sys.executable, str(SCRIPT), "--task", "ShadowHandNope"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "unknown task" in result.stderr
    result = subprocess.run([sys.executable, str(SCRIPT), "--progress-sample", "4"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "--progress-sample must be in 0..3" in result.stderr
    result = subprocess.run([sys.executable, str(SCRIPT), "--resume", str(tmp_path / "nope.pt")], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode != 0 and "no such checkpoint" in result.stderr


def test_finished_episodes_log_success_and_switch_logs_its_original_formula(tmp_path):
    # 4 envs x 128 steps: every env finishes its 125-step episode once.
    args = tiny_args(task="ShadowHandSwitch", reward="sparse", total_timesteps=512)
    summary = pc.train(args, tmp_path)
    scalars = read_scalars(tmp_path)
    for tag in ("charts/success_rate", "charts/max_success_rate", "charts/episodic_return", "charts/episodic_human_return",
                "charts/success_rate_original", "charts/max_success_rate_original"):
        assert tag in scalars and all(0.0 <= v <= 1.0 or not tag.startswith("charts/success") for v in scalars[tag]), tag
    assert scalars["charts/episodes"] == [4.0]
    assert summary["final_success_rate"] is not None
