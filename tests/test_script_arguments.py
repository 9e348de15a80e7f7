"""Every script rejects a bad argument with one line and exit code 2, and leaves nothing on disk."""

import subprocess
import sys
from pathlib import Path

import pytest

ALGOS = Path(__file__).resolve().parents[1] / "algos"

BAD = {
    "ppo_progresscounts_isaac": [(["--num-envs", "0"], "--num-envs must be at least 1"),
                                 (["--total-timesteps", "-5"], "--total-timesteps must be at least 1"),
                                 (["--task", "ShadowHandNope"], "unknown task 'ShadowHandNope'"),
                                 (["--select-best", "--eval-seeds", "-1"], "--eval-seeds must be between 0 and 99"),
                                 (["--select-best", "--reward", "sparse"], "--select-best chooses among progress functions")],
    "ppo_eureka_isaac": [(["--num-steps", "0"], "--num-steps must be at least 1"),
                         (["--ppo", "sb3"], "--ppo"),
                         (["--reward-scale", "0"], "--reward-scale must be positive"),
                         (["--candidate-timesteps", "-1"], "--candidate-timesteps must be at least 1"),
                         (["--task", "ShadowHandNope"], "unknown task 'ShadowHandNope'")],
    "td3_lare_mujoco": [(["--total-timesteps", "0"], "--total-timesteps must be at least 1"),
                        (["--batch-size", "-3"], "--batch-size must be at least 1"),
                        (["--env-id", "Nope-v5"], "unknown --env-id 'Nope-v5'"),
                        (["--env-id", "Ant-v5"], "LaRe has prompts for")],
    "ippo_lare_mpe": [(["--num-envs", "0"], "--num-envs must be at least 1"),
                      (["--episode-length", "-2"], "--episode-length must be at least 1"),
                      (["--scenario", "chase_n99"], "unknown scenario 'chase_n99'")],
    "appo_oni_nethack": [(["--rollout", "0"], "--rollout must be at least 1"),
                         (["--total-timesteps", "-1"], "--total-timesteps must be at least 1"),
                         (["--batch-size", "100"], "must be a multiple of")],
}
CASES = [(script, argv, text) for script, cases in BAD.items() for argv, text in cases]


@pytest.mark.parametrize("script,argv,text", CASES, ids=[f"{s}:{' '.join(a)}" for s, a, _ in CASES])
def test_bad_arguments_get_one_line_and_exit_code_2(script, argv, text, tmp_path):
    result = subprocess.run([sys.executable, str(ALGOS / f"{script}.py"), *argv], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], result.stderr[-2000:]
    assert list(tmp_path.iterdir()) == [], "a run that failed its argument checks left files behind"


@pytest.mark.parametrize("script", sorted(BAD))
def test_an_unknown_llm_mode_is_refused_with_exit_code_2(script, tmp_path):
    result = subprocess.run([sys.executable, str(ALGOS / f"{script}.py"), "--llm-mode", "psychic"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "psychic" in lines[0] and "cached" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("script", ["ppo_progresscounts_isaac", "td3_lare_mujoco", "ippo_lare_mpe", "appo_oni_nethack"])
def test_a_checkpoint_of_another_format_is_refused_with_one_line(script, tmp_path):
    import torch

    old = tmp_path / "old.pt"
    torch.save({"agent": {}, "args": {}}, old)  # written before checkpoints carried a format version
    result = subprocess.run([sys.executable, str(ALGOS / f"{script}.py"), "--resume", str(old)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and "a checkpoint of format None" in lines[0], result.stderr[-2000:]
