"""Prompt templates: `$name` placeholders, clear errors, chat messages."""

import pytest

from llmcode.prompts import PromptError, as_messages, chat, render_prompt


def test_fills_placeholders_and_leaves_braces_alone():
    template = "Task: $task\nState: ${state}\ndef f(x):\n    return {'a': x}\ncost: $$5"
    text = render_prompt(template, task="Spin the pen", state="object_pos (N, 3)")
    assert text == "Task: Spin the pen\nState: object_pos (N, 3)\ndef f(x):\n    return {'a': x}\ncost: $5"


def test_reads_template_file_and_converts_values(tmp_path):
    path = tmp_path / "initial.txt"
    path.write_text("iterations: $n, code:\n{ $code }\n", encoding="utf-8")
    assert render_prompt(path, n=3, code="x = 1") == "iterations: 3, code:\n{ x = 1 }\n"
    assert render_prompt(str(path), n=3, code="y") == "iterations: 3, code:\n{ y }\n"


def test_missing_field_names_template_and_field(tmp_path):
    path = tmp_path / "reflect.txt"
    path.write_text("feedback: $feedback and $code", encoding="utf-8")
    with pytest.raises(PromptError, match=r"reflect\.txt.*'feedback'"):
        render_prompt(path, code="x")


def test_missing_template_file_is_clear():
    with pytest.raises(PromptError, match=r"does not exist.*no_such_prompt\.txt"):
        render_prompt("prompts/no_such_prompt.txt", task="x")


def test_invalid_placeholder_is_clear():
    with pytest.raises(PromptError, match=r"\$\$"):
        render_prompt("price: $5 for $item", item="pen")


def test_chat_and_as_messages():
    assert chat(None, "hi") == [{"role": "user", "content": "hi"}]
    assert chat("sys", "hi") == [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
    assert as_messages("hi") == [{"role": "user", "content": "hi"}]
    assert as_messages([{"role": "user", "content": "hi", "name": "x"}]) == [{"role": "user", "content": "hi"}]
    with pytest.raises(TypeError, match="message 0"):
        as_messages([{"role": "user"}])
    with pytest.raises(TypeError):
        as_messages([])
