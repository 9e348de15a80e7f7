"""ShadowHandGraspAndPlace: layout and observation, reward/success/reset on constructed states, a scripted push."""

import math

import numpy as np
import torch

import dexhands
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandGraspAndPlace"]


def test_layout_and_observation():
    env = dexhands.make("ShadowHandGraspAndPlace", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 425) and env.act_dim == 52 and env.episode_length == 500
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.2, 0.65]] * 2, atol=1e-4)  # the bucket
    np.testing.assert_allclose(state["block_left_handle_pos"].numpy(), [[0.0, -0.2, 0.625]] * 2, atol=1e-4)
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["block_right_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:418].numpy(), state["block_right_handle_rot"].numpy())
    np.testing.assert_allclose(obs[:, 418:421].numpy(), state["block_left_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 421:425].numpy(), state["block_left_handle_rot"].numpy())
    reward, success, terminate = TASK.compute_reward(state)
    assert not success.any() and not terminate.any()
    for _ in range(20):  # both objects rest on the table
        env.step(torch.zeros(2, 52))
    np.testing.assert_allclose(env.state["object_pos"][:, 2].numpy(), [0.65] * 2, atol=2e-3)
    np.testing.assert_allclose(env.state["block_left_handle_pos"][:, 2].numpy(), [0.625] * 2, atol=2e-3)


def _state(bucket, cube, right_tip, left_tip):
    state = {"block_right_handle_pos": torch.tensor([bucket]), "block_left_handle_pos": torch.tensor([cube])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    state = _state((0.0, 0.2, 0.65), (0.0, -0.2, 0.625), (0.0, 0.2, 0.75), (0.0, -0.2, 0.665))  # f 0.5 / 0.2
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), math.exp(-5) + math.exp(-2) + 2 * math.exp(-10 * math.hypot(0.4, 0.025)),
                        rel_tol=1e-5)
    assert not success.item() and not terminate.item()
    state = _state((0.0, 0.05, 0.65), (0.0, -0.1, 0.65), (0.0, 0.05, 0.65), (0.0, -0.1, 0.65))  # 0.15 apart
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), 2 + 2 * math.exp(-1.5), rel_tol=1e-5) and success.item()
    state = _state((0.0, 0.2, 0.65), (0.0, -0.2, 0.625), (0.0, 0.2, 0.95), (0.0, -0.2, 0.625))  # right f 1.5
    assert TASK.compute_reward(state)[2].item()


def _push_action(state, step) -> torch.Tensor:
    """Scripted push: the left hand's fingertips behind the cube (y side away from the bucket), down to its centre
    height, then on through the cube towards the bucket, steering round it; the right hand stays put."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    tips = torch.stack([state[f"left_hand_{f}_pos"] for f in ("ff", "mf", "rf")], 1).mean(1)
    cube = state["block_left_handle_pos"]
    if step < 25:
        target = cube + torch.tensor([0.0, -0.07, 0.06])
    elif step < 45:
        target = cube + torch.tensor([0.0, -0.07, 0.0])
    else:
        heading = state["block_right_handle_pos"] - cube
        heading[:, 2] = 0.0
        heading = heading / heading.norm(dim=-1, keepdim=True)
        behind = cube - 0.045 * heading
        # Steer: stay on the line behind the cube, then drive 3 cm into it.
        target = torch.where((tips - behind).norm(dim=-1, keepdim=True) > 0.02, behind, cube + 0.03 * heading)
    actions[:, 26:29] = (10 * (target - tips)).clamp(-0.5, 0.5)
    return actions


def test_scripted_push_brings_the_cube_to_the_bucket():
    env = dexhands.make("ShadowHandGraspAndPlace", 2, num_threads=1)
    env.reset()
    for step in range(120):
        _, _, terminated, _, info = env.step(_push_action(env.state, step))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all()
