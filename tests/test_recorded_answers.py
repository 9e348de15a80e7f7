"""The answers recorded from a real model (llm_outputs/**/recorded-smollm2-135m/): truthful provenance, never mixed
with the reference answers, and replayable offline with a script's --llm-answers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = sorted(p.parent for p in (ROOT / "llm_outputs").rglob("recorded-*/recording.json"))


def test_each_method_has_a_recorded_folder():
    methods = {p.relative_to(ROOT / "llm_outputs").parts[0] for p in FOLDERS}
    assert methods == {"progresscounts", "eureka", "lare", "oni"}


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT / "llm_outputs")))
def test_recorded_folder_provenance(folder):
    note = json.loads((folder / "recording.json").read_text())
    assert note["model"] == "smollm2-135m" and len(note["model_sha256"]) == 64
    assert note["packages"]["llama-cpp-python"] and note["server"]["context_tokens"] and note["date"]
    if (folder / "manifest.json").is_file():
        entries = json.loads((folder / "manifest.json").read_text())["entries"]
        assert entries and all(e["provenance"]["source"] == "recorded" and e["provenance"]["model"] == note["model"]
                               for e in entries)
        assert all((folder / e["file"]).is_file() for e in entries)
    else:  # ONI's label table
        table = json.loads((folder / "labels.json").read_text())
        answers = {**table["entries"], **table["unreadable"]}
        assert answers and set(table["labels"]) == set(table["entries"])
        assert all(a["provenance"]["source"] == "recorded" and a["provenance"]["answer"] for a in answers.values())


def replay(argv, tmp_path):
    command = [sys.executable, str(ROOT / "algos" / "td3_lare_mujoco.py"), "--env-id", "HalfCheetah-v5",
               "--total-timesteps", "300", "--learning-starts", "100", "--batch-size", "32", "--llm-samples", "5",
               "--runs-dir", str(tmp_path / "runs"), *argv]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)


def test_a_recorded_folder_replays_offline(tmp_path):
    """The 135M model's LaRe answers replay without a server and fail the script's check as they did live."""
    result = replay(["--llm-answers", "recorded-smollm2-135m"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("LaRe: no usable evaluation_func")
    # the recorded answers were read (not missed): the reason is the answers' own failure
    assert "no recorded answer" not in result.stderr and "no such answer folder" not in result.stderr
    assert "after 5 retries; last error:" in result.stderr  # all six recorded answers (merge and fixes) were tried


def test_a_missing_answer_folder_is_one_clear_line(tmp_path):
    result = replay(["--llm-answers", "recorded-no-such-model"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "--llm-answers 'recorded-no-such-model': no such answer folder" in result.stderr
    assert "available: recorded-smollm2-135m" in result.stderr
