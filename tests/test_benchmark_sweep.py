"""The sweep runner and the report: planning, resuming, one real tiny run, and the report written from it."""

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import runkit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmark"))

import report  # noqa: E402
import sweep  # noqa: E402
from experiments import EXPERIMENTS  # noqa: E402


def test_every_experiment_names_an_existing_script_and_the_three_budgets():
    for name, exp in EXPERIMENTS.items():
        assert (REPO / exp.script).is_file(), name
        assert {"smoke", "cpu", "paper"} <= set(exp.budgets), name
        assert exp.variants and exp.tasks, name


def test_plan_crosses_tasks_arms_and_seeds_into_separate_folders(tmp_path):
    runs = sweep.plan(sweep.Args(experiments=("progresscounts",), budget="smoke", seeds=(1, 2), runs_root=str(tmp_path)))
    exp = EXPERIMENTS["progresscounts"]
    assert len(runs) == len(exp.tasks) * len(exp.variants) * 2
    assert len({r.folder for r in runs}) == len(runs)
    first = runs[0]
    assert first.command[first.command.index("--seed") + 1] == "1"
    assert first.command[first.command.index("--runs-dir") + 1] == str(first.folder)


@pytest.mark.parametrize("bad", [dict(experiments=("nope",)), dict(budget="huge"), dict(variants=("nope",)),
                                 dict(tasks=("ShadowHandNope",))])
def test_plan_rejects_unknown_names_with_a_clear_message(tmp_path, bad):
    args = sweep.Args(**{"experiments": ("progresscounts",), "runs_root": str(tmp_path), **bad})
    with pytest.raises(SystemExit, match="unknown experiment|has no budget|has the arm|has the task"):
        sweep.plan(args)


def test_an_arm_of_one_experiment_filters_only_that_experiment(tmp_path):
    args = sweep.Args(experiments=("progresscounts", "lare_mpe"), variants=("dense", "rd"), budget="smoke", seeds=(1,),
                      runs_root=str(tmp_path))
    arms = {(run.folder.parts[-4], run.folder.parts[-2]) for run in sweep.plan(args)}
    assert arms == {("progresscounts", "dense"), ("lare_mpe", "dense"), ("lare_mpe", "rd")}


def test_finished_runs_are_skipped(tmp_path):
    args = sweep.Args(experiments=("progresscounts",), budget="smoke", seeds=(1,), runs_root=str(tmp_path))
    runs = sweep.plan(args)
    done = runs[0].folder / "some_run"
    done.mkdir(parents=True)
    (done / "summary.json").write_text("{}")
    (runs[1].folder / "crashed_run").mkdir(parents=True)  # a folder without summary.json is not finished
    assert [r.finished() for r in runs[:2]] == [True, False]


def test_an_interrupted_run_resumes_from_its_newest_checkpoint(tmp_path):
    args = sweep.Args(experiments=("lare_mujoco",), budget="cpu", seeds=(1,), runs_root=str(tmp_path))
    run = sweep.plan(args)[0]
    assert run.resume_command() == run.command  # nothing to resume from yet
    name = inspect.signature(runkit.Run).parameters["checkpoint_file"].default  # what the scripts write: checkpoint.pt
    old, new = run.folder / "attempt1" / name, run.folder / "attempt2" / name
    for path, mtime in ((old, 1_000), (new, 2_000)):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"")
        os.utime(path, (mtime, mtime))
    assert run.resume_command() == (*run.command, "--resume", str(new))
    assert "--save-model" in run.command  # the cpu budget writes the checkpoints it resumes from


def test_bootstrap_interval_contains_the_mean_and_collapses_for_equal_values():
    low, high = report.bootstrap_interval([0.1, 0.5, 0.9])
    assert 0.1 <= low < 0.5 < high <= 0.9
    assert report.bootstrap_interval([0.3, 0.3, 0.3]) == (0.3, 0.3)


def test_mean_curve_interpolates_onto_the_shortest_run():
    a = [{"step": 0, "v": 0.0}, {"step": 10, "v": 1.0}, {"step": 20, "v": 2.0}]
    b = [{"step": 0, "v": 0.0}, {"step": 10, "v": 3.0}]
    grid, mean, low, high = report.mean_curve([a, b], "v", points=3)
    assert grid.tolist() == [0.0, 5.0, 10.0]
    assert mean.tolist() == [0.0, 1.0, 2.0] and low.tolist() == [0.0, 0.5, 1.0] and high.tolist() == [0.0, 1.5, 3.0]


def test_mean_curve_skips_records_without_the_statistic():
    a = [{"step": 0}, {"step": 10, "v": 1.0}, {"step": 20, "v": 3.0}]
    grid, mean, _, _ = report.mean_curve([a], "v", points=2)
    assert grid.tolist() == [10.0, 20.0] and mean.tolist() == [1.0, 3.0]


def test_the_curve_band_is_a_bootstrap_interval_of_the_mean_inside_the_seeds_range():
    seeds = [[{"step": 0, "v": v}, {"step": 10, "v": v}] for v in (0.0, 0.2, 0.4, 0.6, 1.0)]
    _, mean, low, high = report.mean_curve(seeds, "v", points=2)
    assert mean.tolist() == pytest.approx([0.44, 0.44])
    # narrower than min..max (the mean varies less than the seeds), wider than nothing
    assert (0.0 < low).all() and (low < mean).all() and (mean < high).all() and (high < 1.0).all()


def test_records_keep_thinned_curves_with_their_last_point():
    history = [{"step": 100 * i, "success_rate": i / 2000} for i in range(2001)]
    summary = {"max_success_rate": 1.0, "history": history, "evaluation": {"histories": [history, history[:10]]}}
    thin = report.thin_curves(summary)
    assert len(thin["history"]) == report.RECORD_POINTS and thin["history"][-1] == history[-1]
    assert thin["history"][0] == history[0] and thin["max_success_rate"] == 1.0
    assert [len(h) for h in thin["evaluation"]["histories"]] == [report.RECORD_POINTS, 10]


def test_milestones_average_the_curve_up_to_the_step_and_need_the_run_to_reach_it():
    history = [{"step": s, "success_rate": s / 1000} for s in range(100, 1001, 100)]
    assert report.value_at(history, "success_rate", 500, 200) == pytest.approx(0.45)  # steps 400 and 500
    assert report.value_at(history, "success_rate", 2000, 200) is None
    exp = replace(EXPERIMENTS["eureka"], milestones=(500, 1000), milestone_window=200)
    summaries = [{"evaluation": {"histories": [history, [dict(h, success_rate=0.0) for h in history]]}}]
    assert report.curves_of(exp, summaries[0]) == summaries[0]["evaluation"]["histories"]
    assert report.milestone_values(exp, summaries) == pytest.approx([0.225, 0.475])
    short = [{"evaluation": {"histories": [history, history[:3]]}}]
    assert report.milestone_values(exp, short) == [None, None]


def test_iqm_is_the_mean_of_the_middle_half_and_its_interval_resamples_within_tasks():
    # 8 scores: the IQM drops the two lowest and the two highest, whichever task they belong to.
    scores = np.array([[0.0, 10.0], [1.0, 11.0], [2.0, 12.0], [3.0, 13.0]])
    assert report.iqm(scores) == pytest.approx(np.mean([2.0, 3.0, 10.0, 11.0]))
    point, low, high = report.stratified_bootstrap_iqm(scores, resamples=2000)
    assert point == report.iqm(scores) and low <= point <= high
    # Within-task resampling keeps each task's values inside its own range: the bounds stay within the extremes.
    assert 0.0 < low and high < 13.0
    same = np.full((3, 2), 0.25)
    assert report.stratified_bootstrap_iqm(same)[1:] == (0.25, 0.25)


def test_aggregate_scores_use_seeds_common_to_all_tasks_and_scale_returns_per_task():
    exp = EXPERIMENTS["lare_mujoco"]
    t0, t1 = exp.tasks[:2]
    found = {t0: {"none": {1: {exp.metric: 0.0}, 2: {exp.metric: 100.0}, 3: {exp.metric: 50.0}},
                  "dense": {1: {exp.metric: 200.0}, 2: {exp.metric: 100.0}}},
             t1: {"none": {1: {exp.metric: -5.0}, 2: {exp.metric: -1.0}},
                  "dense": {1: {exp.metric: -3.0}, 2: {exp.metric: -1.0}}}}
    exp = replace(exp, tasks=(t0, t1))
    scores, scale = report.aggregate_scores(exp, found)
    assert set(scores) == {"none", "dense"} and "min-max" in scale
    np.testing.assert_allclose(scores["none"], [[0.0, 0.0], [0.5, 1.0]])  # seed 3 is missing on the second task
    np.testing.assert_allclose(scores["dense"], [[1.0, 0.5], [0.5, 1.0]])


def test_the_report_names_the_cpus_the_runs_recorded():
    found = {"A": {"lare": {1: {"cpus": ["Xeon", "Xeon"]}, 2: {"cpus": ["EPYC"]}, 3: {}},
                   "none": {1: {"cpus": ["Xeon", "EPYC"]}}}}
    assert report.recorded_cpus(found) == "EPYC (2 runs); Xeon (2 runs); 1 run from before the CPU was recorded"
    assert report.recorded_cpus({"A": {"lare": {1: {}}}}) is None
    # A run resumed from a checkpoint written before the CPU was saved names only the CPU of its later stretch.
    partly = {"A": {"ircr": {3: {"cpus": ["not recorded", "EPYC"]}}, "lare": {3: {}}}}
    assert report.recorded_cpus(partly) == ("EPYC (1 run); 1 run resumed from a checkpoint that did not record the CPU "
                                            "before it; 1 run from before the CPU was recorded")


def write_summary(runs_root, task, arm, seed, final):
    folder = runs_root / "cpu" / "lare_mujoco" / task / arm / f"seed{seed}" / "run"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({
        "final_eval_return": final, "best_eval_return": final, "sps": 100.0,
        "history": [{"step": 10_000, "eval_return": 0.0}, {"step": 20_000, "eval_return": final}]}))


def test_the_report_keeps_each_runs_record_and_rebuilds_without_the_run_folders(tmp_path):
    task = EXPERIMENTS["lare_mujoco"].tasks[0]
    results_root = tmp_path / "results"
    args = report.Args(experiments=("lare_mujoco",), budget="cpu", results_root=str(results_root))

    def seeds_reported(runs_root):
        report.main(replace(args, runs_root=str(runs_root)))
        results = json.loads((results_root / "cpu" / "lare_mujoco" / "results.json").read_text())
        return {k: v["final_eval_return"] for k, v in results["results"][task]["lare"]["seeds"].items()}

    first_machine, second_machine = tmp_path / "runs1", tmp_path / "runs2"
    write_summary(first_machine, task, "lare", 1, 10.0)
    write_summary(first_machine, task, "lare", 2, 20.0)
    assert seeds_reported(first_machine) == {"1": 10.0, "2": 20.0}
    # The first machine's run folders are gone; the second finishes seed 3 and reruns seed 1.
    write_summary(second_machine, task, "lare", 3, 30.0)
    write_summary(second_machine, task, "lare", 1, 11.0)
    assert seeds_reported(second_machine) == {"1": 11.0, "2": 20.0, "3": 30.0}
    assert seeds_reported(tmp_path / "no_runs") == {"1": 11.0, "2": 20.0, "3": 30.0}


def test_eurekas_interval_runs_over_its_evaluation_seeds(tmp_path):
    folder = tmp_path / "runs" / "cpu" / "eureka" / "ShadowHandOver" / "eureka" / "seed1" / "run"
    folder.mkdir(parents=True)
    curve = [{"step": 10, "success_rate": 0.0}, {"step": 20, "success_rate": 0.5}]
    (folder / "summary.json").write_text(json.dumps({
        "eval_max_success_rate": 0.5, "eval_final_success_rate": 0.5, "eval_final_episodic_human_return": 1.0,
        "training_seconds": 1.0, "evaluation": {"max_success_rates": [0.2, 0.5, 0.8], "histories": [curve] * 3}}))
    report.main(report.Args(experiments=("eureka",), budget="cpu", runs_root=str(tmp_path / "runs"),
                            results_root=str(tmp_path / "results")))
    row = [line for line in (tmp_path / "results" / "cpu" / "eureka" / "report.md").read_text().splitlines()
           if line.startswith("| ShadowHandOver | eureka |")][0]
    assert "| 3 | 0.500 (" in row and "(0.500–0.500)" not in row  # 3 evaluation seeds, a real interval


def test_the_kept_records_are_not_ignored_by_git():
    # A record under an ignored path would be left out of the commit that was meant to keep it.
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    record = "benchmark/results/cpu/lare_mujoco/records/HalfCheetah-v5/lare/seed1.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", record], cwd=REPO).returncode == 0
    assert not ignored


def run_all(*flags, results_root, **kwargs):
    env = {**os.environ, "PYTHON": sys.executable, "RESULTS_ROOT": str(results_root)}
    return subprocess.run(["bash", str(REPO / "benchmark" / "run_all.sh"), *flags], check=True, cwd=REPO, env=env,
                          timeout=600, capture_output=True, text=True, **kwargs)


def test_run_all_dry_run_lists_every_experiment_at_the_smoke_budget(tmp_path):
    out = run_all("--budget", "smoke", "--seeds", "1", "--runs-root", str(tmp_path), "--dry-run",
                  results_root=tmp_path / "results").stdout
    for exp in EXPERIMENTS.values():
        assert exp.script in out
    expected = sum(len(exp.tasks) * len(exp.variants) for exp in EXPERIMENTS.values())
    assert f"{expected} runs, 0 already finished, {expected} to do" in out
    assert not (tmp_path / "smoke").exists()  # a dry run starts nothing


def test_slurm_template_writes_one_job_per_run(tmp_path):
    sweep.main(sweep.Args(experiments=("progresscounts",), budget="smoke", seeds=(1,), runs_root=str(tmp_path),
                          slurm_template=str(REPO / "benchmark" / "slurm_template.sbatch")))
    jobs = sorted(tmp_path.glob("smoke/progresscounts/*/*/seed1/job.sbatch"))
    exp = EXPERIMENTS["progresscounts"]
    assert len(jobs) == len(exp.tasks) * len(exp.variants)
    text = jobs[0].read_text()
    assert "algos/ppo_progresscounts_isaac.py" in text and "--seed 1" in text and "$" not in text.replace("$SLURM", "")


def test_smoke_run_all_runs_for_real_resumes_and_reports(tmp_path):
    runs_root, results_root = tmp_path / "runs", tmp_path / "results"
    flags = ["--budget", "smoke", "--experiments", "progresscounts", "--tasks", "ShadowHandOver", "--variants", "dense",
             "--seeds", "1", "--runs-root", str(runs_root)]
    run_all(*flags, results_root=results_root)
    again = run_all(*flags, results_root=results_root)
    assert "1 already finished, 0 to do" in again.stdout

    out = results_root / "smoke" / "progresscounts"
    results = json.loads((out / "results.json").read_text())
    seed = results["results"]["ShadowHandOver"]["dense"]["seeds"]["1"]
    assert 0.0 <= seed["max_success_rate"] <= 1.0 and seed["sps"] > 0
    assert "| ShadowHandOver | dense | 1 |" in (out / "report.md").read_text()
    assert (out / "ShadowHandOver.png").stat().st_size > 0


def test_ctrl_c_stops_the_sweep_and_keeps_finished_runs(tmp_path):
    """Ctrl-C: no new run starts, the running one saves and stops, finished runs stay; the same command continues."""
    runs_root = tmp_path / "runs"
    command = [sys.executable, str(REPO / "benchmark" / "sweep.py"), "--budget", "smoke", "--experiments", "lare_mujoco",
               "--tasks", "HalfCheetah-v5", "--runs-root", str(runs_root)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(runs_root.rglob("summary.json")):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=240)
    assert process.returncode == 130 and "stopped; finished runs are kept" in out, out[-2000:]
    finished = list(runs_root.rglob("summary.json"))
    started = [p for p in (runs_root / "smoke" / "lare_mujoco" / "HalfCheetah-v5").iterdir()]
    assert 1 <= len(finished) and len(started) <= len(finished) + 1 < 5  # nothing started after the Ctrl-C
    again = subprocess.run([*command, "--dry-run"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert f"{len(finished)} already finished" in again.stdout
