"""ShadowHandLiftUnderarm: layout and observation, reward/success/reset on constructed states, a scripted lift."""

import math

import numpy as np
import torch

import dexhands
from dexhands.kitchen_props import POT_HANDLE_BAR, POT_LID_TRAVEL
from dexhands.rotations import quat_conjugate, quat_mul
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandLiftUnderarm"]


def test_layout_and_observation():
    env = dexhands.make("ShadowHandLiftUnderarm", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 500
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, -0.6, 0.465]] * 2, atol=1e-4)
    # Handles over the table's edges, each towards its hand (the right hand is at y = 0.05).
    np.testing.assert_allclose(state["pot_right_handle_pos"].numpy(), [[0.0, -0.45, 0.525]] * 2, atol=1e-4)
    np.testing.assert_allclose(state["pot_left_handle_pos"].numpy(), [[0.0, -0.75, 0.525]] * 2, atol=1e-4)
    np.testing.assert_allclose(obs[:, 398:401].numpy(), state["object_pos"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["pot_right_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["pot_left_handle_pos"].numpy())
    # The palms start within reach of their handles (the episode would end at once otherwise), outside the bonus.
    for hand in ("right", "left"):
        distance = torch.norm(state[f"{hand}_hand_pos"] - state[f"pot_{hand}_handle_pos"], dim=-1)
        assert ((0.08 < distance) & (distance < 0.2)).all()
    reward, success, terminate = TASK.compute_reward(state)
    assert not success.any() and not terminate.any()
    model = env.scene.model
    assert abs(model.body("pot").mass[0] + model.body("pot_lid").mass[0] - 4.0) < 0.1  # the original's 3 + 1 kg
    np.testing.assert_allclose(model.joint("pot_lid_slide").range, [0.0, POT_LID_TRAVEL])
    for _ in range(20):  # the pot rests on the table, lid closed
        env.step(torch.zeros(2, 52))
    np.testing.assert_allclose(env.state["object_pos"][:, 2].numpy(), [0.465] * 2, atol=2e-3)
    assert (env.state["object_dof_pos"].abs() < 1e-3).all()


def _state(pot, right_palm, left_palm):
    pot = torch.tensor([pot])
    identity = torch.tensor([[0.0, 0.0, 0.0, 1.0]])
    return {"object_pos": pot, "goal_pos": torch.tensor([[0.0, -0.6, 0.85]]), "goal_rot": identity,
            "pot_right_handle_pos": pot + torch.tensor([0.0, 0.15, 0.06]),
            "pot_left_handle_pos": pot + torch.tensor([0.0, -0.15, 0.06]),
            "right_hand_pos": torch.tensor([right_palm]), "left_hand_pos": torch.tensor([left_palm])}


def test_reward_success_and_resets_on_constructed_states():
    # Palms 0.05 m under the handles: the lift term counts (0.385 constant of the code, not the docs' 0.985).
    state = _state((0.0, -0.6, 0.6), (0.0, -0.45, 0.61), (0.0, -0.75, 0.61))
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), 0.2 - 0.1 + 3 * (0.385 - 0.25), rel_tol=1e-5)
    assert not success.item() and not terminate.item()
    # One palm 0.1 m away: no lift term.
    state = _state((0.0, -0.6, 0.6), (0.0, -0.35, 0.66), (0.0, -0.75, 0.61))
    assert math.isclose(TASK.compute_reward(state)[0].item(), 0.2 - 0.1 - 0.05, rel_tol=1e-5)
    # Within 0.05 m of the goal: success.
    state = _state((0.0, -0.6, 0.81), (0.0, -0.45, 0.82), (0.0, -0.75, 0.82))
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), 0.2 - 0.1 + 3 * (0.385 - 0.04), rel_tol=1e-5) and success.item()
    assert not terminate.item()
    assert TASK.compute_reward(_state((0.0, -0.6, 0.6), (0.0, -0.45, 0.87), (0.0, -0.75, 0.61)))[2].item()  # 0.21
    assert TASK.compute_reward(_state((0.0, -0.6, 0.29), (0.0, -0.45, 0.3), (0.0, -0.75, 0.3)))[2].item()  # dropped


def _rot_error(target: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """World-frame rotation vector (small angles) that turns `rot` into `target` (x, y, z, w)."""
    diff = quat_mul(target, quat_conjugate(rot))
    return 2 * torch.where(diff[:, 3:4] < 0, -diff, diff)[:, :3]


def _finger_action(mcp: float, pip: float) -> torch.Tensor:
    """Wrist flexed up against the load, fingers bent by mcp / pip (0..1 of 90°), thumb and spreads centred."""
    action = torch.zeros(20)
    action[0] = 0.555  # WRJ1 (-0.489..0.14) at 0
    action[1] = 1.0  # WRJ0 at its upper limit: the actuator pushes up with its full 2.175 N·m against the pot
    action[[3, 6, 9, 13]] = 2 * mcp - 1
    action[[4, 7, 10, 14]] = 2 * pip - 1
    action[11] = -1.0  # LFJ4 (palm cupping) flat
    action[16] = -1.0  # THJ3 at 0
    return action


def _lift_action(state, step, start) -> torch.Tensor:
    """Scripted lift: palms low under the grip bars with the fingers raised (steps 0-60), up against the bars (-80),
    fingers curled over them (-100), then both hands rise 0.4 m; the hands keep their start orientation."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, (hand, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        out = torch.tensor([0.0, sign, 0.0])
        up = torch.tensor([0.0, 0.0, 1.0])
        if step < 30:
            offset, pip = 0.1 * out - 0.1 * up, 0.0
        elif step < 60:
            offset, pip = 0.012 * out - 0.1 * up, 0.0
        else:
            offset, pip = 0.012 * out + min(max(step - 100, 0) * 0.006, 0.4) * up, float(step >= 80)
        target = start["bars"][hand] + offset
        actions[:, 26 * i:26 * i + 3] = (10 * (target - state[f"{hand}_hand_pos"])).clamp(-1, 1)
        actions[:, 26 * i + 3:26 * i + 6] = (3 * _rot_error(start[hand], state[f"{hand}_hand_base_rot"])).clamp(-1, 1)
        actions[:, 26 * i + 6:26 * i + 26] = _finger_action(1.0, pip)
    return actions


def test_scripted_lift_reaches_the_goal():
    env = dexhands.make("ShadowHandLiftUnderarm", 2, num_threads=1)
    env.reset()
    state = env.state
    # Grip bars (above the handle keypoints, further out): where the palm points go.
    bar_offset = POT_HANDLE_BAR[0] - 0.15, POT_HANDLE_BAR[1] - 0.06
    start = {"right": state["right_hand_base_rot"].clone(), "left": state["left_hand_base_rot"].clone(),
             "bars": {"right": state["pot_right_handle_pos"] + torch.tensor([0.0, bar_offset[0], bar_offset[1]]),
                      "left": state["pot_left_handle_pos"] + torch.tensor([0.0, -bar_offset[0], bar_offset[1]])}}
    for step in range(200):
        _, reward, terminated, _, info = env.step(_lift_action(env.state, step, start))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all() and (info["final_state"]["object_pos"][:, 2] > 0.8).all()
    assert (reward > 0.2).all()  # both palms at their handles: the lift term counts
