"""ShadowHandKettle: layout and observation, reward/success/reset on constructed states, water at rest, a success pose
with the bucket upright, and a pour from reset by a replayed keyframed script."""

import math
import sys
from pathlib import Path

import mujoco
import numpy as np
import torch

import dexhands
from dexhands.kettle_props import KETTLE_HALF_HEIGHT, KETTLE_RADIUS, KETTLE_WALL, WATER_BALLS
from dexhands.rotations import quat_apply
from dexhands.tasks import TASK_CONFIGS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmark"))
from hand_overlap import HandOverlap  # noqa: E402
from kettle_demo import balls_in_bucket, pour_distance, script_actions, tilt_degrees  # noqa: E402

TASK = TASK_CONFIGS["ShadowHandKettle"]


def _water(env) -> np.ndarray:
    """(N, 30, 3) ball centres, read from qpos."""
    model = env.scene.model
    adr = [model.jnt_qposadr[model.joint(f"water_{k}").id] for k in range(WATER_BALLS)]
    return np.stack([env.sim.qpos[:, a:a + 3] for a in adr], 1)


def test_layout_and_observation():
    env = dexhands.make("ShadowHandKettle", 2, num_threads=1)
    obs = env.reset()
    state = env.state
    assert obs.shape == (2, 417) and env.act_dim == 52 and env.episode_length == 125
    expected = {"object_pos": (0.0, 0.0, 0.49), "kettle_handle_pos": (0.0, 0.15, 0.49),
                "kettle_spout_pos": (0.0, -0.2, 0.56), "bucket_pos": (0.0, -0.3, 0.5),
                "bucket_handle_pos": (0.0, -0.3, 0.4)}
    for name, pos in expected.items():  # yaw 1.57 (not π/2) moves the keypoints by < 0.2 mm
        np.testing.assert_allclose(state[name].numpy(), [pos] * 2, atol=1e-3, err_msg=name)
    np.testing.assert_allclose(obs[:, 398:405].numpy(), state["object_pose"].numpy())
    np.testing.assert_allclose(obs[:, 411:414].numpy(), state["kettle_handle_pos"].numpy())
    np.testing.assert_allclose(obs[:, 414:417].numpy(), state["bucket_handle_pos"].numpy())
    assert len(_water(env)[0]) == 30
    reward, success, terminate = TASK.compute_reward(state)
    assert not success.any() and not terminate.any()


def test_water_stays_in_the_kettle_at_rest():
    env = dexhands.make("ShadowHandKettle", 2, num_threads=1)
    env.reset()
    for _ in range(60):
        env.step(torch.zeros(2, 52))
    state = env.state
    np.testing.assert_allclose(state["object_pos"].numpy(), [[0.0, 0.0, 0.49]] * 2, atol=2e-3)
    np.testing.assert_allclose(state["bucket_pos"].numpy(), [[0.0, -0.3, 0.5]] * 2, atol=2e-3)
    water = _water(env)
    floor_top = 0.49 - KETTLE_HALF_HEIGHT + 2 * KETTLE_WALL
    assert (np.linalg.norm(water[..., :2], axis=-1) < KETTLE_RADIUS - KETTLE_WALL).all()
    np.testing.assert_allclose(water[..., 2], floor_top + 0.005, atol=1e-3)  # one layer on the floor


def _state(handle, bucket_point, spout, right_tip, left_tip):
    state = {"kettle_handle_pos": torch.tensor([handle]), "bucket_handle_pos": torch.tensor([bucket_point]),
             "kettle_spout_pos": torch.tensor([spout])}
    for finger in ("ff", "mf", "rf", "lf", "th"):
        state[f"right_hand_{finger}_pos"] = torch.tensor([right_tip])
        state[f"left_hand_{finger}_pos"] = torch.tensor([left_tip])
    return state


def test_reward_success_and_resets_on_constructed_states():
    handle, point = (0.0, 0.15, 0.49), (0.0, -0.3, 0.4)
    # Fingersums 0.4 (right, to the handle) and 0.5 (left, to the bucket point): the pouring term is on.
    near = _state(handle, point, (0.0, -0.2, 0.56), (0.0, 0.15, 0.57), (0.0, -0.3, 0.5))
    reward, success, terminate = TASK.compute_reward(near)
    assert math.isclose(reward.item(), 1 - 0.9 + 0.5 - 2 * math.hypot(0.1, 0.16), rel_tol=1e-5)
    assert not success.item() and not terminate.item()
    far = _state(handle, point, (0.0, -0.2, 0.56), (0.0, 0.15, 0.65), (0.0, -0.3, 0.5))  # right fingersum 0.8
    assert math.isclose(TASK.compute_reward(far)[0].item(), 1 - 0.8 - 0.5, rel_tol=1e-5)
    poured = _state(handle, point, (0.0, -0.27, 0.43), (0.0, 0.15, 0.57), (0.0, -0.3, 0.5))  # 0.042 from it
    reward, success, _ = TASK.compute_reward(poured)
    assert success.item() and math.isclose(reward.item(), 0.1 + 0.5 - 2 * math.hypot(0.03, 0.03), rel_tol=1e-5)
    assert not TASK.compute_reward(_state(handle, point, (0.0, -0.26, 0.44), (0.0, 0.15, 0.57),
                                          (0.0, -0.3, 0.5)))[1].item()  # 0.057 away
    dropped = _state(handle, (0.0, -0.3, 0.2), (0.0, -0.2, 0.56), (0.0, 0.15, 0.57), (0.0, -0.3, 0.5))
    assert TASK.compute_reward(dropped)[2].item()
    assert not TASK.compute_reward(_state(handle, (0.0, -0.3, 0.21), (0.0, -0.2, 0.56), (0.0, 0.15, 0.57),
                                          (0.0, -0.3, 0.5)))[2].item()


def _pitched_kettle_quat(pitch: float) -> np.ndarray:
    """(w, x, y, z): the start yaw of 1.57, then `pitch` about world x (spout down)."""
    yaw = np.array([math.cos(0.785), 0.0, 0.0, math.sin(0.785)])
    tilt = np.array([math.cos(pitch / 2), math.sin(pitch / 2), 0.0, 0.0])
    quat = np.zeros(4)
    mujoco.mju_mulQuat(quat, tilt, yaw)
    return quat


def test_success_is_reachable_with_the_bucket_upright():
    """Kettle tipped 85° with the spout 3 cm above the bucket's bottom: inside the success radius, and the body and
    spout clear the rim (no contact with bucket or table): the metric does not need the bucket knocked over."""
    env = dexhands.make("ShadowHandKettle", 1, num_threads=1)
    env.reset()
    model = env.scene.model
    quat = _pitched_kettle_quat(math.radians(85))
    spout = quat_apply(torch.tensor([[*quat[1:], quat[0]]], dtype=torch.float32),
                       torch.tensor([[-0.2, 0.0, 0.07]]))[0].numpy()
    target = np.array([0.0, -0.31, 0.43])  # the bucket point is (0, -0.3, 0.4)
    qpos = env.sim.qpos
    adr = model.jnt_qposadr[model.joint("kettle").id]
    qpos[0, adr:adr + 3] = target - spout
    qpos[0, adr + 3:adr + 7] = quat
    for k in range(WATER_BALLS):  # the water out of the way (it would fall out of the tipped kettle anyway)
        ball = model.jnt_qposadr[model.joint(f"water_{k}").id]
        qpos[0, ball:ball + 3] = (1.0 + 0.02 * k, 1.0, 0.005)
    env.sim.forward(np.array([0]))
    state = env._read_state()
    assert TASK.compute_reward(state)[1].item()
    data = mujoco.MjData(model)
    mujoco.mj_setState(model, data, env.sim.state[0], mujoco.mjtState.mjSTATE_FULLPHYSICS)
    mujoco.mj_forward(model, data)
    kettle = {model.body("kettle").id, model.body("kettle_lid").id}
    touching = {model.body("bucket_shell").id, model.body("world").id}
    pairs = [(model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]) for c in data.contact[:data.ncon]]
    assert not [p for p in pairs if (p[0] in kettle and p[1] in touching) or (p[1] in kettle and p[0] in touching)]


# Found by `python benchmark/kettle_demo.py --num-envs 4` (seed 0; 13 cross-entropy iterations × 96 samples × 4
# starts, 475 s): after the scripted entry of the right hand's fingers into the handle loop, 5 keyframes of 19 steps
# (palm target offset x, y, z; torque x, y, z; knuckles; finger ends; in [-1, 1], scaled by the script). Contacts make
# the rollout chaotic: after a change of MuJoCo or of the model, rerun the script and paste the keyframes it prints.
KEYFRAMES = ((-0.228, -0.886, 0.552, 0.901, 0.890, 0.625, -0.673, -0.216),
             (-0.250, -0.957, 0.596, 0.272, 0.129, 0.301, -0.733, 0.764),
             (-0.712, -0.369, 0.299, -0.137, -0.166, -0.405, -0.911, 0.662),
             (-0.722, -0.521, 0.712, -0.740, 0.300, -0.079, -0.635, 0.623),
             (-0.132, -0.840, 0.781, -0.447, -0.326, -0.423, -0.887, 0.742))


def test_keyframed_script_pours_into_the_upright_bucket_from_reset():
    """Solvability: from env.reset() of 4 envs (different randomised hands), through env.step only, the right hand
    carries the kettle by its handle and tips it spout-down into the bucket: a success in every env before any reset,
    with the kettle tipped past 75° and the bucket upright, water balls poured into the bucket, and the hands never
    overlapping (the model has no hand-hand contacts)."""
    n = 4
    env = dexhands.make("ShadowHandKettle", n, seed=0, num_threads=1)
    env.reset()
    overlap = HandOverlap(env.scene.model)
    keys = torch.tensor(KEYFRAMES).expand(n, *torch.tensor(KEYFRAMES).shape)
    succeeded = torch.zeros(n, dtype=torch.bool)
    for step in range(124):  # the 125th step ends the episode and resets the envs
        _, _, _, _, info = env.step(script_actions(keys, env.state, step, hold=19))
        state = info["final_state"]
        assert not info["episode_end"].any()
        assert (overlap(env.sim.state) < 0.005).all()
        now = (info["success"] >= 1) & ~succeeded
        if now.any():
            assert (tilt_degrees(state["object_rot"][now]) > 75).all()
            assert (tilt_degrees(state["bucket_rot"][now]) < 10).all()
            assert (pour_distance(state)[now] < 0.05).all()
        succeeded |= info["success"] >= 1
    assert succeeded.all()
    assert (balls_in_bucket(env) > 0).all()
