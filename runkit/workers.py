"""Jobs run one after another in this process, or several at a time, each in a worker process of its own: a job that
crashes its process (or is killed for memory) then ends only itself, and parallelism changes no result.

A worker is `python -m runkit.workers SCRIPT FUNCTION JOB_FILE`: it imports the script as a module (its `__main__`
block does not run), calls `FUNCTION(job)` and writes the result next to the job file.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import signal
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from runkit.files import write_json


def run_jobs(jobs: list[dict], workers: int, function: Callable[[dict], dict], on_result, crashed) -> None:
    """`on_result(job, function(job))` for each job as it finishes, so that an interruption loses only unfinished
    jobs. With `workers` > 1 each job runs in a worker process in `job["dir"]`; a worker that dies gives
    `crashed(job, message)` as its result."""
    if workers <= 1:
        for job in jobs:
            on_result(job, function(job))
        return
    script = inspect.getfile(function)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(in_worker, script, function.__name__, job, crashed): job for job in jobs}
        for future in as_completed(futures):
            on_result(futures[future], future.result())


def in_worker(script: str, function: str, job: dict, crashed) -> dict:
    folder = Path(job["dir"])
    folder.mkdir(parents=True, exist_ok=True)
    job_file, result_file, log_file = folder / "job.json", folder / "result.json", folder / "worker.log"
    write_json(job_file, job)
    result_file.unlink(missing_ok=True)
    with open(log_file, "w") as log:
        code = subprocess.run([sys.executable, "-m", "runkit.workers", script, function, str(job_file)], stdout=log,
                              stderr=subprocess.STDOUT).returncode
    if code == 0 and result_file.exists():
        return json.loads(result_file.read_text())
    if code == -signal.SIGINT:  # Ctrl-C reached the worker too: the job is unfinished, not failed
        raise KeyboardInterrupt
    return crashed(job, f"the worker process stopped with exit code {code}:\n{log_file.read_text()[-2000:]}")


if __name__ == "__main__":
    script, function, job_file = sys.argv[1:]
    spec = importlib.util.spec_from_file_location(Path(script).stem, script)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    job_file = Path(job_file)
    write_json(job_file.parent / "result.json", getattr(module, function)(json.loads(job_file.read_text())))
