"""ShadowHandBottleCap: layout and observation, the cap's joints, reward/success/reset on constructed states, the cap
taken off from reset by replayed action keyframes."""

import math
import sys
from pathlib import Path

import numpy as np
import torch

import dexhands
from dexhands.container_props import BOTTLE_CAP_TRAVEL
from dexhands.tasks import TASK_CONFIGS
from dexhands.tasks.common import fingertip_distance_sum

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmark"))
from hand_overlap import HandOverlap  # noqa: E402

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


# Actions found by `python benchmark/bottle_cap_demo.py` (seed 0, one env; 10 cross-entropy iterations × 128 samples)
# before BottleCap's hands collided with each other; they still succeed with the contacts (a rerun of the script now
# finds another sequence). 5 keyframes of the 52-D action (right base force 3, torque 3, finger targets 20 | left the
# same), each held 25 steps. Contacts make the rollout chaotic: after a change of MuJoCo or of the model, rerun the
# script and paste the keyframes it prints.
KEYFRAMES = (
    (-0.511, 0.790, -0.117, -0.646, 0.096, 0.455, 0.528, 1.000, -1.000, 0.519, 0.541, -0.568, -0.632, 0.683, -0.064,
     -0.412, -0.309, -0.226, 0.162, -0.719, -0.127, -0.226, 0.988, -0.279, 0.404, -0.963, -0.108, -0.115, 0.591,
     -0.540, 0.087, -0.466, 0.378, -0.475, -0.075, 0.212, 0.063, -0.142, -0.389, -0.395, 0.425, -0.832, 0.168, -0.115,
     -0.454, 0.690, 0.868, -0.696, -0.873, -0.241, -0.220, -1.000),
    (-0.331, -0.498, -0.077, 0.109, 0.225, -0.163, -0.365, 0.099, -0.439, 0.149, -0.278, 0.270, -0.256, -0.075, -0.183,
     0.375, 0.256, 0.178, -0.372, -0.115, -0.219, 0.535, -0.014, -0.383, -0.004, -0.815, -0.516, -0.346, 0.026, 0.026,
     0.925, 0.048, -0.102, 0.130, 0.434, 0.291, 0.248, 0.052, 0.188, 0.417, -0.633, -0.075, 0.309, 0.917, -0.621,
     0.772, -0.001, -0.142, -0.395, -0.486, 0.645, -0.167),
    (0.051, 0.583, -0.004, -0.228, 0.693, 0.659, -0.218, 0.108, -0.111, -0.486, -0.655, 0.065, -0.720, 0.040, 0.195,
     0.029, -0.264, -0.697, -0.418, -0.403, -0.061, -0.186, -0.232, -0.329, -0.063, -0.013, 0.029, 0.580, 0.259,
     -0.230, 0.369, -1.000, -0.278, 0.525, 0.130, -0.158, 0.118, 0.572, 0.155, 0.038, -0.613, -0.392, 0.190, 0.032,
     0.024, 0.490, 1.000, 0.008, 0.183, 0.002, 0.109, -0.995),
    (0.886, 0.320, -0.025, -0.723, -1.000, 0.594, -0.793, -0.851, 0.675, -0.008, 0.315, -0.154, 1.000, 0.278, 0.007,
     -0.038, 0.264, 0.220, 0.232, -0.569, -0.241, 0.123, 0.163, -0.308, 0.053, -0.298, 0.844, -0.188, -0.252, 0.244,
     0.067, -0.647, 0.984, -0.314, 0.549, -0.149, 0.277, -0.033, 0.321, 0.403, -0.358, 0.547, -0.871, -0.350, -0.270,
     0.089, 0.466, 0.779, -0.640, -0.788, 0.322, -0.505),
    (-0.413, 0.243, -0.041, -0.934, 0.778, 0.001, 0.114, 0.179, -0.143, -0.011, 0.014, -0.394, -0.329, -0.133, -0.248,
     -0.152, -0.505, 0.513, 0.557, 0.108, -0.485, 0.087, 0.580, -0.433, 0.084, -0.668, 0.161, 0.223, 0.420, 0.771,
     -0.372, -0.450, 0.248, -0.480, 0.372, 0.536, -0.322, -0.262, -0.031, 0.366, -0.470, -0.422, 0.610, 0.679, -0.278,
     -0.384, -0.069, -0.033, -0.025, -0.033, -0.134, 0.340),
)


def test_action_keyframes_take_the_cap_off_from_reset():
    """Solvability: from env.reset(), through env.step only, the right hand slides the cap off the bottle that the left
    hand holds, before any reset and without the hands pressing more than 5 mm into each other."""
    env = dexhands.make("ShadowHandBottleCap", 1, seed=0, num_threads=1)
    env.reset()
    start = env.state["bottle_pos"][0].clone()
    overlap = HandOverlap(env.scene.model)
    keys = torch.tensor(KEYFRAMES)
    for step in range(125):
        _, reward, _, _, info = env.step(keys[min(step // 25, len(KEYFRAMES) - 1)].unsqueeze(0))
        state = info["final_state"]
        assert not info["episode_end"][0]  # the bottle is still up and near both palms
        assert overlap(env.sim.state)[0] < 0.005
        if info["success"][0]:
            break
    opened = torch.norm(state["bottle_cap_up"][0] - state["bottle_pos"][0])
    assert step >= 25 and info["success"][0] == 1 and opened > 0.03
    # The cap's slide joint itself moved past 3 cm (the keypoints come from sensors one physics step older), within its
    # limit, while the bottle stayed near its start, and the right fingers are close enough for the reward's cap term.
    assert 0.03 < state["object_dof_pos"][0, 0] < BOTTLE_CAP_TRAVEL + 5e-3
    assert torch.norm(state["bottle_pos"][0] - start) < 0.1
    assert fingertip_distance_sum(state, "right", state["bottle_cap_pos"])[0] <= 0.3
    assert reward[0] > 2.0 - 0.3 - 0.2 + 30 * 0.03  # the reward's 30·separation term counts
