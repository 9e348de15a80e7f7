"""dexhands public API: shapes, dtypes, errors, determinism, action mapping."""

import numpy as np
import pytest
import torch

import dexhands

EXPECTED = {  # task: (obs_dim, act_dim, episode_length), from the Bi-DexHands code
    "ShadowHandOver": (398, 40, 75),
    "ShadowHandCatchUnderarm": (422, 52, 75),
    "ShadowHandCatchOver2Underarm": (422, 52, 75),
    "ShadowHandCatchAbreast": (422, 52, 150),
    "ShadowHandTwoCatchUnderarm": (446, 52, 75),
    "ShadowHandSwitch": (417, 52, 125),
    "ShadowHandDoorOpenInward": (417, 52, 250),
    "ShadowHandDoorOpenOutward": (417, 52, 250),
    "ShadowHandDoorCloseInward": (417, 52, 250),
    "ShadowHandDoorCloseOutward": (417, 52, 250),
    "ShadowHandPushBlock": (428, 52, 125),
    "ShadowHandBlockStack": (428, 52, 250),
    "ShadowHandReOrientation": (422, 40, 600),
    "ShadowHandScissors": (417, 52, 150),
    "ShadowHandPen": (417, 52, 125),
    "ShadowHandBottleCap": (420, 52, 125),
    "ShadowHandGraspAndPlace": (425, 52, 500),
    "ShadowHandKettle": (417, 52, 125),
    "ShadowHandLiftUnderarm": (417, 52, 500),
    "ShadowHandSwingCup": (417, 52, 300),
}


def test_task_list():
    assert set(dexhands.TASKS) == set(EXPECTED)


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_shapes_and_dtypes(task):
    env = dexhands.make(task, num_envs=3)
    obs_dim, act_dim, episode_length = EXPECTED[task]
    assert (env.obs_dim, env.act_dim, env.episode_length, env.num_envs) == (obs_dim, act_dim, episode_length, 3)
    obs = env.reset()
    assert obs.shape == (3, obs_dim) and obs.dtype == torch.float32
    obs, reward, terminated, truncated, info = env.step(torch.zeros(3, act_dim))
    assert obs.shape == (3, obs_dim) and torch.isfinite(obs).all()
    assert reward.shape == (3,) and reward.dtype == torch.float32
    assert terminated.dtype == torch.bool and truncated.shape == (3,)
    assert info["success"].shape == (3,) and info["final_obs"].shape == (3, obs_dim)
    assert env.state["object_pos"].shape == (3, 3) and env.state["fingertip_pos"].shape == (3, 5, 3)
    assert "object_pos (N, 3)" in env.state_description()
    env.close()


def test_clear_errors():
    with pytest.raises(ValueError, match="ShadowHandOver"):
        dexhands.make("ShadowHandNope", 2)
    with pytest.raises(ValueError, match="backend"):
        dexhands.make("ShadowHandOver", 2, backend="physx")
    env = dexhands.make("ShadowHandOver", 2)
    assert env.backend == "mujoco"  # "auto" on a CPU device (the Warp backend: tests/test_dexhands_warp.py)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(torch.zeros(2, 40))
    env.reset()
    with pytest.raises(ValueError, match=r"\(2, 40\)"):
        env.step(torch.zeros(2, 52))


def _rollout(seed: int, steps: int = 5) -> torch.Tensor:
    env = dexhands.make("ShadowHandCatchUnderarm", 2, seed=seed)
    obs = env.reset()
    actions = torch.linspace(-1, 1, 2 * 52).view(2, 52)
    for _ in range(steps):
        obs, *_ = env.step(actions)
    env.close()
    return obs


def test_determinism_for_a_fixed_seed():
    assert torch.equal(_rollout(seed=3), _rollout(seed=3))
    assert not torch.equal(_rollout(seed=3), _rollout(seed=4))


def test_finger_actions_are_absolute_targets_over_the_joint_range():
    env = dexhands.make("ShadowHandOver", 2)
    env.reset()
    actions = torch.zeros(2, 40)
    actions[0, :20] = -1.0
    actions[0, 20:] = 5.0  # clipped to +1
    actions[1] = torch.linspace(-1, 1, 40)
    env.step(actions)
    right, left = env.scene.hands["right"], env.scene.hands["left"]
    ctrl = env.sim.ctrl
    np.testing.assert_allclose(ctrl[0, right.ctrl], right.ctrl_low)
    np.testing.assert_allclose(ctrl[0, left.ctrl], left.ctrl_high)
    a = actions[1].numpy()
    np.testing.assert_allclose(ctrl[1, right.ctrl], right.ctrl_low + (a[:20] + 1) / 2 * (right.ctrl_high - right.ctrl_low), rtol=1e-6)
    np.testing.assert_allclose(ctrl[1, left.ctrl], left.ctrl_low + (a[20:] + 1) / 2 * (left.ctrl_high - left.ctrl_low), rtol=1e-6)
    assert env.state["actions"].max() <= 1.0
