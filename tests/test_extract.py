"""Code and JSON come out of LLM answers in the shapes LLMs really write them."""

import pytest

from llmcode.extract import extract_code, extract_json
from llmcode.safe_runner import LLMCodeRefused


def test_python_blocks_are_joined_in_order():
    answer = (
        "Here is a helper:\n```python\ndef helper(x):\n    return x * 2\n```\n"
        "And the reward:\n```python\ndef compute_reward(x):\n    return helper(x)\n```\nThis should work well."
    )
    code = extract_code(answer)
    assert code.index("def helper") < code.index("def compute_reward")
    assert "This should work" not in code and "```" not in code


def test_python_block_wins_over_generic_block():
    answer = "Output:\n```\nreward = 1.0\n```\nCode:\n```python\ndef f():\n    return 1\n```"
    assert extract_code(answer) == "def f():\n    return 1\n"


def test_generic_fence_and_tilde_fence():
    assert extract_code("Sure.\n```\ndef f():\n    return 1\n```\n") == "def f():\n    return 1\n"
    assert extract_code("~~~py\ndef g():\n    return 2\n~~~") == "def g():\n    return 2\n"


def test_bare_code_answer():
    assert extract_code("def f(x):\n    return x\n") == "def f(x):\n    return x\n"


@pytest.mark.parametrize("answer", ["", "I cannot help with that.", "Use an exponential reward on the distance: it works."])
def test_no_code_is_a_clear_error(answer):
    with pytest.raises(LLMCodeRefused, match="No Python code found"):
        extract_code(answer)


def test_json_in_fence_with_prose_and_raw_newlines_in_strings():
    # LaRe-style answer: the code inside a JSON string, often with literal newlines (not strictly valid JSON).
    answer = (
        'My analysis follows.\n```json\n{"Understand": "hop forward", "Analyze": "height matters",\n'
        ' "Functions": "import numpy as np\ndef evaluation_func(observation, action):\n    return [observation[:, 0:1]]"}\n```'
    )
    parsed = extract_json(answer)
    assert set(parsed) == {"Understand", "Analyze", "Functions"}
    assert "def evaluation_func" in extract_code(parsed["Functions"])


def test_json_without_fence():
    assert extract_json('Answer: {"label": 1, "reason": "useful message"} Done.') == {"label": 1, "reason": "useful message"}


@pytest.mark.parametrize("answer", ["no json here", "```json\n[1, 2]\n```", '{"a": 1,,}'])
def test_invalid_json_is_a_clear_error(answer):
    with pytest.raises(LLMCodeRefused, match="No valid JSON object"):
        extract_json(answer)
