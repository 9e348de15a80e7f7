"""ShadowHandBottleCap: layout and observation, the cap's joints, reward/success/reset on constructed states."""

import math

import numpy as np
import torch

import dexhands
from dexhands.container_props import BOTTLE_CAP_TRAVEL
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandBottleCap"]


def test_layout_observation_and_cap_travel():
    env = dexhands.make("ShadowHandBottleCap", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 420) and env.act_dim == 52 and env.episode_length == 125
    np.testing.assert_allclose(state["bottle_pos"].numpy(), [[0.0, -0.6, 0.5]] * 2, atol=1e-5)
    # Cap point: 0.15 m along the bottle axis, tilted by Isaac euler (0, -0.7, 0).
    np.testing.assert_allclose(state["bottle_cap_pos"][0].numpy(),
                               [-0.15 * math.sin(0.7), -0.6, 0.5 + 0.15 * math.cos(0.7)], atol=1e-4)
    np.testing.assert_allclose(state["bottle_cap_up"].numpy(), state["bottle_pos"].numpy(), atol=1e-5)  # capped
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["bottle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["bottle_cap_pos"].numpy())
    np.testing.assert_allclose(obs[:, 417:420].numpy(), state["bottle_cap_up"].numpy())
    # Both palms start within their reset distances (left palm point holds the bottle, right one above the cap).
    assert not TASK.compute_reward(state)[2].any()
    assert (torch.norm(state["bottle_pos"] - state["left_hand_pos"], dim=-1) < 0.1).all()
    # Slide the cap to its limit: the cap link moves 0.064 m along the axis (success beyond 0.03).
    env.sim.qpos[:, env.scene.joint_qpos[0]] = BOTTLE_CAP_TRAVEL
    env.sim.forward(np.arange(2))
    state = env._read_state()
    opened = torch.norm(state["bottle_cap_up"] - state["bottle_pos"], dim=-1)
    np.testing.assert_allclose(opened.numpy(), [BOTTLE_CAP_TRAVEL] * 2, atol=1e-5)
    assert TASK.compute_reward(state)[1].all()


def test_cap_holds_under_gravity_and_turns():
    import mujoco

    env = dexhands.make("ShadowHandBottleCap", 1, num_threads=1)
    model, data = env.scene.model, mujoco.MjData(env.scene.model)
    slide, hinge = env.scene.joint_qpos
    data.qvel[model.joint("bottle_cap_hinge").dofadr[0]] = 5.0  # a spin slows on the cap's friction
    bottle = model.joint("bottle").qposadr[0]
    data.qpos[bottle:bottle + 3] = [0.5, 0.5, 1.0]  # out of the hands' way, falling freely
    for _ in range(30):  # 0.25 s of free fall (0.3 m)
        mujoco.mj_step(model, data)
    assert abs(data.qpos[slide]) < 1e-3  # the cap stays on
    assert 0.5 < data.qpos[hinge] < 1.2  # it turns (1.25 rad at 5 rad/s without friction), slowing down
    assert 0.0 < data.qvel[model.joint("bottle_cap_hinge").dofadr[0]] < 5.0


def _state(bottle, cap_point, cap_up, right_tip, right_palm, left_palm):
    state = {"bottle_pos": torch.tensor([bottle]), "bottle_cap_pos": torch.tensor([cap_point]),
             "bottle_cap_up": torch.tensor([cap_up]), "right_hand_pos": torch.tensor([right_palm]),
             "left_hand_pos": torch.tensor([left_palm])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    bottle, cap = (0.0, -0.6, 0.5), (0.0, -0.6, 0.65)
    # Right fingersum 0.25 (<= 0.3): the up term counts; cap 0.04 off: success.
    state = _state(bottle, cap, (0.0, -0.6, 0.54), (0.0, -0.6, 0.7), (0.0, -0.6, 0.7), (0.0, -0.6, 0.45))
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), 2 - 0.25 - 0.05 + 30 * 0.04, rel_tol=1e-5)
    assert success.item() and not terminate.item()
    # Right fingersum 0.5: no up term; cap 0.02 off: no success.
    state = _state(bottle, cap, (0.0, -0.6, 0.52), (0.0, -0.6, 0.75), (0.0, -0.6, 0.7), (0.0, -0.6, 0.45))
    reward, success, terminate = TASK.compute_reward(state)
    assert math.isclose(reward.item(), 2 - 0.5 - 0.05, rel_tol=1e-5) and not success.item() and not terminate.item()
    # Resets: cap point down to 0.5, right palm over 0.5 from the cap point, left palm over 0.2 from the bottle.
    for case in (_state(bottle, (0.0, -0.6, 0.5), bottle, cap, cap, bottle),
                 _state(bottle, cap, bottle, cap, (0.0, -0.6, 1.16), bottle),
                 _state(bottle, cap, bottle, cap, cap, (0.0, -0.6, 0.29))):
        assert TASK.compute_reward(case)[2].item()
