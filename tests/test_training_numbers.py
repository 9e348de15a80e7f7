"""Training numbers stay what they are when the scripts are restructured: tiny runs at fixed seeds must end with
the same `summary.json` numbers as the committed ones in `tests/golden/`.

A run's numbers depend on the CPU's matrix kernels (a seed fixes a run on one kind of CPU, not across kinds), so
floats are compared with a tolerance that rounding differences over a few updates stay inside and a changed
algorithm, a changed random stream or a changed default does not. Regenerate the files only for a change that is
meant to alter training, and say so in the commit: `python tests/test_training_numbers.py --write`.
ONI is not here: its actors and learner run asynchronously, so which policy version acts depends on timing.
"""

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
REL, ABS = 1e-3, 1e-5

DEX = ["--task", "ShadowHandOver", "--num-envs", "4", "--num-steps", "4", "--hidden-sizes", "32", "32", "--no-cuda", "--seed", "3"]
CASES = {
    "ppo_progresscounts_isaac": DEX + ["--range-steps", "3", "--total-timesteps", "640"],
    "ppo_progresscounts_isaac_sparse": DEX + ["--reward", "sparse", "--total-timesteps", "640"],
    "ppo_eureka_isaac": DEX + ["--samples", "2", "--iterations", "1", "--candidate-timesteps", "48", "--eval-seeds", "1",
                               "--eval-timesteps", "32"],
    "td3_lare_mujoco": ["--env-id", "Reacher-v5", "--total-timesteps", "300", "--learning-starts", "100", "--batch-size",
                        "32", "--rrd-k", "8", "--eval-frequency", "300", "--eval-episodes", "1", "--seed", "3"],
    "ippo_lare_mpe": ["--scenario", "spread_n6", "--num-envs", "2", "--episode-length", "5", "--total-timesteps", "20",
                      "--update-epochs", "2", "--minibatch-size", "5", "--eval-frequency", "2", "--eval-episodes", "2",
                      "--reward-frequency", "1", "--reward-gradient-steps", "2", "--reward-batch-episodes", "4",
                      "--seed", "3"],
}
# Fields that describe the run rather than what it learned (timings, machine, where and how often it saves).
VOLATILE = {"save_model", "checkpoint_every", "checkpoint_frequency", "sps", "seconds", "wall_seconds", "time", "cpus", "run_dir", "date", "timing", "sim_time", "reward_time",
            "learn_time", "llm_seconds", "elapsed", "started", "finished", "path", "dir", "machine", "runs_dir",
            "train_time_s", "sps_updating", "sps_with_eval"}


def run_tiny(case: str) -> dict:
    script = case.removesuffix("_sparse")
    with tempfile.TemporaryDirectory() as runs:
        subprocess.run([sys.executable, str(ROOT / "algos" / f"{script}.py"), *CASES[case], "--runs-dir", runs],
                       cwd=runs, check=True, capture_output=True, text=True)
        summary = next(Path(runs).rglob("summary.json"))
        if script == "ppo_eureka_isaac":  # the search's own summary, not a candidate's
            summary = min(Path(runs).rglob("summary.json"), key=lambda p: len(p.parts))
        return learned(json.loads(summary.read_text()))


def learned(value):
    """The summary without its volatile fields (at any depth)."""
    if isinstance(value, dict):
        return {k: learned(v) for k, v in value.items() if k not in VOLATILE and not k.endswith(("_seconds", "_time", "sps"))}
    if isinstance(value, list):
        return [learned(v) for v in value]
    return value


def differences(expected, got, where="summary") -> list[str]:
    if isinstance(expected, dict) and isinstance(got, dict):
        out = [f"{where}: keys {sorted(set(expected) ^ set(got))} differ"] if expected.keys() != got.keys() else []
        return out + [d for k in expected.keys() & got.keys() for d in differences(expected[k], got[k], f"{where}.{k}")]
    if isinstance(expected, list) and isinstance(got, list):
        if len(expected) != len(got):
            return [f"{where}: {len(got)} items, expected {len(expected)}"]
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in differences(e, g, f"{where}[{i}]")]
    if isinstance(expected, float) and isinstance(got, int | float) and not isinstance(got, bool):
        if math.isclose(expected, got, rel_tol=REL, abs_tol=ABS) or (math.isnan(expected) and math.isnan(got)):
            return []
    elif expected == got:
        return []
    return [f"{where}: {got!r}, expected {expected!r}"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_tiny_runs_keep_their_numbers(case):
    expected = learned(json.loads((GOLDEN / f"{case}.json").read_text()))
    assert differences(expected, run_tiny(case)) == []


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/test_training_numbers.py --write")
    GOLDEN.mkdir(exist_ok=True)
    for name in sorted(CASES):
        (GOLDEN / f"{name}.json").write_text(json.dumps(run_tiny(name), indent=1, sort_keys=True) + "\n")
        print("wrote", GOLDEN / f"{name}.json")
