"""A scripted OpenAI-compatible chat server on 127.0.0.1, for testing live LLM modes offline.

    server = FakeLLMServer().start()        # or the `fake_llm` fixture in conftest.py
    server.set_handler(lambda request, call_index: Reply(status=429) if call_index == 0 else Reply())
    client = LLMClient(mode="live", base_url=server.base_url, model="fake-model")
    server.stop()

A handler gets the request's JSON body and the 0-based index of the call and returns a `Reply`.
`Reply(answers=None)` answers `n` choices with deterministic text (see `default_answers`).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the server sends back for one request."""

    status: int = 200
    answers: list[str] | None = None  # None: `n` default answers
    delay_s: float = 0.0  # wait before answering (to provoke client time-outs)
    headers: dict[str, str] = field(default_factory=dict)
    error_message: str = "scripted error"


Handler = Callable[[dict, int], Reply]


def default_answers(request: dict, call_index: int) -> list[str]:
    return [f"answer {i} to call {call_index}" for i in range(int(request.get("n") or 1))]


def default_handler(request: dict, call_index: int) -> Reply:
    return Reply()


def completion_body(request: dict, answers: list[str], call_index: int) -> dict:
    """A chat.completion object as the OpenAI API returns it."""
    return {
        "id": f"chatcmpl-fake-{call_index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "fake-model"),
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
            for i, text in enumerate(answers)
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10 * len(answers), "total_tokens": 10 + 10 * len(answers)},
    }


def error_body(status: int, message: str) -> dict:
    kind = "rate_limit_error" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers; needs Content-Length on every reply
    timeout = 10  # idle keep-alive connections give up their thread after this many seconds
    server: _Server

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode("utf-8")
        # The client may have timed out and closed the connection already; that is expected.
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "test"}]})
        else:
            self._send_json(404, error_body(404, f"no route {self.path}"))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, error_body(404, f"no route {self.path}"))
            return
        try:
            request = json.loads(raw)
        except ValueError:
            self._send_json(400, error_body(400, "body is not JSON"))
            return
        fake = self.server.fake
        call_index = fake._record(request, {name.lower(): value for name, value in self.headers.items()})
        try:
            reply = fake.handler(request, call_index)
        except Exception as error:  # a broken test handler shows up as a 500 with its message
            reply = Reply(status=500, error_message=f"handler raised {error!r}")
        if reply.delay_s > 0 and fake._stopping.wait(reply.delay_s):
            self.close_connection = True  # the server is stopping: drop the slow request instead of holding stop() up
            return
        if reply.status == 200:
            answers = default_answers(request, call_index) if reply.answers is None else list(reply.answers)
            self._send_json(200, completion_body(request, answers, call_index), reply.headers)
        else:
            self._send_json(reply.status, error_body(reply.status, reply.error_message), reply.headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # server_close() must not wait for slow handler threads
    fake: FakeLLMServer


class FakeLLMServer:
    """OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1 with a scripted handler."""

    def __init__(self, handler: Handler | None = None):
        self.handler: Handler = handler or default_handler
        self.requests: list[dict] = []  # JSON bodies, in arrival order
        self.request_headers: list[dict[str, str]] = []  # header names in lower case
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def set_handler(self, handler: Handler) -> None:
        self.handler = handler

    def _record(self, request: dict, headers: dict[str, str]) -> int:
        with self._lock:
            self.requests.append(request)
            self.request_headers.append(headers)
            return len(self.requests) - 1

    def start(self) -> FakeLLMServer:
        self._httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers that are sleeping on a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

