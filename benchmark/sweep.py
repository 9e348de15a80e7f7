"""Runs experiments x tasks x arms x seeds at a named budget, one subprocess per run.

Each run gets its own folder `<runs-root>/<budget>/<experiment>/<task>/<arm>/seed<k>/` (the training script
puts its timestamped run folder inside, with its log in `log.txt` next to it). A run counts as finished when its
folder holds a `summary.json`; finished runs are skipped, so an interrupted sweep resumes where it stopped. For
experiments that name a `checkpoint_glob`, an interrupted run itself continues from its newest checkpoint.

    python benchmark/sweep.py --experiments progresscounts --budget cpu --seeds 1 2 3
    python benchmark/sweep.py --experiments progresscounts --budget smoke --dry-run
"""

from __future__ import annotations

import os
import shlex
import signal
import string
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import tyro
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from experiments import EXPERIMENTS, REPO  # noqa: E402


@dataclass
class Args:
    experiments: tuple[str, ...] = tuple(EXPERIMENTS)
    """which experiments to run"""
    budget: str = "cpu"
    """smoke, cpu or paper (see benchmark/experiments.py)"""
    tasks: tuple[str, ...] = ()
    """restrict to these tasks (default: each experiment's own list)"""
    variants: tuple[str, ...] = ()
    """restrict to these arms (default: all)"""
    seeds: tuple[int, ...] = ()
    """the seeds (default: 1 for the smoke budget, which only checks that everything runs; else each experiment's own)"""
    workers: int = 1
    """runs at the same time"""
    threads_per_run: int = 0
    """torch/OpenMP threads per run (0: the scripts' defaults; set it when `workers` > 1)"""
    runs_root: str = "benchmark/runs"
    """where run folders go"""
    dry_run: bool = False
    """print the commands and exit"""
    slurm_template: str | None = None
    """instead of running, write `<run folder>/job.sbatch` from this template ($job_name, $folder and $command are
    filled in; see benchmark/slurm_template.sbatch) and print the `sbatch` commands that submit them"""


@dataclass(frozen=True)
class Run:
    folder: Path
    command: tuple[str, ...]
    checkpoint_glob: str | None = None
    """where, inside the folder, an interrupted attempt left a checkpoint that `--resume` continues from"""

    def resume_command(self) -> tuple[str, ...]:
        """The command, continued from the newest checkpoint of an interrupted attempt when there is one."""
        if not self.checkpoint_glob:
            return self.command
        found = sorted(self.folder.glob(self.checkpoint_glob), key=lambda p: p.stat().st_mtime)
        return (*self.command, "--resume", str(found[-1])) if found else self.command

    def finished(self) -> bool:
        return any(self.folder.glob("*/summary.json"))


def plan(args: Args) -> list[Run]:
    for name in args.experiments:
        if name not in EXPERIMENTS:
            raise SystemExit(f"unknown experiment {name!r}; choose from: {', '.join(EXPERIMENTS)}")
        if args.budget not in EXPERIMENTS[name].budgets:
            raise SystemExit(f"experiment {name!r} has no budget {args.budget!r}; "
                             f"it has: {', '.join(EXPERIMENTS[name].budgets)}")
    # A task or arm filter may name what only some of the chosen experiments have, but each name must exist somewhere.
    selected = [EXPERIMENTS[name] for name in args.experiments]
    for kind, wanted, known in (("task", args.tasks, {t for e in selected for t in e.tasks}),
                                ("arm", args.variants, {a for e in selected for a in e.variants})):
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise SystemExit(f"no chosen experiment has the {kind}(s) {unknown}; they have: {', '.join(sorted(known))}")
    runs = []
    for name in args.experiments:
        exp = EXPERIMENTS[name]
        tasks = [t for t in exp.tasks if not args.tasks or t in args.tasks]
        for task in tasks:
            for arm, arm_flags in exp.variants.items():
                if args.variants and arm not in args.variants:
                    continue
                for seed in args.seeds or ((1,) if args.budget == "smoke" else exp.seeds):
                    folder = Path(args.runs_root) / args.budget / name / task / arm / f"seed{seed}"
                    command = (sys.executable, str(REPO / exp.script), exp.task_flag, task, *arm_flags,
                               *exp.budgets[args.budget], "--seed", str(seed), "--runs-dir", str(folder))
                    runs.append(Run(folder, command, exp.checkpoint_glob))
    return runs


RUNNING: set[subprocess.Popen] = set()  # the runs in progress, to pass a Ctrl-C on to them
STOPPING = threading.Event()


def execute(run: Run, threads: int) -> tuple[Run, int | None]:
    if STOPPING.is_set():  # Ctrl-C: start nothing new
        return run, None
    run.folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = run.resume_command()
    with open(run.folder / "log.txt", "a") as log:  # appended: an interrupted attempt's log is kept
        log.write(shlex.join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        RUNNING.add(process)
        code = process.wait()
        RUNNING.discard(process)
    return run, code


def main(args: Args) -> int:
    runs = plan(args)
    todo = [r for r in runs if not r.finished()]
    print(f"{len(runs)} runs, {len(runs) - len(todo)} already finished, {len(todo)} to do")
    if args.dry_run:
        for run in todo:
            print(shlex.join(run.resume_command()))
        return 0
    if args.slurm_template:
        template = string.Template(Path(args.slurm_template).read_text())
        for run in todo:
            run.folder.mkdir(parents=True, exist_ok=True)
            job = run.folder / "job.sbatch"
            name = "_".join(run.folder.parts[-4:])
            job.write_text(template.substitute(job_name=name, folder=str(run.folder.resolve()),
                                               command=shlex.join(run.resume_command())))
            print(f"sbatch {shlex.quote(str(job))}")
        return 0
    failed = []
    pool = ThreadPoolExecutor(max(1, args.workers))
    try:
        with tqdm(total=len(todo), desc=f"sweep {args.budget}") as bar:
            for run, code in pool.map(lambda r: execute(r, args.threads_per_run), todo):
                bar.update()
                if code != 0 or not run.finished():
                    failed.append(run)
                    tqdm.write(f"FAILED (exit {code}): {run.folder} (see its log.txt)")
    except KeyboardInterrupt:
        # Ctrl-C: no new run starts; the running ones save a checkpoint and stop (they get the signal too from a
        # terminal; passed on here in case only the sweep got it). Finished runs stay finished.
        STOPPING.set()
        for process in list(RUNNING):
            process.send_signal(signal.SIGINT)
        pool.shutdown(wait=True, cancel_futures=True)
        print("stopped; finished runs are kept, and running the same command again continues the sweep")
        return 130
    pool.shutdown()
    print(f"done: {len(todo) - len(failed)} finished, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(Args)))
