"""Repository-level contracts: the README's test command is what CI runs, and every script has a smoke test."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    """The command in the first code block after the line 'Run the tests:' in README.md."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"Run the tests:\s*```bash\n(.+?)\n```", text, re.S)
    assert match, "README.md must show the test command in a ```bash block after 'Run the tests:'"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    command = readme_test_command()
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert command in ci_lines, f".ci/run must run the README's test command {command!r} on a line of its own"


def test_every_algo_script_has_a_smoke_test():
    tests_text = "\n".join(p.read_text() for p in (ROOT / "tests").glob("test_*.py"))
    scripts = sorted((ROOT / "algos").glob("*.py"))
    missing = [s.name for s in scripts if s.name not in tests_text]
    assert not missing, f"scripts in algos/ without a test that names them: {missing}"


def test_every_shipped_llm_answer_has_valid_provenance_and_file():
    from llmcode.cache import AnswerCache

    for manifest in sorted((ROOT / "llm_outputs").rglob("manifest.json")):
        cache = AnswerCache(manifest.parent)
        entries = cache.entries()  # validates the manifest: keys, provenance, files present
        assert entries, f"{manifest} has no entries"
        for entry in entries:
            assert entry["provenance"]["source"] in ("recorded", "reference")
            assert (manifest.parent / entry["file"]).is_file()
