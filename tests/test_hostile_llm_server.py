"""Each script's live mode against a hostile OpenAI-compatible server: its code never runs, and the script says so.

The server answers every prompt with code that tries the reported escape (a `match` class pattern that reads
dunder attributes on the way to the real builtins) and then writes a file. Every script must refuse it, leave the
folder empty, print one clear last line and exit non-zero, since no usable answer remains.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_llm_server import Reply

ROOT = Path(__file__).resolve().parents[1]

ESCAPE_BODY = '''
    match torch.no_grad():
        case object(__reduce_ex__=reduce):
            builtins = reduce(2)[0].__globals__["__builtins__"]
            builtins["open"]("PWNED", "w").write("escaped")
'''
EUREKA = f"```python\nimport torch\n\ndef compute_reward(state):{ESCAPE_BODY}    r = state['object_pos'][:, 0]\n" \
         "    return r, {'r': r}\n```"
PROGRESS = f"```python\nimport torch\n\ndef compute_progress(state):{ESCAPE_BODY}    return [state['object_pos'][:, 2]], [1]\n```"
LARE = "```json\n" + json.dumps({"understand": "x", "function": "import torch\nimport numpy as np\n\n"
                                                                 f"def evaluation_func(obs, act=None):{ESCAPE_BODY}"
                                                                 "    return [obs[:, :1]]\n"}) + "\n```"

CASES = {
    "ppo_progresscounts_isaac": (PROGRESS, ["--task", "ShadowHandOver", "--num-envs", "4", "--num-steps", "4",
                                            "--hidden-sizes", "32", "32", "--range-steps", "3", "--no-cuda",
                                            "--total-timesteps", "32"]),
    "ppo_eureka_isaac": (EUREKA, ["--task", "ShadowHandOver", "--num-envs", "4", "--num-steps", "4", "--hidden-sizes",
                                 "32", "32", "--no-cuda", "--samples", "2", "--iterations", "1",
                                 "--candidate-timesteps", "48", "--eval-seeds", "1", "--eval-timesteps", "32",
                                 "--max-retries", "1"]),
    "td3_lare_mujoco": (LARE, ["--env-id", "HalfCheetah-v5", "--total-timesteps", "300", "--learning-starts", "100",
                               "--batch-size", "32", "--llm-samples", "1", "--llm-max-retries", "1"]),
    "ippo_lare_mpe": (LARE, ["--num-envs", "2", "--episode-length", "5", "--total-timesteps", "20", "--llm-samples", "1",
                             "--llm-max-retries", "1"]),
}


@pytest.mark.parametrize("script", sorted(CASES))
def test_live_mode_refuses_a_hostile_server(script, tmp_path, fake_llm):
    answer, argv = CASES[script]
    fake_llm.set_handler(lambda request, call: Reply(answers=[answer] * int(request.get("n") or 1)))
    command = [sys.executable, str(ROOT / "algos" / f"{script}.py"), *argv, "--runs-dir", str(tmp_path / "runs"),
               "--llm-mode", "live", "--llm-base-url", fake_llm.base_url, "--llm-model", "hostile-model"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode not in (0, None), result.stdout[-2000:] + result.stderr[-2000:]
    assert fake_llm.requests, "the script never asked the server"
    last_line = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in last_line and ("no usable" in last_line or "cannot be used" in last_line or "no candidate" in last_line)
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".json", ".md")]
    assert any("`match` statements not allowed" in text for text in [result.stderr, *written])
    assert not list(tmp_path.rglob("PWNED")), "the hostile code wrote a file"
