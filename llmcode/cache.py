"""The answer cache: LLM answers stored as plain files under `llm_outputs/<method>/<task>/`.

One folder holds:

    manifest.json          {"format": 1, "entries": [entry, ...]}, pretty-printed, in recording order
    prompt_<hash12>.md     each distinct prompt, rendered for humans and diffs
    <stem>.py|.json|.md    one answer per file, verbatim

    entry = {"prompt_hash": <sha256 hex>, "sample": 0, "position": "iter0" or null, "file": "<stem>.<ext>",
             "provenance": {"source": "recorded", "model", "endpoint", "date", "temperature"}
                        or {"source": "reference", "author", "date", "note"}}

Answers are keyed by (prompt hash, sample index). Iterative methods replay by (position, sample)
instead, because their later prompts embed earlier answers and training results that need not
repeat exactly; a changed prompt then gives a `PromptChangedWarning` and the recorded answer.
"""

from __future__ import annotations

import ast
import contextlib
import datetime
import hashlib
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from llmcode.prompts import as_messages

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
REFERENCE_AUTHOR = "clean-llm-rewards authors"
# What each provenance source must say, so that a reader can tell a model's answer from ours.
PROVENANCE_FIELDS = {
    "recorded": ("model", "endpoint", "date", "temperature"),
    "reference": ("author", "date"),
}
ENTRY_KEYS = ("prompt_hash", "sample", "position", "file", "provenance")
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
HASH_HEX = re.compile(r"[0-9a-f]{64}")


class CacheError(RuntimeError):
    """The cache folder is malformed: bad manifest, bad entry, missing answer file."""


class CacheMiss(CacheError):
    """No answer is recorded for this prompt (or position) and sample."""


class PromptChangedWarning(UserWarning):
    """A positional replay found an answer recorded for a different prompt."""


@dataclass
class Answer:
    """One sampled answer and where it came from."""

    text: str
    sample: int
    provenance: dict
    prompt_hash: str
    file: Path | None = None


def prompt_hash(messages: str | list[dict]) -> str:
    """sha256 (hex) of the messages as compact, key-sorted JSON; a plain string is one user message."""
    canonical = json.dumps(as_messages(messages), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_transcript(messages: str | list[dict]) -> str:
    """Markdown with one "## <role>" section per message: the human-readable twin of the hash."""
    sections = [f"## {m['role']}\n\n{m['content']}\n" for m in as_messages(messages)]
    return "\n".join(sections)


def answer_extension(text: str) -> str:
    """`.json` for a JSON object/list, `.py` for other text that parses as Python, `.md` otherwise.

    JSON is tried first because every JSON object or list is also a Python expression.
    """
    try:
        if isinstance(json.loads(text), dict | list):
            return ".json"
    except ValueError:
        pass
    try:
        ast.parse(text)
        return ".py"
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return ".md"


def today() -> str:
    return datetime.date.today().isoformat()


def reference_provenance(note: str = "") -> dict:
    """Provenance of an answer written for the prompt by the project's authors (not from a model API)."""
    return {"source": "reference", "author": REFERENCE_AUTHOR, "date": today(), "note": note}


def recorded_provenance(model: str, endpoint: str, temperature: float) -> dict:
    """Provenance of an answer recorded today from a model endpoint."""
    return {"source": "recorded", "model": model, "endpoint": endpoint, "date": today(), "temperature": temperature}


def validate_provenance(provenance: object, where: str) -> None:
    """Raise CacheError unless `provenance` says honestly where an answer came from."""
    if not isinstance(provenance, dict):
        raise CacheError(f"{where}: provenance must be an object, got {provenance!r:.80}")
    source = provenance.get("source")
    if source not in PROVENANCE_FIELDS:
        raise CacheError(f"{where}: provenance source must be one of {sorted(PROVENANCE_FIELDS)}, got {source!r}")
    missing = [key for key in PROVENANCE_FIELDS[source] if provenance.get(key) in (None, "")]
    if missing:
        raise CacheError(f"{where}: {source} provenance lacks {', '.join(missing)}")
    try:
        datetime.date.fromisoformat(str(provenance["date"]))
    except ValueError:
        raise CacheError(f"{where}: provenance date must be YYYY-MM-DD, got {provenance['date']!r}") from None
    if source == "recorded" and (isinstance(provenance["temperature"], bool) or not isinstance(provenance["temperature"], int | float)):
        raise CacheError(f"{where}: recorded provenance temperature must be a number, got {provenance['temperature']!r}")


def _validate_entry(entry: object, where: str) -> dict:
    """Check one manifest entry and return it with its keys in the canonical order."""
    if not isinstance(entry, dict):
        raise CacheError(f"{where}: entry must be an object, got {entry!r:.80}")
    hash_ = entry.get("prompt_hash")
    where = f"{where} (prompt hash {hash_})"
    missing = [key for key in ENTRY_KEYS if key not in entry]
    if missing:
        raise CacheError(f"{where}: entry lacks {', '.join(missing)}")
    if not isinstance(hash_, str) or not HASH_HEX.fullmatch(hash_):
        raise CacheError(f"{where}: prompt_hash must be 64 lower-case hex digits")
    if isinstance(entry["sample"], bool) or not isinstance(entry["sample"], int) or entry["sample"] < 0:
        raise CacheError(f"{where}: sample must be a non-negative integer, got {entry['sample']!r}")
    if entry["position"] is not None and not (isinstance(entry["position"], str) and SAFE_NAME.fullmatch(entry["position"])):
        raise CacheError(f"{where}: position must be null or a plain name, got {entry['position']!r}")
    # The file must stay inside the folder: a manifest is data, never a way to read elsewhere.
    if not isinstance(entry["file"], str) or not SAFE_NAME.fullmatch(entry["file"]) or entry["file"] == MANIFEST_NAME:
        raise CacheError(f"{where}: file must be a plain file name in the cache folder, got {entry['file']!r}")
    validate_provenance(entry["provenance"], where)
    return {key: entry[key] for key in ENTRY_KEYS}


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and `os.replace`, so readers see old or new, never half."""
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", newline="", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


class AnswerCache:
    """Read and write the answers of one method/task folder (see the module docstring for the format)."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.manifest_path = self.folder / MANIFEST_NAME

    def entries(self) -> list[dict]:
        """All manifest entries (validated); an absent manifest means an empty cache."""
        if not self.manifest_path.exists():
            return []
        try:
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise CacheError(f"{self.manifest_path}: not valid JSON ({error})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or not isinstance(manifest.get("entries"), list):
            raise CacheError(f'{self.manifest_path}: expected {{"format": {MANIFEST_FORMAT}, "entries": [...]}}')
        return [_validate_entry(entry, f"{self.manifest_path} entry {i}") for i, entry in enumerate(manifest["entries"])]

    def prompt_file(self, hash_: str) -> Path:
        return self.folder / f"prompt_{hash_[:12]}.md"

    def get(self, messages: str | list[dict], sample: int, position: str | None = None) -> Answer:
        """The recorded answer for (prompt, sample), or for (position, sample) when a position is given."""
        hash_ = prompt_hash(messages)
        entries = self.entries()
        entry = None
        if position is not None:
            entry = next((e for e in entries if e["position"] == position and e["sample"] == sample), None)
        if entry is None:
            same_prompt = [e for e in entries if e["prompt_hash"] == hash_ and e["sample"] == sample]
            # An entry recorded without a position is the plain answer to this prompt; prefer it.
            entry = next((e for e in same_prompt if e["position"] is None), same_prompt[0] if same_prompt else None)
        if entry is None:
            looked_for = f"position {position!r}, " if position is not None else ""
            raise CacheMiss(
                f"no recorded answer for prompt hash {hash_} ({looked_for}sample {sample}) in {self.manifest_path}"
                f"{'' if self.manifest_path.exists() else ' (the manifest does not exist)'}; "
                "run with --llm-mode record (or live) to ask a model"
            )
        if entry["prompt_hash"] != hash_:
            warnings.warn(
                f"prompt at position {position!r} changed since it was recorded: live hash {hash_}, recorded hash "
                f"{entry['prompt_hash']} (see {self.prompt_file(entry['prompt_hash'])}); replaying the recorded answer",
                PromptChangedWarning,
                stacklevel=2,
            )
        path = self.folder / entry["file"]
        try:
            with open(path, encoding="utf-8", newline="") as handle:  # newline="": give the text back verbatim
                text = handle.read()
        except FileNotFoundError:
            raise CacheError(f"{path}: answer file listed in {self.manifest_path} (prompt hash {entry['prompt_hash']}) is missing") from None
        return Answer(text=text, sample=sample, provenance=dict(entry["provenance"]), prompt_hash=entry["prompt_hash"], file=path)

    def add(self, messages: str | list[dict], sample: int, text: str, provenance: dict, position: str | None = None) -> Answer:
        """Store an answer (replacing one with the same key) and return it as `get` would."""
        hash_ = prompt_hash(messages)
        if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
            raise ValueError(f"sample must be a non-negative integer, got {sample!r}")
        if position is not None and not SAFE_NAME.fullmatch(position):
            raise ValueError(f"position must be a plain name (letters, digits, _ . -), got {position!r}")
        if not isinstance(text, str):
            raise TypeError(f"answer text must be a string, got {type(text).__name__}")
        validate_provenance(provenance, f"new entry for prompt hash {hash_} in {self.folder}")

        stem = f"{position}_s{sample}" if position is not None else f"{hash_[:12]}_s{sample}"
        entry = {
            "prompt_hash": hash_,
            "sample": sample,
            "position": position,
            "file": stem + answer_extension(text),
            "provenance": dict(provenance),
        }
        entries = self.entries()

        def same_key(old: dict) -> bool:
            if position is not None:
                return old["position"] == position and old["sample"] == sample
            return old["position"] is None and old["prompt_hash"] == hash_ and old["sample"] == sample

        replaced = [old for old in entries if same_key(old)]
        if any(old["provenance"]["source"] == "reference" for old in replaced):
            raise CacheError(f"{self.manifest_path}: will not replace the reference answer {replaced[0]['file']} "
                             "(record into another folder)")
        kept = [old for old in entries if not same_key(old)]
        # A re-recorded entry keeps its place, so the manifest diff shows a change, not a move.
        index = entries.index(replaced[0]) if replaced else len(entries)
        new_entries = kept[:index] + [entry] + kept[index:]

        # Answer and prompt first, manifest last: a crash in between leaves the old manifest valid.
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / entry["file"], text)
        prompt_path = self.prompt_file(hash_)
        transcript = render_transcript(messages)
        if not prompt_path.exists() or prompt_path.read_text(encoding="utf-8") != transcript:
            write_atomic(prompt_path, transcript)
        manifest = {"format": MANIFEST_FORMAT, "entries": new_entries}
        write_atomic(self.manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        self._remove_orphans(replaced, new_entries)
        return Answer(text=text, sample=sample, provenance=dict(provenance), prompt_hash=hash_, file=self.folder / entry["file"])

    def _remove_orphans(self, replaced: list[dict], entries: list[dict]) -> None:
        """Delete answer and prompt files that only the replaced entries referred to."""
        live_files = {e["file"] for e in entries}
        live_hashes = {e["prompt_hash"] for e in entries}
        for old in replaced:
            if old["file"] not in live_files:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / old["file"]).unlink()
            if old["prompt_hash"] not in live_hashes:
                with contextlib.suppress(FileNotFoundError):
                    self.prompt_file(old["prompt_hash"]).unlink()
