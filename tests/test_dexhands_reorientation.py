"""ShadowHandReOrientation: layout, reward with the overwritten goal test, running success count, new goals, drops,
a goal reached from reset by replayed finger keyframes."""

import math

import numpy as np
import torch

import dexhands
from dexhands.rotations import rotation_distance, xyzw_to_wxyz
from dexhands.tasks import TASK_CONFIGS

TASK = TASK_CONFIGS["ShadowHandReOrientation"]
QUARTER_X = (math.sin(math.pi / 4), 0.0, 0.0, math.cos(math.pi / 4))  # 90° about x


def _state(rot_first, rot_second, z=0.52):
    t = lambda v: torch.tensor([v], dtype=torch.float32)  # noqa: E731
    return {"object_pos": t((0, -0.39, z)), "object_rot": t(rot_first), "goal_pos": t((0, -0.39, 0.60)),
            "goal_rot": t((0, 0, 0, 1)), "object_another_pos": t((0, -0.76, 0.60)), "object_another_rot": t(rot_second),
            "goal_another_pos": t((0, -0.76, 0.60)), "goal_another_rot": t((0, 0, 0, 1)), "actions": torch.ones(1, 40)}


def test_reward_and_the_overwritten_goal_condition():
    reward, reached, fallen = TASK.compute_reward(_state((0, 0, 0, 1), QUARTER_X))
    expected = -10 * (0.60 - 0.52) + 1 / 0.1 + 1 / (math.pi / 2 + 0.1) - 0.0002 * 40
    assert math.isclose(reward.item(), expected, rel_tol=1e-4)
    assert not reached.item() and not fallen.item()  # first cube on its goal rotation does not count
    reward, reached, _ = TASK.compute_reward(_state(QUARTER_X, (0, 0, 0, 1)))
    assert reached.item() and math.isclose(reward.item(), expected + 500, rel_tol=1e-4)  # only the second counts
    assert TASK.compute_reward(_state((0, 0, 0, 1), (0, 0, 0, 1), z=0.2))[2].item()  # dropped


def _match_second_cube(env, row):
    qadr = env.scene.object_qpos[1]
    env.sim.qpos[row, qadr[3:7]] = xyzw_to_wxyz(env.goal_rot[row, 1]).numpy()
    env.sim.qvel[row] = 0.0


def test_layout_goal_count_new_goals_and_drop_reset():
    env = dexhands.make("ShadowHandReOrientation", 2, num_threads=1)
    obs = env.reset()
    assert obs.shape == (2, 422) and env.act_dim == 40 and env.episode_length == 600
    np.testing.assert_allclose(obs[:, 374:381].numpy(), env.state["object_pose"].numpy())
    assert torch.equal(env.goal_rot[:, 0], env.goal_rot[:, 1])  # one rotation for both goals
    zeros = torch.zeros(2, 40)
    for count in (1, 2):
        old_goal = env.goal_rot[0, 1].clone()
        _match_second_cube(env, 0)
        _, reward, terminated, _, info = env.step(zeros)
        assert info["success"].tolist() == [count, 0] and reward[0] > 500 and not terminated.any()
        assert not torch.allclose(env.goal_rot[0, 1], old_goal)  # a new goal at once, shown in the state
        assert torch.equal(env.state["goal_another_rot"][0], env.goal_rot[0, 1])
    env.sim.qpos[0, env.scene.object_qpos[0][2]] = 0.1  # first cube dropped
    _, _, terminated, _, info = env.step(zeros)
    assert terminated.tolist() == [True, False] and info["success"][0] == 2  # the count of the ended episode
    assert env.successes[0] == 0


# Left-hand finger targets found by `python benchmark/reorientation_demo.py` (seed 0: env 0 of 8; 12 cross-entropy
# iterations × 128 samples, distances scored only while the cube turns slower than 2 rad/s), each held 20 steps after
# 30 still steps. Contacts make the rollout chaotic: after a change of MuJoCo or of the hand model, rerun the script
# and paste the keyframes it prints.
KEYFRAMES = (
    (-0.071, 0.845, -0.540, -0.252, 0.679, -0.168, -0.212, 0.250, -0.462, -0.056, 0.813, -0.630, 0.378, 0.651, 0.722,
     -0.763, 0.324, 0.262, -0.235, -0.574),
    (-0.700, -0.262, -0.703, -0.840, 0.205, -0.124, -0.210, 0.746, -0.548, -0.074, 0.280, -0.315, -0.084, -0.262, -0.615,
     -0.213, 0.002, -0.312, 0.520, -0.118),
    (0.422, 0.439, 0.529, -0.114, 1.000, -0.218, -0.686, 0.498, 0.333, 0.711, 0.243, 0.469, 0.087, -0.171, 0.274,
     -0.349, -0.052, -0.396, -0.264, 0.405),
    (-0.761, -0.463, 0.344, 0.160, 0.418, -0.536, 0.210, -0.064, 0.028, 0.709, 0.284, 0.363, 0.433, 0.895, 0.013,
     -0.583, -0.338, 0.688, -1.000, 0.251),
    (0.385, -0.921, 0.450, -0.636, 0.464, 0.086, 0.193, -0.021, -0.391, 1.000, 0.905, 0.405, -0.626, -0.165, 0.002,
     -0.610, 0.402, 0.969, -0.434, 0.620),
    (-0.945, -0.387, -0.001, -0.614, 0.063, -0.005, -0.174, 0.524, -0.027, 0.756, 0.639, -0.288, -0.486, -0.233, -0.200,
     0.456, 0.263, 0.703, 1.000, -0.619),
)


def test_finger_keyframes_reach_a_goal_from_reset():
    """Solvability: from env.reset(), through env.step only, the left cube turns 1.46 rad onto its goal in the hand."""
    env = dexhands.make("ShadowHandReOrientation", 8, seed=0, num_threads=1)
    env.reset()
    goal = env.goal_rot[0, 1].clone()
    keys = torch.tensor(KEYFRAMES)
    for step in range(150):
        actions = torch.zeros(8, 40)
        if step >= 30:
            actions[:, 20:] = keys[(step - 30) // 20]
        _, reward, _, _, info = env.step(actions)
        state = info["final_state"]
        if step == 29:  # the cube has settled in the still hand, far from its goal
            assert rotation_distance(state["object_another_rot"][0], goal) > 1.4 and info["success"][0] == 0
        assert not info["episode_end"][0] and state["object_another_pos"][0, 2] > 0.45  # still in the hand
        if info["success"][0] >= 1:
            break
    assert step >= 30 and info["success"][0] == 1 and reward[0] > 500
    assert state["object_another_angvel"][0].norm() < 2.0  # reached while slowing down, not flicked past
    assert rotation_distance(state["object_another_rot"][0], goal) < 0.1  # the old goal, before the new one was drawn
    assert not torch.equal(env.goal_rot[0, 1], goal)
