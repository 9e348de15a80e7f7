"""The answer cache: format, lookups, clear errors, positional replay, atomic writes."""

import hashlib
import json

import pytest

import llmcode.cache as cache_module
from llmcode.cache import (
    AnswerCache,
    CacheError,
    CacheMiss,
    PromptChangedWarning,
    answer_extension,
    prompt_hash,
    recorded_provenance,
    reference_provenance,
)
from llmcode.prompts import chat

PROMPT = chat("You write reward functions.", "Task: spin the pen.")
CODE = "def compute_reward(state):\n    return state['x'] * 2\n"


def recorded():
    return recorded_provenance("test-model", "http://127.0.0.1:1/v1", 1.0)


def test_prompt_hash_is_sha256_of_canonical_json():
    canonical = json.dumps(PROMPT, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert prompt_hash(PROMPT) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert prompt_hash("hi") == prompt_hash([{"role": "user", "content": "hi"}])
    assert prompt_hash("hi") != prompt_hash("hi ")
    assert prompt_hash("ü") == hashlib.sha256('[{"content":"ü","role":"user"}]'.encode()).hexdigest()


@pytest.mark.parametrize(
    "text, extension",
    [(CODE, ".py"), ('{"rewards": [1, 2]}', ".json"), ("[1, 2]", ".json"), ("Here is the code:\n```python\nx = 1\n```", ".md"),
     ("42", ".py")],
)
def test_extension_by_content(text, extension):
    assert answer_extension(text) == extension


def test_add_then_get_round_trip_and_files(tmp_path):
    cache = AnswerCache(tmp_path / "eureka" / "pen")
    added = cache.add(PROMPT, 0, CODE, recorded())
    cache.add(PROMPT, 1, "Sure!\n```python\nx = 1\n```\n", reference_provenance("written by hand"))
    hash_ = prompt_hash(PROMPT)

    got = cache.get(PROMPT, 0)
    assert got.text == CODE and got.sample == 0 and got.prompt_hash == hash_
    assert got.provenance == recorded() and got.file == added.file
    assert cache.get(PROMPT, 1).provenance["source"] == "reference"

    folder = tmp_path / "eureka" / "pen"
    assert (folder / f"{hash_[:12]}_s0.py").read_text() == CODE
    assert (folder / f"{hash_[:12]}_s1.md").exists()
    assert (folder / f"prompt_{hash_[:12]}.md").read_text().startswith("## system\n\nYou write reward functions.\n\n## user\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == 1
    assert [(e["sample"], e["position"], e["file"]) for e in manifest["entries"]] == [
        (0, None, f"{hash_[:12]}_s0.py"),
        (1, None, f"{hash_[:12]}_s1.md"),
    ]
    assert sorted(p.name for p in folder.iterdir()) == sorted(["manifest.json", f"prompt_{hash_[:12]}.md", f"{hash_[:12]}_s0.py",
                                                              f"{hash_[:12]}_s1.md"])


def test_miss_names_hash_and_manifest(tmp_path):
    cache = AnswerCache(tmp_path)
    with pytest.raises(CacheMiss, match=rf"{prompt_hash(PROMPT)}.*manifest\.json.*does not exist"):
        cache.get(PROMPT, 0)
    cache.add(PROMPT, 0, CODE, recorded())
    with pytest.raises(CacheMiss, match=r"sample 1"):
        cache.get(PROMPT, 1)
    with pytest.raises(CacheMiss, match=prompt_hash("other prompt")):
        cache.get("other prompt", 0)


def test_malformed_manifest_is_clear(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CacheError, match=r"manifest\.json: not valid JSON"):
        AnswerCache(tmp_path).get(PROMPT, 0)
    (tmp_path / "manifest.json").write_text('{"format": 2, "entries": []}', encoding="utf-8")
    with pytest.raises(CacheError, match=r"expected"):
        AnswerCache(tmp_path).entries()


def _rewrite_entry(folder, **changes):
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            del manifest["entries"][0][key]
        else:
            manifest["entries"][0][key] = value
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"provenance": {"source": "made-up", "date": "2025-01-01"}}, "source must be one of"),
        ({"provenance": {"source": "recorded", "model": "m", "date": "2025-01-01", "temperature": 1.0}}, "lacks endpoint"),
        ({"provenance": {"source": "reference", "author": "a", "date": "yesterday"}}, "YYYY-MM-DD"),
        ({"file": "../escape.py"}, "plain file name"),
        ({"sample": None}, "lacks sample"),
    ],
)
def test_bad_entry_names_manifest_and_hash(tmp_path, changes, message):
    cache = AnswerCache(tmp_path)
    cache.add(PROMPT, 0, CODE, recorded())
    _rewrite_entry(tmp_path, **changes)
    with pytest.raises(CacheError, match=message) as error:
        cache.get(PROMPT, 0)
    assert "manifest.json" in str(error.value) and prompt_hash(PROMPT) in str(error.value)


def test_missing_answer_file_is_clear(tmp_path):
    cache = AnswerCache(tmp_path)
    answer = cache.add(PROMPT, 0, CODE, recorded())
    answer.file.unlink()
    with pytest.raises(CacheError, match=rf"{answer.file.name}.*missing") as error:
        cache.get(PROMPT, 0)
    assert prompt_hash(PROMPT) in str(error.value)
    assert not isinstance(error.value, CacheMiss)


def test_add_validates_provenance(tmp_path):
    cache = AnswerCache(tmp_path)
    with pytest.raises(CacheError, match="lacks model, endpoint"):
        cache.add(PROMPT, 0, CODE, {"source": "recorded", "date": "2025-01-01", "temperature": 1.0})
    with pytest.raises(CacheError, match="lacks author"):
        cache.add(PROMPT, 0, CODE, {"source": "reference", "date": "2025-01-01"})
    with pytest.raises(ValueError, match="position"):
        cache.add(PROMPT, 0, CODE, recorded(), position="../iter0")
    assert not any(tmp_path.iterdir())


def test_positional_replay_warns_when_prompt_changed(tmp_path):
    cache = AnswerCache(tmp_path)
    cache.add(chat("sys", "feedback: success 0.10"), 0, CODE, recorded(), position="iter1")
    assert (tmp_path / "iter1_s0.py").exists()

    changed = chat("sys", "feedback: success 0.12")
    with pytest.warns(PromptChangedWarning, match=r"iter1.*" + prompt_hash(changed)) as record:
        answer = cache.get(changed, 0, position="iter1")
    assert answer.text == CODE
    assert f"prompt_{prompt_hash(chat('sys', 'feedback: success 0.10'))[:12]}.md" in str(record[0].message)

    with pytest.raises(CacheMiss, match="position 'iter2'"):
        cache.get(changed, 0, position="iter2")


def test_positional_replay_without_change_is_silent(tmp_path, recwarn):
    cache = AnswerCache(tmp_path)
    cache.add(PROMPT, 0, CODE, recorded(), position="iter0")
    assert cache.get(PROMPT, 0, position="iter0").text == CODE
    assert not [w for w in recwarn if issubclass(w.category, PromptChangedWarning)]


def test_rerecording_replaces_entry_and_file(tmp_path):
    cache = AnswerCache(tmp_path)
    cache.add("first prompt", 0, CODE, recorded(), position="iter0")
    cache.add("other", 0, "x = 1", recorded())
    cache.add("second prompt", 0, "Plain prose answer.", recorded(), position="iter0")

    entries = cache.entries()
    assert [e["file"] for e in entries] == ["iter0_s0.md", f"{prompt_hash('other')[:12]}_s0.py"]
    assert not (tmp_path / "iter0_s0.py").exists()
    assert not (tmp_path / f"prompt_{prompt_hash('first prompt')[:12]}.md").exists()
    assert cache.get("second prompt", 0, position="iter0").text == "Plain prose answer."


@pytest.mark.parametrize("crash_on", ["manifest.json", "new_s0.py"])
def test_writes_leave_no_temp_files_and_crash_keeps_old_manifest(tmp_path, monkeypatch, crash_on):
    cache = AnswerCache(tmp_path)
    cache.add(PROMPT, 0, CODE, recorded())
    cache.add(PROMPT, 1, "y = 2", recorded())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    old_manifest = (tmp_path / "manifest.json").read_text()

    real_write = cache_module.write_atomic

    def crashing_write(path, text):
        if path.name == crash_on:
            raise OSError(f"simulated crash while writing {path.name}")
        real_write(path, text)

    monkeypatch.setattr(cache_module, "write_atomic", crashing_write)
    with pytest.raises(OSError, match="simulated crash"):
        cache.add("a new prompt", 0, "z = 3", recorded(), position="new")
    monkeypatch.undo()

    assert (tmp_path / "manifest.json").read_text() == old_manifest
    assert cache.get(PROMPT, 1).text == "y = 2"
    with pytest.raises(CacheMiss):
        cache.get("a new prompt", 0, position="new")


def test_failed_write_removes_its_temp_file(tmp_path, monkeypatch):
    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        AnswerCache(tmp_path).add(PROMPT, 0, CODE, recorded())
    assert list(tmp_path.iterdir()) == []


def test_text_is_stored_verbatim(tmp_path):
    cache = AnswerCache(tmp_path)
    text = "line one\r\nline two\n\n  trailing spaces  \nünïcode ✓"
    cache.add(PROMPT, 0, text, reference_provenance())
    assert cache.get(PROMPT, 0).text == text
