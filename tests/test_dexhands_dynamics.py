"""Free-base hands: base force/torque commands behave like Bi-DexHands' damped velocity-like commands."""

import torch

import dexhands
from dexhands.env import BASE_FORCE_SCALE, POLICY_DT
from dexhands.scene import LINK_DAMPING


def test_free_base_moves_in_the_commanded_direction_at_the_terminal_speed():
    env = dexhands.make("ShadowHandCatchUnderarm", 1)  # transition scale 0.05, no drift rule
    env.reset()
    actions = torch.zeros(1, 52)
    actions[0, 0] = 1.0  # right hand: +x force
    actions[0, 26 + 2] = -1.0  # left hand: -z force
    for _ in range(6):  # damping time constant is 1/100 s: terminal speed within a few steps
        env.step(actions)
    right0, left0 = env.state["right_hand_base_pos"].clone(), env.state["left_hand_base_pos"].clone()
    steps = 4
    for _ in range(steps):
        env.step(actions)
    right_vel = (env.state["right_hand_base_pos"] - right0)[0] / (steps * POLICY_DT)
    left_vel = (env.state["left_hand_base_pos"] - left0)[0] / (steps * POLICY_DT)
    scale = env.task.transition_scale
    expected = POLICY_DT * scale * BASE_FORCE_SCALE / (LINK_DAMPING * env.scene.hand_mass)
    assert 1.5 < expected * 0.5 / scale < 1.8  # the reference's ≈1.7 m/s at |a| = 1, transition scale 0.5
    assert abs(right_vel[0].item() - expected) < 0.1 * expected
    assert abs(left_vel[2].item() + expected) < 0.1 * expected
    assert right_vel[1:].abs().max() < 0.1 * expected and left_vel[:2].abs().max() < 0.1 * expected


def test_free_base_turns_about_the_commanded_world_axis():
    env = dexhands.make("ShadowHandCatchUnderarm", 1)
    env.reset()
    actions = torch.zeros(1, 52)
    actions[0, 5] = 1.0  # right hand: torque about world +z
    rot0 = env.state["right_hand_base_rot"].clone()
    for _ in range(5):
        env.step(actions)
    rot = env.state["right_hand_base_rot"]
    from dexhands.rotations import quat_conjugate, quat_mul

    delta = quat_mul(rot, quat_conjugate(rot0))[0]  # world-frame rotation since the start
    axis = delta[:3] / delta[:3].norm()
    assert delta[:3].norm() > 0.05 and axis[2] > 0.95


def test_fixed_base_hands_do_not_move():
    env = dexhands.make("ShadowHandOver", 1)
    env.reset()
    for _ in range(5):
        env.step(torch.ones(1, 40))
    assert torch.allclose(env.state["right_hand_base_pos"], torch.tensor([[0.0, 0.0, 0.5]]))


def _hand_hand_contacts(task: str) -> int:
    """Contacts between right- and left-hand geoms once the left hand's base is slid so that its palm is on the right
    hand's palm."""
    import mujoco

    model = dexhands.make(task, 1, num_threads=1).scene.model
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    palm = {side: data.xpos[model.body(f"{side}/robot0:palm").id].copy() for side in ("right", "left")}
    for axis, delta in zip("xyz", palm["right"] - palm["left"]):
        data.qpos[model.jnt_qposadr[model.joint(f"left/base_{axis}").id]] = delta
    mujoco.mj_forward(model, data)
    # The hand's collision geoms (class C_); its two thumb-base visual meshes also have contype 1 / conaffinity 1, so
    # they touch the other hand in every task (the model's choice), and are left out here.
    side = [model.geom(g).name.split("/")[0] if ":C_" in model.geom(g).name else None for g in range(model.ngeom)]
    return sum({side[c.geom1], side[c.geom2]} == {"right", "left"} for c in data.contact[:data.ncon])


def test_hands_collide_where_isaac_gym_lets_them():
    """Collision filter 0 in the original (BottleCap, Scissors, BlockStack, ...): the hands' collision geoms touch.
    Filter -1 (GraspAndPlace, PushBlock, Kettle, ...): they pass through each other, as there."""
    for task in ("ShadowHandBottleCap", "ShadowHandScissors", "ShadowHandBlockStack"):
        assert _hand_hand_contacts(task) > 10, task
    for task in ("ShadowHandGraspAndPlace", "ShadowHandPushBlock", "ShadowHandKettle"):
        assert _hand_hand_contacts(task) == 0, task
