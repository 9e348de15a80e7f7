"""Pull the code or the JSON object out of an LLM answer (markdown fences, prose around them)."""

import ast
import json
import re

from llmcode.errors import LLMCodeRefused

# A fenced block: ``` or ~~~, an optional language tag, the body, the closing fence.
_FENCE = re.compile(r"(?P<fence>```|~~~)[ \t]*(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)(?P=fence)", re.DOTALL)


def _blocks(answer_text: str) -> list[tuple[str, str]]:
    return [(m.group("lang").lower(), m.group("body")) for m in _FENCE.finditer(answer_text)]


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def extract_code(answer_text: str) -> str:
    """The Python code an LLM answer contains.

    Order of preference: every ```python block (joined in order), else the first generic fenced block,
    else the whole answer if it parses as Python. Raises `LLMCodeRefused` when none is found.
    """
    blocks = _blocks(answer_text)
    python_blocks = [body for lang, body in blocks if lang in ("python", "py", "python3")]
    if python_blocks:
        return "\n\n".join(block.strip("\n") for block in python_blocks) + "\n"
    generic_blocks = [body for lang, body in blocks if lang == ""]
    if generic_blocks:
        return generic_blocks[0].strip("\n") + "\n"
    if answer_text.strip() and _parses(answer_text):
        return answer_text.strip("\n") + "\n"
    raise LLMCodeRefused(
        "No Python code found in the answer. Put the complete code in one ```python ... ``` block."
    )


def extract_json(answer_text: str) -> dict:
    """The JSON object an LLM answer contains: a ```json block, any fenced block, the whole text, or the outermost {...}."""
    blocks = _blocks(answer_text)
    candidates = [body for lang, body in blocks if lang == "json"] + [body for lang, body in blocks if lang != "json"]
    candidates.append(answer_text)
    start, end = answer_text.find("{"), answer_text.rfind("}")
    if 0 <= start < end:
        candidates.append(answer_text[start : end + 1])
    last_error = "no JSON object found"
    for candidate in candidates:
        try:
            value = json.loads(candidate, strict=False)  # strict=False: LLMs put raw newlines in code strings
        except json.JSONDecodeError as error:
            last_error = f"{error.msg} at line {error.lineno}, column {error.colno}"
            continue
        if isinstance(value, dict):
            return value
        last_error = f"expected a JSON object {{...}}, got {type(value).__name__}"
    raise LLMCodeRefused(f"No valid JSON object found in the answer ({last_error}). Answer with one ```json {{...}} ``` block.")
