"""The run plumbing shared by the scripts: one-line argument errors, random streams in checkpoints, summaries, and
jobs in worker processes."""

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pytest
import torch

import runkit
from runkit.workers import run_jobs


@dataclass
class Args:
    mode: Literal["cached", "live"] = "cached"
    """a choice"""
    count: int = 1
    """a count"""
    runs_dir: str = "runs"
    """where runs go"""
    resume: str | None = None
    """a checkpoint"""
    save_model: bool = True
    """save checkpoints"""
    track: bool = False
    """no wandb"""


@pytest.mark.parametrize("argv,text", [(["--mode", "psychic"], "invalid choice 'psychic'"),
                                       (["--count", "many"], "--count")])
def test_parse_gives_one_line_for_a_bad_value(argv, text, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["script.py", *argv])
    with pytest.raises(SystemExit) as exit:
        runkit.parse(Args)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert exit.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], lines


def test_a_checkpoint_restores_every_random_stream_and_a_summary_gets_cpus_and_seconds(tmp_path, capsys):
    run = runkit.Run(Args(runs_dir=str(tmp_path)), "demo", checkpoint_format=7)
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    path = run.save({"step": 3})
    expected = random.random(), np.random.rand(), torch.rand(1).item()
    resumed = runkit.Run(Args(runs_dir=str(tmp_path), resume=str(path)), "demo", checkpoint_format=7)
    assert resumed.dir == run.dir and resumed.checkpoint["step"] == 3
    resumed.restore_random_streams()
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    with resumed.timed("simulation"):
        pass
    summary = resumed.finish({"score": 1.0})
    written = json.loads((run.dir / "summary.json").read_text())
    assert written == summary and written["cpus"] == [runkit.cpu_model()] * 2
    assert set(written["seconds"]) == {"simulation", "total"}
    with pytest.raises(SystemExit) as exit:  # another format: one line, exit code 2
        runkit.Run(Args(runs_dir=str(tmp_path), resume=str(path)), "demo", checkpoint_format=8)
    assert exit.value.code == 2 and "format 7" in capsys.readouterr().err


def test_jobs_in_worker_processes_give_their_results_and_a_crash_ends_only_its_job(tmp_path):
    script = tmp_path / "jobs.py"
    script.write_text(textwrap.dedent("""
        import os

        def work(job):
            if job["n"] == 2:
                os._exit(3)  # a worker that dies, as one killed for memory does
            return {"n": job["n"], "square": job["n"] ** 2, "pid": os.getpid()}
    """))
    spec = importlib.util.spec_from_file_location("jobs", script)
    jobs_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jobs_module)
    jobs = [{"n": n, "dir": str(tmp_path / f"job{n}")} for n in range(4)]
    results = {}
    run_jobs(jobs, 2, jobs_module.work, lambda job, result: results.update({job["n"]: result}),
             lambda job, error: {"n": job["n"], "error": error})
    assert [results[n].get("square") for n in (0, 1, 3)] == [0, 1, 9]
    assert "exit code 3" in results[2]["error"]
    assert {results[n]["pid"] for n in (0, 1, 3)}.isdisjoint({os.getpid()})  # not in this process


def test_ctrl_c_stops_the_running_workers_and_starts_no_more(tmp_path):
    (tmp_path / "jobs.py").write_text(textwrap.dedent("""
        import sys, time
        from pathlib import Path

        def work(job):
            Path(job["dir"], "started").write_text("")
            time.sleep(60)
            return {"n": job["n"]}

        if __name__ == "__main__":
            from runkit.workers import run_jobs
            jobs = [{"n": n, "dir": str(Path(sys.argv[1]) / f"job{n}")} for n in range(4)]
            run_jobs(jobs, 2, work, lambda job, result: print("finished", job["n"]), lambda job, error: {"error": error})
    """))
    parent = subprocess.Popen([sys.executable, str(tmp_path / "jobs.py"), str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    while len(list(tmp_path.glob("job*/started"))) < 2:
        assert parent.poll() is None
        time.sleep(0.1)
    parent.send_signal(signal.SIGINT)  # to the parent only, as `kill -INT` does: it must pass it on
    out, err = parent.communicate(timeout=50)  # far less than one job's 60 s: the workers were stopped
    assert parent.returncode != 0 and "KeyboardInterrupt" in err and "finished" not in out
    assert sorted(p.parent.name for p in tmp_path.glob("job*/started")) == ["job0", "job1"]  # no new job started
    assert not list(tmp_path.glob("job*/result.json"))


def test_resuming_a_finished_run_keeps_its_summary(tmp_path):
    # A run trains to its total (10 steps) and finishes; its final checkpoint is resumed with the same total: nothing
    # is left to train, and the summary of the stretch that trained stays as it was (not one of near-zero timings).
    run = runkit.Run(Args(runs_dir=str(tmp_path)), "demo", checkpoint_format=7)
    run.progress(10, 0, disable=True)
    with run.timed("simulation"):
        time.sleep(0.05)
    path = run.save({"step": 10})
    first = run.finish({"score": 1.0})
    written = (run.dir / "summary.json").read_bytes()
    assert first["seconds"]["simulation"] >= 0.05

    resumed = runkit.Run(Args(runs_dir=str(tmp_path), resume=str(path)), "demo", checkpoint_format=7)
    resumed.progress(10, resumed.checkpoint["step"], disable=True)
    assert resumed.finished_before()
    assert resumed.finish({"score": 0.0}) == first and (run.dir / "summary.json").read_bytes() == written
    assert runkit.Run.current is None  # closed all the same

    # With a larger total the resumed run trains on, and its summary replaces the first
    longer = runkit.Run(Args(runs_dir=str(tmp_path), resume=str(path)), "demo", checkpoint_format=7)
    longer.progress(20, longer.checkpoint["step"], disable=True)
    assert not longer.finished_before()
    assert longer.finish({"score": 2.0})["score"] == 2.0
    assert json.loads((run.dir / "summary.json").read_text())["score"] == 2.0
