"""Prompt templates and chat messages.

Templates are plain text files under `prompts/` with `$name` / `${name}` placeholders
(`string.Template`). Prompts quote Python code full of braces, so `str.format` would be a trap;
a literal dollar sign is written `$$`.
"""

from __future__ import annotations

import string
from pathlib import Path

# Relative template paths are tried against the current folder first, then the repository root,
# so that a script finds `prompts/...` whatever folder it is started from.
REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_SUFFIXES = (".txt", ".md", ".prompt", ".tmpl")


class PromptError(ValueError):
    """A template could not be found or filled."""


def _looks_like_path(template: str) -> bool:
    """A one-word string ending in a template suffix is a file name, anything else is template text."""
    return not any(ch.isspace() for ch in template) and "$" not in template and template.endswith(TEMPLATE_SUFFIXES)


def _resolve_template_path(path: Path) -> Path:
    candidates = [path] if path.is_absolute() else [path, REPO_ROOT / path]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise PromptError(f"prompt template {str(path)!r} does not exist (looked for: {tried})")


def load_template(template: str | Path) -> tuple[str, str]:
    """Return (template text, name used in error messages) for a path or for inline template text."""
    if isinstance(template, Path) or _looks_like_path(template):
        path = _resolve_template_path(Path(template))
        return path.read_text(encoding="utf-8"), str(template)
    first_line = template.strip().splitlines()[0][:60] if template.strip() else ""
    return template, f"<inline template starting {first_line!r}>"


def render_prompt(template: str | Path, **fields: object) -> str:
    """Fill a template's `$name` placeholders with `fields` (values are converted with `str`).

    `template` is a `Path`, a file name such as `"prompts/eureka/initial.txt"`, or the template
    text itself. A placeholder without a field is an error naming the template and the field;
    fields that the template does not use are allowed, so callers can pass one shared dict.
    """
    text, name = load_template(template)
    try:
        return string.Template(text).substitute({key: str(value) for key, value in fields.items()})
    except KeyError as missing:
        given = ", ".join(sorted(fields)) or "none"
        raise PromptError(f"prompt template {name} needs field {missing.args[0]!r}, which was not given (given: {given})") from None
    except ValueError as bad:
        # string.Template raises ValueError for a `$` not followed by a name, e.g. "$5"
        raise PromptError(f"prompt template {name} has an invalid placeholder ({bad}); write a literal $ as $$") from None


def chat(system: str | None, user: str) -> list[dict[str, str]]:
    """Messages for a chat completion: an optional system message, then the user message."""
    messages = [] if system is None else [{"role": "system", "content": system}]
    messages.append({"role": "user", "content": user})
    return messages


def as_messages(messages: str | list[dict]) -> list[dict[str, str]]:
    """Normalise a prompt to a list of {"role", "content"} dicts; a plain string is one user message."""
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    if not isinstance(messages, list | tuple) or not messages:
        raise TypeError(f"messages must be a string or a non-empty list of {{'role', 'content'}} dicts, got {messages!r:.80}")
    normalised = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) or not isinstance(message.get("content"), str):
            raise TypeError(f"message {index} must be a dict with string 'role' and 'content', got {message!r:.80}")
        # Only role and content take part in the prompt hash; extra keys would make equal prompts differ.
        normalised.append({"role": message["role"], "content": message["content"]})
    return normalised
