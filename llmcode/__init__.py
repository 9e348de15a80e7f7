"""Plumbing shared by the scripts: asking an LLM (or replaying its recorded answers) and running LLM code safely."""

from llmcode.cache import (
    Answer,
    AnswerCache,
    CacheError,
    CacheMiss,
    PromptChangedWarning,
    prompt_hash,
    recorded_provenance,
    reference_provenance,
)
from llmcode.client import LLMClient, LLMError
from llmcode.extract import extract_code, extract_json
from llmcode.prompts import PromptError, chat, render_prompt
from llmcode.safe_runner import (
    LLMCodeError,
    LLMCodeFailed,
    LLMCodeRefused,
    SafeFunction,
    check_tensor,
    compile_llm_function,
)

__all__ = [
    "Answer", "AnswerCache", "CacheError", "CacheMiss", "PromptChangedWarning", "prompt_hash", "recorded_provenance",
    "reference_provenance", "LLMClient", "LLMError", "extract_code", "extract_json", "PromptError", "chat", "render_prompt",
    "LLMCodeError", "LLMCodeFailed", "LLMCodeRefused", "SafeFunction", "check_tensor", "compile_llm_function",
]
