"""ShadowHandPen: layout and cap travel, the cap's spring, reward/success/reset on constructed states, a scripted pull."""

import math

import numpy as np
import torch

import dexhands
from dexhands.tasks import TASK_CONFIGS
from dexhands.tool_props import PEN_BODY, PEN_CAP, PEN_CAP_TRAVEL

TASK = TASK_CONFIGS["ShadowHandPen"]


def _keypoint_distance(env, slide: float) -> float:
    env.sim.qpos[:, env.scene.joint_qpos] = slide
    env.sim.forward(np.arange(env.num_envs))
    state = env._read_state()
    return (state["pen_right_handle_pos"][0] - state["pen_left_handle_pos"][0]).norm().item()


def test_start_state_layout_and_cap_travel():
    env = dexhands.make("ShadowHandPen", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 125
    assert state["object_dof_pos"].tolist() == [[0.0]] * 2
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.0, 0.612]] * 2, atol=1e-5)
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["pen_right_handle_pos"].numpy())  # body first
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["pen_left_handle_pos"].numpy())
    # The pen lies along y: body keypoint towards the right hand, cap towards the left one.
    np.testing.assert_allclose(state["pen_right_handle_pos"][0].numpy(), [0.0, 0.01, 0.612], atol=5e-4)  # 1.57, not π/2
    np.testing.assert_allclose(state["pen_left_handle_pos"][0].numpy(), [0.0, -0.13, 0.612], atol=5e-4)
    assert not TASK.compute_reward(state)[2].any()  # the start is not a reset state
    assert PEN_BODY[1] - PEN_CAP[0] == 0.37  # overall length (reference ≈ 0.37 m)
    assert math.isclose(_keypoint_distance(env, 0.0), 0.14, abs_tol=1e-4)
    assert math.isclose(_keypoint_distance(env, PEN_CAP_TRAVEL), 0.34, abs_tol=1e-4)  # success (> 0.3) reachable


def test_cap_spring_pulls_a_loose_cap_back():
    import mujoco

    env = dexhands.make("ShadowHandPen", 1, num_threads=1)
    model, data = env.scene.model, mujoco.MjData(env.scene.model)
    qadr = env.scene.joint_qpos[0]
    data.qpos[qadr] = 0.1
    data.qpos[model.joint("pen").qposadr[0] + 2] += 0.05  # lift the pen so that the table's friction is out
    model = model.__copy__()
    model.opt.gravity[:] = 0.0
    for _ in range(240):  # 2 s: the 1 N/m spring with 0.5 N·s/m damping closes the cap
        mujoco.mj_step(model, data)
    assert data.qpos[qadr] < 0.1 * 0.9


def _state(right_key, left_key, right_tip, left_tip):
    state = {"pen_right_handle_pos": torch.tensor([right_key]), "pen_left_handle_pos": torch.tensor([left_key])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    state = _state((0.0, 0.2, 0.612), (0.0, -0.12, 0.612), (0.0, 0.2, 0.712), (0.0, -0.12, 0.652))  # f 0.5 / 0.2
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), math.exp(-5) + math.exp(-2) + 5 * 0.32 - 0.8, rel_tol=1e-5)
    assert success.item() and not terminate.item()
    state = _state((0.0, 0.01, 0.612), (0.0, -0.13, 0.612), (0.0, 0.01, 0.772), (0.0, -0.13, 0.652))  # f 0.8: far
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), math.exp(-8) + math.exp(-2), rel_tol=1e-5)
    assert not success.item() and not terminate.item()
    state = _state((0.0, 0.01, 0.612), (0.0, -0.13, 0.612), (0.0, 0.01, 0.612), (0.0, -0.13, 0.912))  # left f 1.5
    assert TASK.compute_reward(state)[2].item()


HOOK = torch.full((20,), -1.0)  # fingers straight...
HOOK[[2, 5, 8, 12, 15]] = 0.0  # ...abduction and thumb rotation centred...
HOOK[[3, 6]] = 1.0  # ...index and middle finger bent down 90° at the knuckle: a hook


def _pull_action(state, step) -> torch.Tensor:
    """Scripted pull: hook index and middle finger beside the pen, on the inner side of the grip stop (right hand)
    and of the cap's clip (left hand), then pull the hands apart along y, slowly enough that the hooks hold."""
    actions = torch.zeros(state["object_pos"].shape[0], 52)
    for i, (side, sign) in enumerate((("right", 1.0), ("left", -1.0))):
        tips = torch.stack([state[f"{side}_hand_{f}_pos"] for f in ("ff", "mf")], 1).mean(1)
        target = state[f"pen_{side}_handle_pos"] + torch.tensor([0.027, -0.035 * sign, 0.06 if step < 30 else 0.002])
        limit = 1.0
        if step >= 50:
            target[:, 1], limit = 0.2 * sign, 0.25
        actions[:, 26 * i:26 * i + 3] = (10 * (target - tips)).clamp(-limit, limit)
        actions[:, 26 * i + 6:26 * i + 26] = HOOK
    return actions


def test_scripted_pull_takes_the_cap_off():
    env = dexhands.make("ShadowHandPen", 2, num_threads=1)
    env.reset()
    for step in range(90):
        _, _, terminated, _, info = env.step(_pull_action(env.state, step))
        assert not terminated.any()
        if info["success"].all():
            break
    assert info["success"].all() and (info["final_state"]["object_dof_pos"][:, 0] > 0.15).all()
