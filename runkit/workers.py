"""Jobs run one after another in this process, or several at a time, each in a worker process of its own: a job that
crashes its process (or is killed for memory) then ends only itself, and parallelism changes no result.

A worker is `python -m runkit.workers SCRIPT FUNCTION JOB_FILE`: it imports the script as a module (its `__main__`
block does not run), calls `FUNCTION(job)` and writes the result next to the job file.
"""

from __future__ import annotations

import ctypes
import importlib.util
import inspect
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from runkit.files import write_json


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies, so that a crashed or killed trainer leaves no worker
    behind (elsewhere: nothing)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def run_jobs(jobs: list[dict], workers: int, function: Callable[[dict], dict], on_result, crashed) -> None:
    """`on_result(job, function(job))` for each job as it finishes, so that an interruption loses only unfinished
    jobs. With `workers` > 1 each job runs in a worker process in `job["dir"]`; a worker that dies gives
    `crashed(job, message)` as its result. Ctrl-C (or any error here) stops the running workers and starts no more."""
    if workers <= 1:
        for job in jobs:
            on_result(job, function(job))
        return
    pool, processes = ThreadPoolExecutor(max_workers=workers), Processes()
    try:
        futures = {pool.submit(in_worker, inspect.getfile(function), function.__name__, job, crashed, processes): job
                   for job in jobs}
        for future in as_completed(futures):
            on_result(futures[future], future.result())
    except BaseException:
        processes.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Processes:
    """The running workers; once stopped, the running ones get SIGINT and no new one starts."""

    def __init__(self) -> None:
        self.lock, self.running, self.stopped = threading.Lock(), set(), False

    def start(self, command: list[str], log) -> subprocess.Popen:
        with self.lock:
            if self.stopped:
                raise KeyboardInterrupt
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            self.running.add(process)
            return process

    def finished(self, process: subprocess.Popen) -> None:
        with self.lock:
            self.running.discard(process)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            for process in self.running:
                process.send_signal(signal.SIGINT)


def in_worker(script: str, function: str, job: dict, crashed, processes: Processes) -> dict:
    folder = Path(job["dir"])
    folder.mkdir(parents=True, exist_ok=True)
    job_file, result_file, log_file = folder / "job.json", folder / "result.json", folder / "worker.log"
    write_json(job_file, job)
    result_file.unlink(missing_ok=True)
    with open(log_file, "w") as log:
        process = processes.start([sys.executable, "-m", "runkit.workers", script, function, str(job_file)], log)
        code = process.wait()
        processes.finished(process)
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
