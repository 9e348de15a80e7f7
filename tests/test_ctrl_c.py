"""Ctrl-C during training: each script saves a checkpoint, prints a resume command and exits 0; the command works.

The script runs in its own process group and the group gets SIGINT, as from a terminal (ONI's actor processes get
it too; the LLM-code sandbox runs in a session of its own and does not).
"""

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ALGOS = Path(__file__).resolve().parents[1] / "algos"
DEX = ["--task", "ShadowHandOver", "--num-envs", "4", "--num-steps", "4", "--hidden-sizes", "32", "32", "--no-cuda"]

# script: (arguments of a run far too long to finish, file whose appearance means training is under way,
#          arguments appended to the printed resume command so that the resumed run ends soon)
CASES = {
    "ppo_progresscounts_isaac": (DEX + ["--range-steps", "3", "--total-timesteps", "10000000"], "events.out.tfevents",
                                 ["--total-timesteps", "64"]),
    # Eureka resumes with the search's own settings, and finished candidates are kept: a short search, cut in its first
    "ppo_eureka_isaac": (DEX + ["--samples", "2", "--iterations", "1", "--candidate-timesteps", "1600", "--eval-seeds",
                                "1", "--eval-timesteps", "160"], "iter0_s0", []),
    # TD3's replay buffer is sized by the budget, so the resumed run keeps it: a budget of some seconds
    "td3_lare_mujoco": (["--env-id", "Reacher-v5", "--reward-model", "none", "--total-timesteps", "3000",
                         "--learning-starts", "100", "--batch-size", "32", "--eval-frequency", "100000", "--eval-episodes",
                         "1"], "events.out.tfevents", []),
    "ippo_lare_mpe": (["--reward-model", "none", "--num-envs", "2", "--episode-length", "5", "--total-timesteps",
                       "100000000", "--update-epochs", "1", "--minibatch-size", "10", "--eval-frequency", "100000"],
                      "events.out.tfevents", ["--total-timesteps", "10"]),
    "appo_oni_nethack": (["--reward-model", "none", "--num-workers", "2", "--envs-per-worker", "2", "--rollout", "8",
                          "--batch-size", "32", "--total-timesteps", "100000000", "--hidden-size", "32", "--torch-threads",
                          "1"], "events.out.tfevents", ["--total-timesteps", "64"]),
}


def wait_for(path: Path, name: str, process: subprocess.Popen, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if any(name in p.name for p in path.rglob("*")):
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} never appeared (exit code {process.poll()})")


@pytest.mark.parametrize("script", sorted(CASES))
def test_ctrl_c_saves_prints_a_resume_command_and_exits_0(script, tmp_path):
    argv, started, shorter = CASES[script]
    runs = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, str(ALGOS / f"{script}.py"), *argv, "--runs-dir", str(runs)], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        wait_for(runs, started, process)
        time.sleep(2.0)  # well into training
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    command = out.strip().splitlines()[-1].strip()
    assert "Resume with:" in out and command.startswith("python ") and "--resume" in command, out[-2000:]
    checkpoint = Path(shlex.split(command)[-1])
    assert checkpoint.exists()

    resumed = subprocess.run([sys.executable, *shlex.split(command)[1:], *shorter], cwd=tmp_path, capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
