"""PushBlock and BlockStack: layout and observations, rewards/success grades/resets on constructed states, a scripted push."""

import math

import numpy as np
import pytest
import torch

import dexhands
from dexhands.tasks import TASK_CONFIGS

PUSH, STACK = TASK_CONFIGS["ShadowHandPushBlock"], TASK_CONFIGS["ShadowHandBlockStack"]


@pytest.mark.parametrize("task,episode,filled", [("ShadowHandPushBlock", 125, 423), ("ShadowHandBlockStack", 250, 424)])
def test_layout_and_observation(task, episode, filled):
    env = dexhands.make(task, 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 428) and obs.dtype == torch.float32 and env.act_dim == 52
    assert env.episode_length == episode and obs[:, filled:].eq(0).all()  # declared 428, zero padded
    y = 0.2 if "Push" in task else 0.1
    np.testing.assert_allclose(state["block_right_handle_pos"].numpy(), [[0, y, 0.625]] * 2, atol=1e-3)
    np.testing.assert_allclose(state["block_left_handle_pos"].numpy(), [[0, -y, 0.625]] * 2, atol=1e-3)
    np.testing.assert_allclose(obs[:, 398:405].numpy(), state["object_pose"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["block_right_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["block_left_handle_pos"].numpy())
    assert not env.task.compute_reward(state)[2].any()  # the start is not a reset state
    assert "block_left_handle_pos (N, 3): left block" in env.state_description()


def _state(right_block, left_block, right_tip, left_tip, task):
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    state = {"object_pos": t(right_block), "object_another_pos": t(left_block)}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = t(right_tip)
        state[f"left_hand_{finger}_pos"] = t(left_tip)
    task.add_task_state(state, {}, None, None)
    return state


def test_push_block_reward_success_grades_and_reset():
    state = _state((-0.2, 0.2, 0.625), (-0.15, -0.2, 0.625), (-0.2, 0.2, 0.725), (-0.15, -0.2, 0.675), PUSH)
    reward, success, terminate = PUSH.compute_reward(state)
    assert math.isclose(reward.item(), (1.2 - 0.5) + (1.2 - 0.25) + 5 - 5 * 0.05, rel_tol=1e-5)
    assert success.item() == 1.0 and not terminate.item()
    state = _state((-0.05, 0.2, 0.625), (-0.15, -0.2, 0.625), (-0.05, 0.2, 0.725), (-0.15, -0.2, 0.675), PUSH)
    assert PUSH.compute_reward(state)[1].item() == 0.5  # only the left block at its goal
    state = _state((-0.2, 0.2, 0.625), (0.0, -0.2, 0.625), (-0.2, 0.2, 0.725), (0.0, -0.2, 0.675), PUSH)
    assert PUSH.compute_reward(state)[1].item() == 0.0  # only the right one: no credit
    state = _state((-0.2, 0.2, 0.625), (0.0, -0.2, 0.625), (-0.2, 0.2, 0.87), (0.0, -0.2, 0.675), PUSH)
    assert PUSH.compute_reward(state)[2].item()  # right fingersum 1.225 ≥ 1.2


def test_block_stack_reward_bonus_and_reset():
    state = _state((0.0, 0.0, 0.625), (0.0, 0.0, 0.685), (0.0, 0.0, 0.665), (0.0, 0.0, 0.705), STACK)
    reward, success, terminate = STACK.compute_reward(state)
    bonus = 50 * (0.05 - 0.01)
    assert math.isclose(reward.item(), 1.5 - 0.2 - 0.1 + 2 * (0.24 - 0.01) + bonus, rel_tol=1e-5)
    assert success.item() and not terminate.item()
    state = _state((0.0, 0.0, 0.625), (0.0, 0.0, 0.71), (0.0, 0.0, 0.665), (0.0, 0.0, 0.75), STACK)
    assert not STACK.compute_reward(state)[1].item()  # 3.5 cm too high: bonus 0.75
    state = _state((0.0, 0.1, 0.625), (0.0, -0.1, 0.625), (0.0, 0.1, 0.785), (0.0, -0.1, 0.665), STACK)
    reward, success, terminate = STACK.compute_reward(state)  # blocks at their starts, right fingersum 0.8
    assert math.isclose(reward.item(), 1.5 - 0.8 - 0.2, rel_tol=1e-5)  # right hand not near: no stacking terms
    assert terminate.item() and not success.item()


def _push_action(state, step) -> torch.Tensor:
    """Scripted push: tips behind each block and above it, down to its centre height, then on to 2 cm past the goal."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, side in enumerate(("right", "left")):
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf", "rf")], 1).mean(1)
        block = state[f"block_{side}_handle_pos"]
        if step < 25:
            target = block + torch.tensor([0.07, 0.0, 0.06])
        elif step < 45:
            target = block + torch.tensor([0.07, 0.0, 0.0])
        else:
            target = state[f"{side}_goal_pos"] + torch.tensor([0.02, 0.0, 0.0])
        actions[:, 26 * i:26 * i + 3] = (10 * (target - tips)).clamp(-1, 1)
    return actions


def test_scripted_push_reaches_full_success():
    env = dexhands.make("ShadowHandPushBlock", 2, num_threads=1)
    env.reset()
    best = torch.zeros(2)
    for step in range(80):
        _, _, terminated, _, info = env.step(_push_action(env.state, step))
        assert not terminated.any()
        best = torch.maximum(best, info["success"])
    assert best.eq(1.0).all()


def _tip_centre(state, side, fingers=("ff", "mf", "rf", "lf", "th")) -> torch.Tensor:
    return torch.stack([state[f"{side}_hand_{f}_pos"] for f in fingers], 1).mean(1)


def test_short_grasp_search_stacks_once():
    """BlockStack solvability by a short random search over left-hand grasps (fixed seed, one batch of envs).

    Every env runs the same script except the left hand's 20 finger targets (one set while approaching, one while
    closing and lifting) and its fingertip-centre offset from the cube: the right hand pushes its cube to y ≈ 0.05
    (within 7 cm of the bottom target); the left hand's fingertip centre goes to its cube, the fingers close, and the
    hand carries the cube up 7.5 cm and 6.5 cm towards the centre. Fingertip-centre control keeps both fingersums
    under the 0.75 reset limit; only envs that never ended count, so a success is a latched stack in one episode.
    """
    n = 64
    gen = torch.Generator().manual_seed(0)
    uniform = lambda *shape: 2 * torch.rand(*shape, generator=gen) - 1  # noqa: E731
    offset = uniform(n, 3) * torch.tensor([0.03, 0.03, 0.02]) + torch.tensor([0.0, 0.0, 0.02])
    open_fingers, closed_fingers = uniform(n, 20), uniform(n, 20)
    lift = torch.tensor([0.0, -0.035, 0.70]) + uniform(n, 3) * torch.tensor([0.0, 0.01, 0.02])
    env = dexhands.make("ShadowHandBlockStack", n, num_threads=4)
    env.reset()
    alive = torch.ones(n, dtype=torch.bool)
    stacked = torch.zeros(n, dtype=torch.bool)
    for step in range(110):
        state = env.state
        actions = torch.zeros(n, 52)
        block = state["block_right_handle_pos"]
        if step < 20:
            target = block + torch.tensor([0.0, 0.05, 0.0])  # fingertips behind the right cube (+y side)
        else:
            target = torch.tensor([0.0, 0.1 if step < 40 else 0.078, 0.625])  # down to the table, push to -y
        actions[:, 0:3] = (10 * (target - _tip_centre(state, "right", ("ff", "mf", "rf")))).clamp(-1, 1)
        target = (state["block_left_handle_pos"] if step < 50 else lift) + offset
        actions[:, 26:29] = (10 * (target - _tip_centre(state, "left"))).clamp(-1, 1)
        actions[:, 32:52] = open_fingers if step < 30 else closed_fingers
        _, _, _, _, info = env.step(actions)
        alive &= ~info["episode_end"]
        stacked |= alive & info["success"].bool()
    assert stacked.any()
    assert stacked.sum() < n  # the grasp matters: not every finger setting lifts the cube
