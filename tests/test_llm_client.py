"""The LLM client over real HTTP (the real `openai` package against a local fake server), and cached replay."""

import datetime
import json
import socket
import threading
import time

import pytest
from fake_llm_server import FakeLLMServer, Reply

from llmcode.cache import CacheMiss, prompt_hash
from llmcode.client import PLACEHOLDER_API_KEY, LLMClient, LLMError, recorded_folder
from llmcode.prompts import chat

PROMPT = chat("You write reward functions.", "Task: open the door.")
FAST = {"backoff_base_s": 0.001, "timeout_s": 5.0}


@pytest.fixture(autouse=True)
def no_openai_environment(monkeypatch):
    """The developer's own OPENAI_* settings must not leak into these tests."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def live(server, **kwargs) -> LLMClient:
    return LLMClient(mode="live", base_url=server.base_url, model="fake-model", **{**FAST, **kwargs})


def test_live_collects_n_samples_in_chunks(fake_llm):
    answers = live(fake_llm, chunk_size=4, temperature=0.7).ask(PROMPT, n=6)
    assert [a.text for a in answers] == [f"answer {i} to call 0" for i in range(4)] + [f"answer {i} to call 1" for i in range(2)]
    assert [a.sample for a in answers] == list(range(6))
    assert [r["n"] for r in fake_llm.requests] == [4, 2]
    assert all(r["model"] == "fake-model" and r["temperature"] == 0.7 and r["messages"] == PROMPT for r in fake_llm.requests)
    assert answers[0].prompt_hash == prompt_hash(PROMPT) and answers[0].file is None
    assert answers[0].provenance["source"] == "recorded" and answers[0].provenance["temperature"] == 0.7


def test_live_counts_requests_and_tokens(fake_llm):
    client = live(fake_llm)
    client.ask(PROMPT, n=2)
    assert client.requests_made == 1
    assert client.tokens == {"prompt": 10, "completion": 20}  # the fake server's usage numbers


def test_live_asks_again_when_endpoint_ignores_n(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(answers=[f"only one, call {call}"]))
    answers = live(fake_llm).ask("hello", n=3, temperature=0.2)
    assert [a.text for a in answers] == ["only one, call 0", "only one, call 1", "only one, call 2"]
    assert [r["n"] for r in fake_llm.requests] == [3, 2, 1]
    assert fake_llm.requests[0]["messages"] == [{"role": "user", "content": "hello"}]


def test_live_gives_up_when_endpoint_returns_no_choices(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(answers=[]))
    with pytest.raises(LLMError, match=r"returned only 0 of 2 answers"):
        live(fake_llm).ask(PROMPT, n=2)
    assert 2 <= len(fake_llm.requests) <= 10


def test_rate_limit_is_retried(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(status=429, headers={"Retry-After": "0"}) if call < 2 else Reply())
    answers = live(fake_llm).ask(PROMPT, n=1)
    assert answers[0].text == "answer 0 to call 2"
    assert len(fake_llm.requests) == 3


def test_server_error_gives_up_with_clear_error(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(status=500, error_message="the GPU caught fire"))
    with pytest.raises(LLMError) as error:
        live(fake_llm, max_attempts=3).ask(PROMPT)
    message = str(error.value)
    assert fake_llm.base_url in message and "fake-model" in message and "3 attempts" in message
    assert "500" in message and "the GPU caught fire" in message
    assert len(fake_llm.requests) == 3


def test_slow_endpoint_times_out_and_gives_up(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(delay_s=3.0))
    with pytest.raises(LLMError, match=r"2 attempts.*Timeout"):
        live(fake_llm, timeout_s=0.3, max_attempts=2).ask(PROMPT)
    assert len(fake_llm.requests) == 2


def test_bad_request_is_not_retried(fake_llm):
    fake_llm.set_handler(lambda request, call: Reply(status=400, error_message="unknown parameter"))
    with pytest.raises(LLMError, match=r"HTTP 400.*not retried.*unknown parameter"):
        live(fake_llm, max_attempts=5).ask(PROMPT)
    assert len(fake_llm.requests) == 1


def test_unreachable_endpoint_gives_up():
    client = LLMClient(mode="live", base_url=closed_port_url(), model="m", max_attempts=2, **FAST)
    with pytest.raises(LLMError, match=r"failed after 2 attempts.*APIConnectionError"):
        client.ask(PROMPT)


def test_answer_length_limit(fake_llm, monkeypatch):
    live(fake_llm).ask(PROMPT)
    assert "max_tokens" not in fake_llm.requests[-1]  # unset: the endpoint's own limit
    live(fake_llm, max_tokens=32).ask(PROMPT)
    assert fake_llm.requests[-1]["max_tokens"] == 32
    monkeypatch.setenv("OPENAI_MAX_TOKENS", "64")
    live(fake_llm).ask(PROMPT)
    assert fake_llm.requests[-1]["max_tokens"] == 64
    for bad in ("0", "-5", "many"):
        monkeypatch.setenv("OPENAI_MAX_TOKENS", bad)
        with pytest.raises(LLMError, match="OPENAI_MAX_TOKENS must be a positive whole number"):
            live(fake_llm)
    LLMClient(mode="cached", cache_dir=".")  # cached mode never asks, so it does not read the variable


def test_answer_folder_is_a_plain_recorded_folder_replayed_in_cached_mode(fake_llm, tmp_path):
    (tmp_path / "recorded-m").mkdir()
    (tmp_path / "other-task").mkdir()
    assert LLMClient(mode="cached", cache_dir=tmp_path, answers="recorded-m").cache.folder == tmp_path / "recorded-m"
    for bad in ("recorded-x", "../other-task", "other-task/..", "/abs"):
        with pytest.raises(LLMError, match=r"no such answer folder.*available: recorded-m$"):
            LLMClient(mode="cached", cache_dir=tmp_path, answers=bad)
    with pytest.raises(LLMError, match="needs --llm-mode cached"):
        LLMClient(mode="record", cache_dir=tmp_path, answers="recorded-m", base_url=fake_llm.base_url, model="m")


def test_configuration_from_environment(fake_llm, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    answers = LLMClient(mode="live", **FAST).ask(PROMPT)
    assert fake_llm.requests[0]["model"] == "env-model"
    assert fake_llm.request_headers[0]["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    assert answers[0].provenance["endpoint"] == fake_llm.base_url


def test_configuration_errors_say_what_to_set(monkeypatch):
    with pytest.raises(LLMError, match=r"OPENAI_API_KEY.*OPENAI_BASE_URL"):
        LLMClient(mode="live", model="m")
    with pytest.raises(LLMError, match=r"OPENAI_MODEL"):
        LLMClient(mode="record", cache_dir="unused", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ValueError, match=r"cached, live, record"):
        LLMClient(mode="replay")
    with pytest.raises(ValueError, match=r"cache_dir"):
        LLMClient(mode="cached")


def test_record_then_replay_round_trip(fake_llm, tmp_path):
    texts = ["def compute_reward(obs):\n    return obs.sum()\n", '{"progress": [0, 1, 2]}', "I think the hand should grasp first."]
    fake_llm.set_handler(lambda request, call: Reply(answers=texts[: request["n"]]))
    recorded = LLMClient(mode="record", cache_dir=tmp_path, base_url=fake_llm.base_url, model="fake-model", temperature=0.5,
                         **FAST).ask(PROMPT, n=3)

    assert recorded_folder("fake-model") == "recorded-fake-model" == recorded_folder("Fake Model")
    assert recorded_folder("org/SmolLM2-135M-Instruct.Q4_1") == "recorded-org-smollm2-135m-instruct.q4-1"
    replayed = LLMClient(mode="cached", cache_dir=tmp_path / "recorded-fake-model").ask(PROMPT, n=3)
    assert [a.text for a in replayed] == [a.text for a in recorded] == texts
    assert [a.file.suffix for a in replayed] == [".py", ".json", ".md"]
    assert [a.file.read_text() for a in replayed] == texts
    provenance = replayed[0].provenance
    assert provenance == {"source": "recorded", "model": "fake-model", "endpoint": fake_llm.base_url,
                          "date": datetime.date.today().isoformat(), "temperature": 0.5}
    manifest = json.loads((tmp_path / "recorded-fake-model" / "manifest.json").read_text())
    assert len(manifest["entries"]) == 3
    assert (tmp_path / "recorded-fake-model" / f"prompt_{prompt_hash(PROMPT)[:12]}.md").read_text().count("## ") == 2


def test_record_by_position_then_replay_changed_prompt(fake_llm, tmp_path):
    recorder = LLMClient(mode="record", cache_dir=tmp_path, base_url=fake_llm.base_url, model="fake-model", **FAST)
    recorder.ask(chat("sys", "feedback: success 0.25"), n=2, position="iter1")
    assert sorted(p.name for p in (tmp_path / "recorded-fake-model").glob("iter1_*")) == ["iter1_s0.md", "iter1_s1.md"]

    with pytest.warns(UserWarning, match="changed since it was recorded"):
        replayed = LLMClient(cache_dir=tmp_path / "recorded-fake-model").ask(chat("sys", "feedback: success 0.31"), n=2, position="iter1")
    assert [a.text for a in replayed] == ["answer 0 to call 0", "answer 1 to call 0"]


def test_cached_mode_never_touches_the_network(fake_llm, tmp_path, monkeypatch):
    fake_llm.set_handler(lambda request, call: Reply(answers=["x = 1"]))
    LLMClient(mode="record", cache_dir=tmp_path, base_url=fake_llm.base_url, model="fake-model", **FAST).ask(PROMPT)
    fake_llm.requests.clear()

    def no_connections(*args, **kwargs):
        raise AssertionError("cached mode opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_connections)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_llm.base_url)
    cached = LLMClient(mode="cached", cache_dir=tmp_path / "recorded-fake-model", base_url=closed_port_url(), model="fake-model")
    assert cached.ask(PROMPT)[0].text == "x = 1"
    with pytest.raises(CacheMiss, match=rf"{prompt_hash('not recorded')}.*manifest\.json"):
        cached.ask("not recorded")
    assert fake_llm.requests == []


def test_record_mode_writes_beside_reference_answers_never_over_them(fake_llm, tmp_path):
    from llmcode.cache import AnswerCache, CacheError, reference_provenance

    shipped = AnswerCache(tmp_path)
    shipped.add(PROMPT, 0, "def f(x):\n    return x\n", reference_provenance("written for the test"))
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file())
    fake_llm.set_handler(lambda request, call: Reply(answers=["hostile answer"]))
    recorded = LLMClient(mode="record", cache_dir=tmp_path, base_url=fake_llm.base_url, model="fake-model", **FAST).ask(PROMPT)
    assert recorded[0].file.parent == tmp_path / "recorded-fake-model"
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file()) == before
    assert LLMClient(cache_dir=tmp_path).ask(PROMPT)[0].provenance["source"] == "reference"
    with pytest.raises(CacheError, match="will not replace the reference answer"):  # the cache refuses it, too
        shipped.add(PROMPT, 0, "hostile answer", recorded[0].provenance)


def test_fake_server_stop_does_not_wait_for_a_slow_request():
    server = FakeLLMServer(lambda request, call: Reply(delay_s=600.0)).start()
    client = LLMClient(mode="live", base_url=server.base_url, model="m", timeout_s=600.0, max_attempts=1)
    outcome = []

    def ask():
        try:
            client.ask(PROMPT)
        except LLMError as error:
            outcome.append(error)

    thread = threading.Thread(target=ask, daemon=True)
    thread.start()
    for _ in range(500):  # wait until the request is in flight
        if server.requests:
            break
        time.sleep(0.01)
    server.stop()
    thread.join(timeout=60)
    assert not thread.is_alive() and len(outcome) == 1
