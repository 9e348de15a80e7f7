"""The four door tasks: door geometry, rewards and resets on constructed states, the reset quirk, scripted solutions."""

import math

import numpy as np
import pytest
import torch

import dexhands
from dexhands.rotations import quat_conjugate, quat_mul
from dexhands.tasks import TASK_CONFIGS
from dexhands.tasks.common import fingertip_distance_sum

DOORS = ["ShadowHandDoorOpenInward", "ShadowHandDoorOpenOutward", "ShadowHandDoorCloseInward",
         "ShadowHandDoorCloseOutward"]


def _handle_gap(env, angle: float) -> float:
    env.sim.qpos[:, env.scene.joint_qpos] = angle
    env.sim.forward(np.arange(env.num_envs))
    state = env._read_state()
    return (state["door_right_handle_pos"][0, 1] - state["door_left_handle_pos"][0, 1]).abs().item()


@pytest.mark.parametrize("task", DOORS)
def test_start_state_handle_gap_and_layout(task):
    env = dexhands.make(task, 1, num_threads=1)
    obs = env.reset()
    close = "Close" in task
    assert obs.shape == (1, 417) and env.act_dim == 52 and env.episode_length == 250
    state = env.state
    np.testing.assert_allclose(state["object_dof_pos"].numpy(), [[1.57 if close else 0.0] * 2], atol=1e-6)
    # Reproduced quirk: the close tasks also start the hinges at 1.57 rad/s (into the open stop).
    expected_vel = 1.57 if close else 0.0
    np.testing.assert_allclose(env.sim.qvel[0, env.scene.joint_dof], [expected_vel] * 2)
    np.testing.assert_allclose(obs[0, 411:414].numpy(), state["door_left_handle_pos"][0].numpy())
    np.testing.assert_allclose(obs[0, 414:417].numpy(), state["door_right_handle_pos"][0].numpy())
    assert not env.task.compute_reward(state)[2].item()  # the start is not a reset state
    assert math.isclose(_handle_gap(env, 0.0), 0.067, abs_tol=1e-3)  # reference: 0.067 closed
    # Fully open, reference 0.93 inward / 0.77 outward: the keypoints are on the face towards the hands (doors.py).
    assert math.isclose(_handle_gap(env, 1.5708), 0.927 if "Inward" in task else 0.767, abs_tol=2e-3)


def _state(right_handle, left_handle, right_tip, left_tip):
    state = {"door_right_handle_pos": torch.tensor([right_handle]), "door_left_handle_pos": torch.tensor([left_handle])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_rewards_success_and_resets_on_constructed_states():
    near = _state((0.0, 0.3, 0.7), (0.0, -0.3, 0.7), (0.0, 0.3, 0.78), (0.0, -0.3, 0.75))  # fingersums 0.4 / 0.25
    far = _state((0.0, 0.3, 0.7), (0.0, -0.3, 0.7), (0.0, 0.3, 1.0), (0.0, -0.3, 0.75))  # right fingersum 1.5
    open_task, close_in, close_out = (TASK_CONFIGS[f"ShadowHandDoor{n}"] for n in ("OpenInward", "CloseInward",
                                                                                     "CloseOutward"))
    reward, success, terminate = open_task.compute_reward(near)
    assert math.isclose(reward.item(), 2 - 0.4 - 0.25 + 2 * 0.6, rel_tol=1e-5) and success.item()
    assert not terminate.item()
    reward, success, terminate = close_in.compute_reward(near)
    assert math.isclose(reward.item(), 2 - 0.65 + (1 - 2 * 0.6), rel_tol=1e-5) and not success.item()
    assert math.isclose(close_out.compute_reward(near)[0].item(), 6 - 0.65 + (1 - 1.2), rel_tol=1e-5)
    reward, _, terminate = open_task.compute_reward(far)
    assert math.isclose(reward.item(), 2 - 1.5 - 0.25, rel_tol=1e-5)  # no opening term: a hand is not near
    assert terminate.item() and close_in.compute_reward(far)[2].item()
    assert not close_out.compute_reward(far)[2].item()  # DoorCloseOutward resets at fingersum ≥ 3
    shut = _state((0.0, 0.03, 0.7), (0.0, -0.03, 0.7), (0.0, 0.03, 0.78), (0.0, -0.03, 0.75))
    assert close_in.compute_reward(shut)[1].item() and not open_task.compute_reward(shut)[1].item()


@pytest.mark.parametrize("task", ["ShadowHandDoorOpenOutward", "ShadowHandDoorCloseInward"])
def test_scripted_push_reaches_success(task):
    """The two tasks where the leaves move away from the hands: push each palm through its leaf near the handle."""
    env = dexhands.make(task, 2, num_threads=1)
    env.reset()
    reached = torch.zeros(2, dtype=torch.bool)
    for _ in range(120):
        state = env.state
        actions = torch.zeros(2, 52)
        for i, (side, sign) in enumerate((("right", 1.0), ("left", -1.0))):
            target = state[f"door_{side}_handle_pos"] + torch.tensor([-0.15, 0.08 * sign, 0.0])
            actions[:, 26 * i:26 * i + 3] = (10 * (target - state[f"{side}_hand_pos"])).clamp(-1, 1)
        _, _, terminated, _, info = env.step(actions)
        assert not terminated.any()
        reached |= info["success"].bool()
    assert reached.all()


def _close_from_outside_action(state, step) -> torch.Tensor:
    """Scripted DoorCloseOutward: round the frame posts (tips at |y| = 0.52), then along the open leaves' outer faces
    to 0.3 m behind the door plane, then push the leaves shut (towards the door's centre line). The fingersums stay
    under the task's reset limit of 3 all along: a push from outside, no hooking of the knobs needed."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, (side, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf", "rf")], 1).mean(1)
        x, y = (0.12, 0.52) if step < 25 else (-0.3, 0.52) if step < 50 else (-0.3, 0.25)
        actions[:, 26 * i:26 * i + 3] = (10 * (torch.tensor([x, y * sign, 0.7]) - tips)).clamp(-1, 1)
    return actions


def test_scripted_push_from_outside_closes_the_outward_door():
    env = dexhands.make("ShadowHandDoorCloseOutward", 2, num_threads=1)
    env.reset()
    for step in range(80):
        _, _, terminated, _, info = env.step(_close_from_outside_action(env.state, step))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all() and (info["final_state"]["object_dof_pos"] < 1.2).all()


PULL_HOOK = torch.full((20,), -1.0)  # fingers straight...
PULL_HOOK[[0, 1]] = torch.tensor([0.555, 0.176])  # ...wrist at 0 rad...
PULL_HOOK[[2, 5, 8, 12, 15]] = 0.0  # ...abduction and thumb rotation centred...
PULL_HOOK[[4, 7, 10, 14]] = 0.0  # ...middle and end joints of the four fingers bent 45° each: a hook
# Fingertip targets (until step, offset along the leaf's outward normal n, offset along the leaf towards its free
# edge t, both from the keypoint; speed limit): in front of the bar beside it, into the gap between bar and leaf,
# slide the hook behind the bar, then pull slowly along n (4 cm ahead of the bar).
PULL_PLAN = ((25, 0.06, -0.045, 1.0), (45, -0.004, -0.035, 0.5), (65, -0.004, 0.02, 0.3), (250, 0.036, 0.02, 0.15))


def _pull_open_action(state, start_rot, step) -> torch.Tensor:
    """Scripted DoorOpenInward: hook the four fingers round each leaf's bar from the side, then pull the bar along
    the leaf's swing while turning the hand with the leaf (yaw 0.4 rad ahead, so the forearms stay apart)."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    _, dn, dt, limit = next(phase for phase in PULL_PLAN if step < phase[0])
    for i, (side, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        angle = state["object_dof_pos"][:, i]
        n = torch.stack([angle.cos(), sign * angle.sin(), torch.zeros_like(angle)], -1)
        t = torch.stack([angle.sin(), -sign * angle.cos(), torch.zeros_like(angle)], -1)
        target = state[f"door_{side}_handle_pos"] + dn * n + dt * t
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf", "rf", "lf")], 1).mean(1)
        move = 10 * (target - tips)
        actions[:, 26 * i:26 * i + 3] = move * (limit / move.norm(dim=-1, keepdim=True).clamp(min=limit))
        turn = quat_mul(state[f"{side}_hand_base_rot"], quat_conjugate(start_rot[side]))
        turn = turn * turn[:, 3:].sign()  # rotation vector ≈ 2·(x, y, z) of the shorter quaternion
        wanted = torch.stack([torch.zeros_like(angle), torch.zeros_like(angle), sign * (0.4 + angle)], -1)
        actions[:, 26 * i + 3:26 * i + 6] = (8 * (wanted - 2 * turn[:, :3])).clamp(-1, 1)
        actions[:, 26 * i + 6:26 * i + 26] = PULL_HOOK
    return actions


def test_scripted_pull_on_the_handles_opens_the_inward_door():
    env = dexhands.make("ShadowHandDoorOpenInward", 2, seed=0, num_threads=1)
    env.reset()
    start_rot = {side: env.state[f"{side}_hand_base_rot"].clone() for side in ("right", "left")}
    for step in range(250):
        _, _, terminated, _, info = env.step(_pull_open_action(env.state, start_rot, step))
        assert not terminated.any()
        if info["success"].all():
            break
    final = info["final_state"]
    gap = (final["door_right_handle_pos"][:, 1] - final["door_left_handle_pos"][:, 1]).abs()
    assert info["success"].all() and (gap > 0.5).all() and step < 200  # measured: step 184, |Δy| 0.50, 1.0 rad
    for side in ("right", "left"):  # the hooked fingertips stay near the keypoints: the opening term is earned
        assert (fingertip_distance_sum(final, side, final[f"door_{side}_handle_pos"]) < 0.5).all()
