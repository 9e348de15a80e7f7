"""One training run as every script keeps it: its folder, TensorBoard, checkpoints, Ctrl-C and summary.json."""

from __future__ import annotations

import json
import platform
import random
import shlex
import signal
import sys
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, NoReturn

from runkit.cli import given_on_command_line
from runkit.files import load_checkpoint, save_atomic, write_json

CHECKPOINT_EVERY_S = 600.0


class Run:
    """A run's folder and what goes into it.

    - The folder is `<runs_dir>/<name>__<unix time>`, or the folder of the checkpoint given to `--resume`. It gets
      `config.json`, the TensorBoard logs (`run.writer`, synced to Weights and Biases with `--track`), the checkpoint
      (`run.save`) and `summary.json` (`run.finish`).
    - `run.checkpoint` is the checkpoint being resumed (None for a new run), refused unless of `checkpoint_format`.
    - `run.stop.requested` turns true on Ctrl-C; `run.due(...)` then asks for a checkpoint, and `run.save` exits with
      the resume command after writing it. Without Ctrl-C, a checkpoint is also due every 10 minutes.
    - Each checkpoint holds every global random stream and the CPU of each stretch of the run: a seed fixes a run on
      one kind of CPU only (matrix kernels round differently across kinds).
    - `run.timed(part)` adds up the seconds spent in each part of the loop for summary.json.
    - A resume of a run that had already finished (its progress bar starts at its total) trains nothing, and
      `run.finish` keeps the summary.json of the stretch that trained rather than one of near-zero timings.
    """

    current: Run | None = None  # one run at a time per process: a new one closes the one an exception left open

    def __init__(self, args, name: str, checkpoint_format: int | None, checkpoint_file: str | None = "checkpoint.pt",
                 folder: Path | None = None, catch_ctrl_c: bool = True, track: bool | None = None):
        """`checkpoint_file=None`: the script keeps its own state in the folder, and `--resume` names the folder.
        `catch_ctrl_c=False`: Ctrl-C raises KeyboardInterrupt as usual (for work that is redone rather than resumed).
        `track`: overrides `args.track` (Weights and Biases), e.g. for the many small runs inside one search."""
        if Run.current is not None:
            Run.current.close()
        self.args, self.format = args, checkpoint_format
        self.checkpoint = None
        if folder is None and args.resume:
            folder = Path(args.resume).resolve() if checkpoint_file is None else Path(args.resume).resolve().parent
        if args.resume and checkpoint_file is not None:
            self.checkpoint = load_checkpoint(args.resume, checkpoint_format)
        self.dir = Path(folder or Path(args.runs_dir) / f"{name}__{int(time.time())}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = self.dir / (checkpoint_file or "checkpoint.pt")
        announce(self.dir)
        write_json(self.dir / "config.json", asdict(args))
        if args.track if track is None else track:
            import wandb

            wandb.init(project=args.wandb_project_name, entity=args.wandb_entity, sync_tensorboard=True,
                       config=asdict(args), name=self.dir.name, save_code=True)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.dir))
        table = "\n".join(f"|{k}|{v}|" for k, v in asdict(args).items())
        self.writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{table}")
        self.cpus = (self.checkpoint["cpus"] if self.checkpoint else []) + [cpu_model()]
        self.seconds: dict[str, float] = defaultdict(float)
        self.started = time.time()
        self.bar = None
        self.steps: tuple[int, int] | None = None  # (initial, total) of the progress bar
        self.stop = Stopper().install() if catch_ctrl_c else Stopper()
        self.clock = CheckpointClock()
        Run.current = self

    def log(self, step: int, scalars: dict[str, Any]) -> None:
        """TensorBoard scalars at `step`; None values are skipped."""
        for tag, value in scalars.items():
            if value is not None:
                self.writer.add_scalar(tag, value, step)

    @contextmanager
    def timed(self, part: str):
        start = time.perf_counter()
        yield
        self.seconds[part] += time.perf_counter() - start

    def progress(self, total: int, initial: int = 0, desc: str = "", **kwargs):
        """The progress bar, in env steps: speed and ETA; the loop adds success or return with `set_postfix`."""
        from tqdm import tqdm

        self.steps = (initial, total)
        self.bar = tqdm(total=total, initial=initial, desc=desc, unit="step", unit_scale=True, **kwargs)
        return self.bar

    def due(self, scheduled: bool) -> bool:
        """Whether to save a checkpoint now: on Ctrl-C, or when saving is on and it is scheduled or 10 minutes old."""
        return self.stop.requested or (self.args.save_model and (scheduled or self.clock.due()))

    def save(self, state: dict) -> Path:
        """Writes the checkpoint (with the format, arguments, CPUs and random streams); after Ctrl-C, also leaves."""
        save_atomic({**state, "format": self.format, "args": asdict(self.args), "cpus": self.cpus,
                     "random_streams": random_streams()}, self.checkpoint_path)
        if self.stop.requested:
            self.close()
            stopped(self.checkpoint_path)
        return self.checkpoint_path

    def restore_random_streams(self) -> None:
        """The global random streams as the checkpoint saved them (call it after setup has drawn from them)."""
        restore_random_streams(self.checkpoint["random_streams"])

    def finished_before(self) -> bool:
        """Whether this is a resume of a run that had already finished: its checkpoint is at or past the total of the
        progress bar, so this stretch trains nothing."""
        return self.checkpoint is not None and self.steps is not None and self.steps[0] >= self.steps[1]

    def finish(self, summary: dict) -> dict:
        """Writes summary.json, with the CPUs and the seconds spent per part (unless `summary` has its own), and
        closes the run. A resume of a finished run keeps the summary.json it has (and returns it): this stretch
        trained nothing, and its timings would be near zero."""
        existing = self.dir / "summary.json"
        if self.finished_before() and existing.is_file():
            self.close()
            return json.loads(existing.read_text())
        seconds = {**self.seconds, "total": time.time() - self.started}
        summary = {"cpus": self.cpus, **summary, "seconds": {**seconds, **summary.get("seconds", {})}}
        write_json(self.dir / "summary.json", summary)
        self.close()
        return summary

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.writer.close()
        self.stop.remove()
        if Run.current is self:
            Run.current = None


def resumed_args(args, checkpoint_format: int, may_change: tuple[str, ...] = ("total_timesteps",)):
    """With `--resume`: the settings of the run being resumed, so that it goes on with what made it. Only `--resume`
    and the flags in `may_change` are taken from the command line; other flags given there are named and ignored."""
    if not args.resume:
        return args
    saved = load_checkpoint(args.resume, checkpoint_format)["args"]
    values = {f.name: saved[f.name] for f in fields(args) if f.name in saved}
    values = {k: tuple(v) if isinstance(v, list) and isinstance(getattr(args, k), tuple) else v for k, v in values.items()}
    flag = lambda name: "--" + name.replace("_", "-")  # noqa: E731
    new = {k: getattr(args, k) for k in may_change if given_on_command_line(flag(k))}
    ignored = [flag(k) for k, v in values.items() if k not in new and k != "resume" and given_on_command_line(flag(k))
               and getattr(args, k) != v]
    if ignored:
        print(f"resuming with the checkpoint's settings; ignored: {', '.join(ignored)}")
    return replace(args, **{**values, "resume": args.resume, **new})


def random_streams() -> dict:
    import numpy as np
    import torch

    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}


def restore_random_streams(streams: dict) -> None:
    import numpy as np
    import torch

    random.setstate(streams["python"])
    np.random.set_state(streams["numpy"])
    torch.set_rng_state(streams["torch"])
    if streams["cuda"] is not None and torch.cuda.is_available():  # as many GPUs as both machines have
        for device, state in enumerate(streams["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(state, device)


def announce(folder: Path) -> None:
    print(f"writing the run to {folder}; watch it with: tensorboard --logdir {Path(folder).parent}", flush=True)


def cpu_model() -> str:
    """The CPU's model name, recorded per stretch of a run."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def resume_command(checkpoint: Path) -> str:
    """This run's own command line with `--resume checkpoint` in place of any earlier `--resume`."""
    argv, skip = [], False
    for arg in sys.argv[1:]:
        if skip or arg == "--resume":
            skip = not skip and arg == "--resume"
            continue
        if not arg.startswith("--resume="):
            argv.append(arg)
    return shlex.join(["python", sys.argv[0], *argv, "--resume", str(checkpoint)])


def stopped(checkpoint: Path) -> NoReturn:
    """The end of a run stopped by Ctrl-C after its checkpoint was saved: the resume command, exit code 0."""
    print(f"\nstopped; saved {checkpoint}. Resume with:\n  {resume_command(checkpoint)}", flush=True)
    raise SystemExit(0)


class Stopper:
    """Between `install()` and `remove()` (or within `with Stopper() as stop:`), a first Ctrl-C sets `stop.requested`
    so that the loop can save and leave at its next safe point; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: saving a checkpoint at the next safe point (Ctrl-C again to quit at once)",
              file=sys.stderr, flush=True)

    def install(self) -> Stopper:
        if threading.current_thread() is threading.main_thread():  # signals reach the main thread only
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def remove(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def __enter__(self) -> Stopper:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.remove()


class CheckpointClock:
    """`due()` is true once `every_s` seconds have passed since the last time it was true (or since the start)."""

    def __init__(self, every_s: float = CHECKPOINT_EVERY_S):
        self.every_s = every_s
        self.last = time.monotonic()

    def due(self) -> bool:
        if time.monotonic() - self.last >= self.every_s:
            self.last = time.monotonic()
            return True
        return False
