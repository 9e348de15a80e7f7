"""The sweep runner and the report: planning, resuming, one real tiny run, and the report written from it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("bad", [dict(experiments=("nope",)), dict(budget="huge"), dict(variants=("nope",))])
def test_plan_rejects_unknown_names_with_a_clear_message(tmp_path, bad):
    args = sweep.Args(**{"experiments": ("progresscounts",), "runs_root": str(tmp_path), **bad})
    with pytest.raises(SystemExit, match="unknown experiment|has no budget|has no arm"):
        sweep.plan(args)


def test_finished_runs_are_skipped(tmp_path):
    args = sweep.Args(experiments=("progresscounts",), budget="smoke", seeds=(1,), runs_root=str(tmp_path))
    runs = sweep.plan(args)
    done = runs[0].folder / "some_run"
    done.mkdir(parents=True)
    (done / "summary.json").write_text("{}")
    (runs[1].folder / "crashed_run").mkdir(parents=True)  # a folder without summary.json is not finished
    assert [r.finished() for r in runs[:2]] == [True, False]


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
