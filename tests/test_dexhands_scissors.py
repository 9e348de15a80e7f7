"""ShadowHandScissors: geometry and layout, reward/success/reset on constructed states, a scripted opening."""

import math

import numpy as np
import torch

import dexhands
from dexhands.tasks import TASK_CONFIGS
from dexhands.tool_props import (
    SCISSORS_BLADE_LENGTH,
    SCISSORS_LEG_THICKNESS,
    SCISSORS_LOOP_CENTRE,
    SCISSORS_LOOP_RADIUS,
    SCISSORS_LOOP_ROD,
    SCISSORS_RANGE,
)

TASK = TASK_CONFIGS["ShadowHandScissors"]


def _loop_gap(env, angle: float) -> torch.Tensor:
    env.sim.qpos[:, env.scene.joint_qpos] = angle
    env.sim.forward(np.arange(env.num_envs))
    state = env._read_state()
    return state["scissors_right_handle_pos"][0] - state["scissors_left_handle_pos"][0]


def test_start_state_layout_and_geometry():
    env = dexhands.make("ShadowHandScissors", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 150
    np.testing.assert_allclose(state["object_dof_pos"].numpy(), [[-0.59]] * 2, atol=1e-6)
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.0, 0.608]] * 2, atol=1e-5)
    np.testing.assert_allclose(obs[:, 398:401].numpy(), state["object_pos"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["scissors_right_handle_pos"].numpy())  # right first
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["scissors_left_handle_pos"].numpy())
    # Loops towards the hands (+x), the right one on the right hand's side (y > 0).
    assert state["scissors_right_handle_pos"][0, 1] > 0.05 > -0.05 > state["scissors_left_handle_pos"][0, 1]
    assert (state["scissors_right_handle_pos"][:, 0] > 0.15).all()
    assert not TASK.compute_reward(state)[2].any()  # the start is not a reset state
    # Closed: loops 0.18 m apart side by side; opening swings the left loop away (y) and towards the blades.
    np.testing.assert_allclose(_loop_gap(env, SCISSORS_RANGE[0]).numpy(), [0.0, 0.18, -0.008], atol=1e-3)
    assert _loop_gap(env, -0.3).norm() > 0.23 and _loop_gap(env, SCISSORS_RANGE[1]).norm() > 0.33
    mass = sum(env.scene.model.body(b).mass[0] for b in ("scissors", "scissors_left_leg"))
    assert 0.05 < mass < 0.5


def test_closed_extents_match_the_reference():
    width = 2 * (SCISSORS_LOOP_CENTRE[0] + SCISSORS_LOOP_RADIUS + SCISSORS_LOOP_ROD)
    length = SCISSORS_BLADE_LENGTH - SCISSORS_LOOP_CENTRE[1] + SCISSORS_LOOP_RADIUS + SCISSORS_LOOP_ROD
    assert abs(width - 0.28) < 0.01 and abs(length - 0.48) < 0.01 and 2 * SCISSORS_LEG_THICKNESS == 0.016


def _state(angle, right_tip, left_tip):
    state = {"scissors_right_handle_pos": torch.tensor([[0.19, 0.09, 0.604]]),
             "scissors_left_handle_pos": torch.tensor([[0.19, -0.09, 0.612]]),
             "object_dof_pos": torch.tensor([[angle]])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    near = _state(-0.2, (0.19, 0.09, 0.704), (0.19, -0.09, 0.672))  # fingersums 0.5 / 0.3
    reward, success, terminate = TASK.compute_reward(near)
    assert math.isclose(reward.item(), 2 + 5 * (0.59 - 0.2) - 0.8, rel_tol=1e-5)
    assert success.item() and not terminate.item()
    far = _state(-0.2, (0.19, 0.09, 0.754), (0.19, -0.09, 0.672))  # right fingersum 0.75: no opening term
    reward, success, terminate = TASK.compute_reward(far)
    assert math.isclose(reward.item(), 2 - 0.75 - 0.3, rel_tol=1e-5) and success.item() and not terminate.item()
    assert not TASK.compute_reward(_state(-0.31, (0.19, 0.09, 0.704), (0.19, -0.09, 0.672)))[1].item()
    assert TASK.compute_reward(_state(-0.59, (0.19, 0.09, 0.954), (0.19, -0.09, 0.672)))[2].item()  # 1.75
    assert TASK.compute_reward(_state(-0.7, (0.19, 0.09, 0.704), (0.19, -0.09, 0.672)))[2].item()  # up = -0.55


HOOK = torch.full((20,), -1.0)  # fingers straight...
HOOK[[2, 5, 8, 12, 15]] = 0.0  # ...abduction and thumb rotation centred...
HOOK[[3, 6]] = 1.0  # ...index and middle finger bent down 90° at the knuckle: a hook


def _open_action(state, step) -> torch.Tensor:
    """Scripted opening: hook index and middle finger into each loop from above, then pull the loops apart (y)."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, (side, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf")], 1).mean(1)
        loop = state[f"scissors_{side}_handle_pos"]
        offset = (0.0, 0.0, 0.05) if step < 30 else (0.0, 0.0, 0.005) if step < 50 else (0.0, 0.06 * sign, 0.005)
        actions[:, 26 * i:26 * i + 3] = (10 * (loop + torch.tensor(offset) - tips)).clamp(-1, 1)
        actions[:, 26 * i + 6:26 * i + 26] = HOOK
    return actions


def test_scripted_pull_opens_the_scissors():
    env = dexhands.make("ShadowHandScissors", 2, num_threads=1)
    env.reset()
    for step in range(70):
        _, _, terminated, _, info = env.step(_open_action(env.state, step))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all() and (info["final_state"]["object_dof_pos"][:, 0] > -0.3).all()


def test_closing_squeeze_stays_within_the_reset_margin():
    """The hinge's soft lower limit under closing torques (numbers quoted in the task docstring)."""
    import mujoco

    env = dexhands.make("ShadowHandScissors", 1, num_threads=1)
    env.reset()
    model, data = env.scene.model, mujoco.MjData(env.scene.model)
    for torque, expected in ((20.0, -0.631), (40.0, -0.665)):
        mujoco.mj_setState(model, data, env.sim.state[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
        for _ in range(120):
            data.qfrc_applied[env.scene.joint_dof[0]] = -torque
            mujoco.mj_step(model, data)
        assert abs(data.qpos[env.scene.joint_qpos[0]] - expected) < 0.005
        assert data.qpos[env.scene.joint_qpos[0]] > -0.69  # the "up < -0.5" reset is not reached
