"""Shared pytest fixtures."""

import pytest
from fake_llm_server import FakeLLMServer


@pytest.fixture
def fake_llm():
    """A started fake OpenAI-compatible server: `.base_url`, `.requests`, `.set_handler(fn)`; stopped afterwards."""
    server = FakeLLMServer().start()
    yield server
    server.stop()
