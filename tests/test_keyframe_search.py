"""benchmark/keyframe_search.py, the search behind the solvability demos: keyframe timing, the cross-entropy method on
a problem with a known optimum, and restarting a search env's rows at the demo env's reset states."""

import sys
from pathlib import Path

import numpy as np
import torch

import dexhands

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmark"))
from keyframe_search import cross_entropy_search, keyframe_index, reset_snapshot, restart_rows  # noqa: E402


def test_keyframe_index_holds_each_keyframe_and_then_the_last():
    assert keyframe_index(4, start=5, hold=3, keyframes=2) is None
    assert [keyframe_index(s, start=5, hold=3, keyframes=2) for s in range(5, 13)] == [0, 0, 0, 1, 1, 1, 1, 1]


def test_cross_entropy_search_finds_a_known_optimum_and_never_loses_its_best():
    target = torch.tensor([[0.5, -0.25], [0.0, 0.75]])
    bests = []
    keys, score, iterations = cross_entropy_search(
        lambda k: ((k - target) ** 2).sum(dim=(1, 2)), torch.zeros(2, 2), torch.full((2, 2), 0.5), population=64,
        elites=8, iterations=15, generator=torch.Generator().manual_seed(0), min_std=0.01,
        report=lambda it, best, elite: bests.append(best))
    assert iterations == 15 and torch.allclose(keys, target, atol=0.05) and score < 5e-3
    assert all(later <= earlier for earlier, later in zip(bests, bests[1:]))


def test_restart_rows_puts_every_row_back_at_its_start():
    snapshot = reset_snapshot("ShadowHandOver", 2, seed=3, num_threads=1)
    env = dexhands.make("ShadowHandOver", 6, seed=0, num_threads=1)
    env.reset()
    for _ in range(3):
        env.step(torch.rand(6, env.act_dim) * 2 - 1)
    restart_rows(env, snapshot)
    np.testing.assert_array_equal(env.sim.state, np.tile(snapshot[0], (3, 1)))  # row p · 2 + e starts at start e
    assert not env.progress_buf.any() and not env.successes.any()
    torch.testing.assert_close(env.state["object_pos"][0::2], env.state["object_pos"][0:1].expand(3, 3))
