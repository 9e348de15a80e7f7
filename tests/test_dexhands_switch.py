"""ShadowHandSwitch: switch geometry (the original criterion is out of reach), reward, success, a scripted press."""

import math

import numpy as np
import torch

import dexhands
from dexhands.props import SWITCH_RANGE
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandSwitch"]


def _keypoint_heights(env, angle: float) -> torch.Tensor:
    env.sim.qpos[:, env.scene.joint_qpos] = angle
    env.sim.forward(np.arange(env.num_envs))
    state = env._read_state()
    return torch.stack([state["switch_right_handle_pos"][0, 2], state["switch_left_handle_pos"][0, 2]])


def test_original_success_threshold_is_out_of_reach_at_both_joint_limits():
    env = dexhands.make("ShadowHandSwitch", 1, num_threads=1)
    env.reset()
    unpressed, pressed = _keypoint_heights(env, 0.0), _keypoint_heights(env, SWITCH_RANGE)
    np.testing.assert_allclose(unpressed.numpy(), [0.7108] * 2, atol=5e-4)  # numbers quoted in the task docstring
    np.testing.assert_allclose(pressed.numpy(), [0.6832] * 2, atol=5e-4)
    best = 1.4 - pressed.sum().item()
    assert 0.03 < best < 0.05  # the original 1.4 - (z_R + z_L) > 0.05 cannot hold, even fully pressed


def _state(right_tip, left_tip, z_right, z_left, angles):
    state = {"switch_right_handle_pos": torch.tensor([[0.0, 0.18, z_right]]),
             "switch_left_handle_pos": torch.tensor([[0.0, -0.22, z_left]]),
             "object_dof_pos": torch.tensor([angles])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_and_success_on_constructed_states():
    state = _state((0.0, 0.18, 0.8), (0.0, -0.22, 0.7), 0.7, 0.68, (0.5, 0.45))
    reward, success, terminate = TASK.compute_reward(state)
    expected = 2 - 5 * 0.1 - 5 * 0.02 + 50 * (1.4 - 1.38)
    assert math.isclose(reward.item(), expected, rel_tol=1e-5)
    assert success.item() and not terminate.item()  # both hinges ≥ 80 % of 0.5585 = 0.4468
    assert not TASK.extra_success(state)["success_original"].item()  # 1.4 - 1.38 = 0.02 ≤ 0.05
    state["object_dof_pos"] = torch.tensor([[0.5, 0.44]])
    assert not TASK.compute_reward(state)[1].item()  # left switch not pressed far enough
    state["switch_left_handle_pos"][0, 2] = 0.6
    assert TASK.extra_success(state)["success_original"].item()  # the formula itself, were it reachable


def test_state_names_and_observation_layout():
    env = dexhands.make("ShadowHandSwitch", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 125
    assert state["object_dof_pos"].tolist() == [[0.0, 0.0]] * 2
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.2, 0.65]] * 2, atol=1e-6)
    np.testing.assert_allclose(obs[:, 398:401].numpy(), state["object_pos"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["switch_left_handle_pos"].numpy())  # left first
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["switch_right_handle_pos"].numpy())
    assert state["switch_right_handle_pos"][0, 1] > 0 > state["switch_left_handle_pos"][0, 1]
    text = env.state_description()
    assert "switch_right_handle_pos (N, 3): point on the right switch" in text


def _press_action(state) -> torch.Tensor:
    """Scripted controller: base forces that drive the index/middle/ring tips 4 cm below each keypoint."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, side in enumerate(("right", "left")):
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf", "rf")], 1).mean(1)
        target = state[f"switch_{side}_handle_pos"] + torch.tensor([0.0, 0.0, -0.04])
        actions[:, 26 * i:26 * i + 3] = (15 * (target - tips)).clamp(-1, 1)
    return actions


def test_scripted_press_reaches_success_and_it_stays_latched_until_the_time_out():
    env = dexhands.make("ShadowHandSwitch", 2, num_threads=1)
    env.reset()
    reached = torch.zeros(2, dtype=torch.bool)
    for step in range(1, 126):
        actions = _press_action(env.state) if step <= 45 else torch.zeros(2, 52)
        _, _, terminated, truncated, info = env.step(actions)
        reached |= info["success"].bool()
        assert not terminated.any() and not info["success_original"].any()
        if reached.any():
            assert info["success"][reached].eq(1).all()  # latched
    assert reached.any()  # at least one env pressed both switches through 80 % of their travel
    assert truncated.all() and env.successes.eq(0).all()  # time-out at 125 steps, then a fresh episode
    assert env.state["object_dof_pos"].eq(0).all()


def test_toggle_limit_holds_against_a_hand_sized_push():
    import mujoco

    env = dexhands.make("ShadowHandSwitch", 1, num_threads=1)
    model, data = env.scene.model, mujoco.MjData(env.scene.model)
    dof = env.scene.joint_dof[0]
    for _ in range(120):  # 40 N·m: the base force limit (833 N) on a 5 cm lever
        data.qfrc_applied[dof] = 40.0
        mujoco.mj_step(model, data)
    assert SWITCH_RANGE < data.qpos[env.scene.joint_qpos[0]] < SWITCH_RANGE + 0.05
