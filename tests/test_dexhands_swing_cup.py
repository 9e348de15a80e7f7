"""ShadowHandSwingCup: layout and observation, reward/success/reset on constructed states, a scripted half turn."""

import math

import numpy as np
import torch

import dexhands
from dexhands.kitchen_props import MUG_HANDLE_BAR_R, MUG_LID_TRAVEL
from dexhands.rotations import quat_conjugate, quat_mul, rotation_distance
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandSwingCup"]
FINGERS = ("ff", "mf", "rf", "lf", "th")


def _yaw_quat(yaw: float) -> torch.Tensor:
    return torch.tensor([[0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2)]])


def _yaw(rot: torch.Tensor) -> torch.Tensor:
    x, y, z, w = rot.unbind(-1)
    return torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def test_layout_and_observation():
    env = dexhands.make("ShadowHandSwingCup", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 300
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.0, 0.684]] * 2, atol=1e-4)
    # Yaw π/2: the right handle towards the right hand (y > 0), the left one towards the left hand.
    np.testing.assert_allclose(state["cup_right_handle_pos"].numpy(), [[0.0, 0.062, 0.684]] * 2, atol=1e-3)
    np.testing.assert_allclose(state["cup_left_handle_pos"].numpy(), [[0.0, -0.06, 0.684]] * 2, atol=1e-3)
    np.testing.assert_allclose(obs[:, 398:405].numpy(), state["object_pose"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["cup_right_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["cup_left_handle_pos"].numpy())
    # The goal is the mug turned by π.
    np.testing.assert_allclose(rotation_distance(state["object_rot"], state["goal_rot"]).numpy(), [math.pi] * 2,
                               atol=2e-3)
    reward, success, terminate = TASK.compute_reward(state)
    assert not success.any() and not terminate.any()
    model = env.scene.model
    assert 0.4 < model.body("mug").mass[0] < 1.0  # density 500 over ≈1.4 l
    np.testing.assert_allclose(model.joint("mug_lid_slide").range, [0.0, MUG_LID_TRAVEL])
    for _ in range(20):  # the mug stands still on the table
        env.step(torch.zeros(2, 52))
    np.testing.assert_allclose(env.state["object_pos"].numpy(), [[0.0, 0.0, 0.684]] * 2, atol=2e-3)


def _state(yaw, right_tip, left_tip, z=0.684):
    state = {"object_pos": torch.tensor([[0.0, 0.0, z]]), "object_rot": _yaw_quat(yaw),
             "goal_rot": _yaw_quat(1.5 * math.pi),
             "cup_right_handle_pos": torch.tensor([[0.0, 0.062, z]]),
             "cup_left_handle_pos": torch.tensor([[0.0, -0.06, z]])}
    for finger in FINGERS:
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    # Fingertips 0.06 m from each handle point (fingersums 0.3): the rotation term counts.
    state = _state(0.5 * math.pi, (0.0, 0.122, 0.684), (0.0, -0.12, 0.684))
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), -0.6 + 5 / (math.pi + 0.1) - 1, abs_tol=2e-3)
    assert not success.item() and not terminate.item()
    # Turned by 3π/4 + 0.01 (d_rot 0.775 either way round): success; right fingersum 0.5: no rotation term.
    for yaw in (1.5 * math.pi - 0.775, 1.5 * math.pi + 0.775):
        state = _state(yaw, (0.0, 0.162, 0.684), (0.0, -0.12, 0.684))
        reward, success, terminate = TASK.compute_reward(state)
        assert math.isclose(reward.item(), -0.8, rel_tol=1e-4) and success.item() and not terminate.item()
    assert not TASK.compute_reward(_state(1.5 * math.pi - 0.8, (0.0, 0.122, 0.684), (0.0, -0.12, 0.684)))[1].item()
    assert TASK.compute_reward(_state(0.5 * math.pi, (0.0, 0.122, 0.3), (0.0, -0.12, 0.3), z=0.3))[2].item()


def _rot_error(target: torch.Tensor, rot: torch.Tensor) -> torch.Tensor:
    """World-frame rotation vector (small angles) that turns `rot` into `target` (x, y, z, w)."""
    diff = quat_mul(target, quat_conjugate(rot))
    return 2 * torch.where(diff[:, 3:4] < 0, -diff, diff)[:, :3]


def _finger_action(closed: bool) -> torch.Tensor:
    """Wrist straight, fingers straight or curled (knuckles and middle joints at 90°), thumb straight."""
    action = torch.zeros(20)
    action[0:2] = torch.tensor([0.555, 0.176])  # WRJ1, WRJ0 at 0
    action[[3, 6, 9, 13]] = 1.0 if closed else -1.0
    action[[4, 7, 10, 14]] = 1.0 if closed else -1.0
    action[[11, 16]] = -1.0  # LFJ4, THJ3 at 0
    action[19] = 1.0  # THJ0 at 0
    return action


def _turn_action(state, step, start) -> torch.Tensor:
    """Scripted half turn (clockwise seen from above): each palm comes beside its handle's grip bar (steps 0-45),
    the fingers close round the bar through the handle's opening (-65), then both hands carry their bars round the
    mug's start axis 1 rad ahead of the mug's yaw, each hand turning with its bar, until the mug has turned by π."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    yaw = _yaw(state["object_rot"])
    for i, (hand, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        start_angle = sign * math.pi / 2  # of this hand's bar
        now = yaw if sign > 0 else yaw + math.pi
        turned = torch.remainder(start_angle - now + math.pi / 4, 2 * math.pi) - math.pi / 4
        turn = torch.clamp(turned + 1.0, max=math.pi) if step >= 65 else torch.zeros_like(turned)
        angle = start_angle - turn
        # Palm point 0.02 m behind the bar along the fingers (+x) and 0.022 m out from it, turning with the hand.
        out = 0.022 + (0.05 if step < 30 else 0.0)
        cos, sin = torch.cos(-turn), torch.sin(-turn)
        offset = torch.stack([0.02 * cos - sign * out * sin, 0.02 * sin + sign * out * cos, torch.zeros_like(cos)], -1)
        bar = torch.stack([torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)], -1) * MUG_HANDLE_BAR_R
        target = start["centre"] + bar + offset
        hand_turn = torch.stack([torch.zeros_like(turn), torch.zeros_like(turn), -torch.sin(turn / 2),
                                 torch.cos(turn / 2)], -1)
        rot_target = quat_mul(hand_turn, start[hand])
        actions[:, 26 * i:26 * i + 3] = (10 * (target - state[f"{hand}_hand_pos"])).clamp(-1, 1)
        actions[:, 26 * i + 3:26 * i + 6] = (3 * _rot_error(rot_target, state[f"{hand}_hand_base_rot"])).clamp(-1, 1)
        actions[:, 26 * i + 6:26 * i + 26] = _finger_action(closed=step >= 45)
    return actions


def test_scripted_turn_swings_the_cup_round():
    env = dexhands.make("ShadowHandSwingCup", 2, num_threads=1)
    env.reset()
    state = env.state
    start = {"right": state["right_hand_base_rot"].clone(), "left": state["left_hand_base_rot"].clone(),
             "centre": state["object_pos"].clone()}
    for step in range(250):
        _, reward, terminated, _, info = env.step(_turn_action(env.state, step, start))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all()
    turn = rotation_distance(info["final_state"]["object_rot"], info["final_state"]["goal_rot"])
    assert (turn < 0.785).all() and (info["final_state"]["object_pos"][:, 2] > 0.6).all()
