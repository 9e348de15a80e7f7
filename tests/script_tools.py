"""Helpers for the script tests: load a script of algos/ as a module, run its main, read its TensorBoard scalars."""

import importlib.util
import runpy
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ALGOS = Path(__file__).resolve().parents[1] / "algos"


def load_script(name: str) -> ModuleType:
    """Import `algos/<name>.py` (its `__main__` block does not run). It is registered in sys.modules because
    gymnasium re-creates wrappers by module name."""
    spec = importlib.util.spec_from_file_location(name, ALGOS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_main(monkeypatch, script: Path, runs_dir: Path, *argv: str) -> Path:
    """Run a script's `__main__` in-process with `--runs-dir runs_dir` and return the newest run folder."""
    monkeypatch.setattr(sys, "argv", [str(script), "--runs-dir", str(runs_dir), *argv])
    runpy.run_path(str(script), run_name="__main__")
    return max((p for p in Path(runs_dir).iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime)


def read_scalars(run_dir: Path) -> dict[str, list[float]]:
    """Every TensorBoard scalar of a run: tag -> values in logging order."""
    acc = EventAccumulator(str(run_dir))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks on a shared 2-core machine: a second torch thread only adds contention (import to use)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
