"""The LLM client: replay recorded answers, or ask any OpenAI-compatible endpoint.

Modes:
    cached  (default) replay `llm_outputs/`; never opens a network connection.
    live    ask an endpoint (OpenAI, vLLM, Ollama, llama.cpp server, ...) through the `openai` package.
    record  like live, then write every answer into the cache folder.

Retries are done here rather than by the `openai` package, so that the policy (which errors,
how long to wait) is visible and the final error can say what was tried.
"""

from __future__ import annotations

import math
import os
import re
import time
import urllib.parse
from pathlib import Path

from llmcode.cache import Answer, AnswerCache, prompt_hash, recorded_provenance
from llmcode.prompts import as_messages

MODES = ("cached", "live", "record")
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (vLLM, Ollama, llama.cpp) accept any key, but the openai package insists on one.
PLACEHOLDER_API_KEY = "no-key-needed"
MAX_BACKOFF_S = 60.0


class LLMError(RuntimeError):
    """The endpoint is misconfigured, unreachable, refused the request, or kept failing after retries."""


def is_retryable_status(status: int) -> bool:
    """Rate limits, request time-outs and server errors are worth another try; other 4xx are our fault."""
    return status in (408, 429) or status >= 500


def retry_after_s(headers) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms` or a numeric `retry-after`), if any."""
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:  # an HTTP date: rare, and exponential backoff is a fine substitute
                return None
    return None


def public_endpoint(base_url: str) -> str:
    """The base URL without any user:password part, safe to store in provenance and error messages."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.username or parts.password:
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=host)
    return urllib.parse.urlunsplit(parts).rstrip("/")


def recorded_folder(model: str) -> str:
    """Record mode's folder inside the method/task folder, one per model (replay it with a script's --llm-answers)."""
    return "recorded-" + (re.sub(r"[^a-z0-9.]+", "-", model.lower()).strip("-") or "model")


def answer_folder(cache_dir: Path, answers: str, mode: str) -> Path:
    """The sub-folder of a task's answers that --llm-answers names (e.g. recorded-smollm2-135m), replayed in cached
    mode; a plain folder name, so that one task's answers never stand in for another's."""
    if mode != "cached":
        raise LLMError(f"--llm-answers {answers} replays recorded answers; it needs --llm-mode cached (record mode "
                       "writes recorded-<model>/ by itself)")
    available = sorted(p.name for p in cache_dir.glob("recorded-*") if p.is_dir())
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", answers) or not (cache_dir / answers).is_dir():
        raise LLMError(f"--llm-answers {answers!r}: no such answer folder in {cache_dir}; "
                       f"available: {', '.join(available) or 'none'}")
    return cache_dir / answers


def answer_token_limit() -> int | None:
    """OPENAI_MAX_TOKENS, the longest answer to ask for (a small local model may otherwise ramble up to its context
    size); None when unset."""
    value = os.environ.get("OPENAI_MAX_TOKENS")
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise LLMError(f"OPENAI_MAX_TOKENS must be a positive whole number of tokens, got {value!r}")
    return int(value)


class LLMClient:
    """Ask for `n` sampled answers to a chat prompt, from the cache or from a live endpoint."""

    def __init__(
        self,
        mode: str = "cached",
        cache_dir: str | os.PathLike | None = None,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 1.0,
        timeout_s: float = 120.0,
        max_attempts: int = 6,
        backoff_base_s: float = 1.0,
        chunk_size: int = 4,
        max_tokens: int | None = None,
        answers: str = "",
    ):
        if mode not in MODES:
            raise ValueError(f"unknown LLM mode {mode!r}; choose one of: {', '.join(MODES)}")
        if mode in ("cached", "record") and cache_dir is None:
            raise ValueError(f"LLM mode {mode!r} needs cache_dir (the llm_outputs/<method>/<task> folder)")
        if max_attempts < 1 or chunk_size < 1:
            raise ValueError(f"max_attempts and chunk_size must be at least 1, got {max_attempts} and {chunk_size}")
        self.mode = mode
        if answers:
            cache_dir = answer_folder(Path(cache_dir), answers, mode)
        self.model = model or os.environ.get("OPENAI_MODEL") or None
        # Record mode writes beside the shipped answers, never over them (they may be `reference` answers).
        if mode == "record":
            if self.model is None:
                raise LLMError("LLM mode 'record' needs a model name: --llm-model or OPENAI_MODEL")
            cache_dir = Path(cache_dir) / recorded_folder(self.model)
            print(f"LLM record mode: answers are written to {cache_dir}")
        self.cache = AnswerCache(cache_dir) if cache_dir is not None else None
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.chunk_size = chunk_size
        self.requests_made = 0  # HTTP attempts, retries included; scripts log these as llm/... metrics
        self.tokens = {"prompt": 0, "completion": 0}
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.max_tokens = None if mode == "cached" else max_tokens or answer_token_limit()  # None: the endpoint's
        self.endpoint = public_endpoint(self.base_url or OPENAI_DEFAULT_BASE_URL)
        self._openai = None
        if mode != "cached":  # cached mode must not even build a network client
            self._openai = self._make_openai_client(api_key or os.environ.get("OPENAI_API_KEY") or None)

    def _make_openai_client(self, api_key: str | None):
        if api_key is None and self.base_url is None:
            raise LLMError(
                f"LLM mode {self.mode!r} needs an endpoint: set OPENAI_API_KEY (for api.openai.com) or OPENAI_BASE_URL "
                "(for a local server, e.g. http://localhost:11434/v1 for Ollama, http://localhost:8000/v1 for vLLM), "
                "or pass api_key / base_url"
            )
        if self.model is None:
            raise LLMError(f"LLM mode {self.mode!r} needs a model name: set OPENAI_MODEL or pass model")
        import openai  # imported here so that cached mode works without touching the package

        return openai.OpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY,
            base_url=self.base_url or OPENAI_DEFAULT_BASE_URL,
            max_retries=0,
            timeout=self.timeout_s,
        )

    def ask(self, messages: str | list[dict], n: int = 1, position: str | None = None, temperature: float | None = None) -> list[Answer]:
        """Return `n` answers (samples 0..n-1) to `messages`.

        `position` names the place of this prompt in an iterative transcript (e.g. "iter2");
        cached mode then replays by position, warning when the prompt has changed.
        """
        messages = as_messages(messages)
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if self.mode == "cached":
            return [self.cache.get(messages, sample, position=position) for sample in range(n)]
        temperature = self.temperature if temperature is None else temperature
        texts = self._sample(messages, n, temperature)
        provenance = recorded_provenance(self.model, self.endpoint, temperature)
        if self.mode == "record":
            return [self.cache.add(messages, i, text, provenance, position=position) for i, text in enumerate(texts)]
        hash_ = prompt_hash(messages)
        return [Answer(text=text, sample=i, provenance=dict(provenance), prompt_hash=hash_, file=None) for i, text in enumerate(texts)]

    def _sample(self, messages: list[dict], n: int, temperature: float) -> list[str]:
        """Collect n completions, at most `chunk_size` per request.

        Ollama and llama.cpp ignore `n` and return one choice, so we keep asking for the rest;
        the bound stops an endpoint that returns nothing from looping forever.
        """
        texts: list[str] = []
        max_requests = 2 * math.ceil(n / self.chunk_size) + n
        for _ in range(max_requests):
            if len(texts) >= n:
                break
            choices = self._request(messages, min(self.chunk_size, n - len(texts)), temperature)
            texts.extend(choice.message.content or "" for choice in choices)
        if len(texts) < n:
            raise LLMError(
                f"LLM endpoint {self.endpoint} (model {self.model}) returned only {len(texts)} of {n} answers "
                f"after {max_requests} requests"
            )
        return texts[:n]

    def _request(self, messages: list[dict], n: int, temperature: float) -> list:
        """One chat completion with our retry policy; returns its choices."""
        import openai

        last_error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            wait_s = min(MAX_BACKOFF_S, self.backoff_base_s * 2 ** (attempt - 1))
            try:
                self.requests_made += 1
                limit = {} if self.max_tokens is None else {"max_tokens": self.max_tokens}
                response = self._openai.chat.completions.create(model=self.model, messages=messages, n=n,
                                                                temperature=temperature, **limit)
                if response.usage is not None:  # some local servers leave usage out
                    self.tokens["prompt"] += response.usage.prompt_tokens or 0
                    self.tokens["completion"] += response.usage.completion_tokens or 0
                return list(response.choices or [])
            except openai.APIStatusError as error:
                if not is_retryable_status(error.status_code):
                    hint = " (check OPENAI_API_KEY)" if error.status_code in (401, 403) else ""
                    raise LLMError(
                        f"LLM endpoint {self.endpoint} (model {self.model}) refused the request with HTTP {error.status_code}"
                        f"{hint}; not retried: {error}"
                    ) from error
                last_error = error
                asked_s = retry_after_s(error.response.headers)
                if asked_s is not None:
                    wait_s = min(asked_s, MAX_BACKOFF_S)
            except openai.APIConnectionError as error:  # includes APITimeoutError
                last_error = error
            except openai.OpenAIError as error:  # e.g. a response that is not a chat completion
                raise LLMError(f"LLM endpoint {self.endpoint} (model {self.model}) gave an unusable response: {error}") from error
            if attempt < self.max_attempts:
                time.sleep(wait_s)
        raise LLMError(
            f"LLM endpoint {self.endpoint} (model {self.model}) failed after {self.max_attempts} attempts; "
            f"last error: {type(last_error).__name__}: {last_error}"
        ) from last_error
