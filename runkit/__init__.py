"""Run plumbing shared by the training scripts in `algos/`: what every script needs and none of them teaches.

- `usage_error` / `check_counts` / `check_choice`: one line on stderr and exit code 2 for a bad argument;
- `cpu_model`: recorded per run, because a seed fixes a CPU run only on one kind of CPU;
- `save_atomic` / `write_json`: a file is either the old one or the new one, never half written;
- `load_checkpoint`: a checkpoint of this script's format version, or one line saying why not;
- `announce`: where a run writes and how to watch it;
- `Stopper` / `stopped`: Ctrl-C asks the training loop to stop at its next safe point, to save and print how to
  resume;
- `CheckpointClock`: a checkpoint at least every few minutes.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

CHECKPOINT_EVERY_S = 600.0


def usage_error(message: str) -> NoReturn:
    """A bad argument: one line, exit code 2 (as argparse and tyro do)."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def check_counts(**values: int) -> None:
    """Each `--name value` must be at least 1."""
    for name, value in values.items():
        if value < 1:
            usage_error(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def check_choice(flag: str, value: str, choices) -> None:
    """`--flag value` must be one of `choices` (the message lists them)."""
    if value not in choices:
        usage_error(f"unknown {flag.lstrip('-').replace('-', ' ')} {value!r} ({flag}); choose one of: {', '.join(sorted(choices))}")


def cpu_model() -> str:
    """The CPU's model name. Runs of one seed are bit-identical on one kind of CPU but not across kinds (matrix
    kernels round differently), so each run records the CPU of each of its stretches."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def save_atomic(state: Any, path: Path) -> Path:
    """`torch.save` through a temporary file and a rename: an interrupted save leaves the previous file intact."""
    import torch

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, version: int, map_location: Any = "cpu") -> dict:
    """A checkpoint written by this version of the script (`version`, saved as its "format"); an older or foreign
    file is refused with one line, since its fields would not match what the script restores."""
    import torch

    if not Path(path).is_file():
        usage_error(f"--resume {path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # truncated, or not a torch file at all
        usage_error(f"--resume {path}: not a readable checkpoint ({type(error).__name__})")
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if found != version:
        usage_error(f"--resume {path}: a checkpoint of format {found}, this script reads format {version} "
                    "(written by another version of it); start a new run")
    return checkpoint


def write_json(path: Path, data: Any) -> None:
    """JSON through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def announce(run_dir: Path) -> None:
    print(f"writing the run to {run_dir}; watch it with: tensorboard --logdir {Path(run_dir).parent}", flush=True)


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
    """Within `with Stopper() as stop:` (or between `install()` and `remove()`), a first Ctrl-C sets `stop.requested` so that the loop can save and leave at
    its next safe point; a second Ctrl-C interrupts at once (KeyboardInterrupt)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: saving a checkpoint at the end of this iteration (Ctrl-C again to quit at once)",
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
