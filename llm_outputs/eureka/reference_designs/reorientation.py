"""ShadowHandReOrientation: each fixed hand turns its cube in place to the goal orientation, without dropping it.

The rotation distance of two unit quaternions is 2·acos(|q1 · q2|); the designs clamp the dot product to keep acos
finite.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandReOrientation",)

DESIGNS = {
    "rotation_exp": '''def compute_reward(state):
    # design: rotation_exp
    rotation_temp = 0.5  # tunable
    position_weight = 5.0  # tunable
    drop_penalty = 5.0  # tunable
    first_dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    second_dot = (state["object_another_rot"] * state["goal_another_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    first_angle = 2.0 * torch.acos(first_dot)
    second_angle = 2.0 * torch.acos(second_dot)
    rotation_reward = torch.exp(-first_angle / rotation_temp) + torch.exp(-second_angle / rotation_temp)
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    position_penalty = -position_weight * (first_dist + second_dist)
    lowest = torch.minimum(state["object_pos"][:, 2], state["object_another_pos"][:, 2])
    drop_reward = -drop_penalty * (lowest < state["goal_pos"][:, 2] - 0.15).float()
    reward = rotation_reward + position_penalty + drop_reward
    return reward, {"rotation_reward": rotation_reward, "position_penalty": position_penalty, "drop_reward": drop_reward}
''',
    "inverse_rotation_bonus": '''def compute_reward(state):
    # design: inverse_rotation_bonus
    rotation_eps = 0.1  # tunable
    rotation_weight = 0.2  # tunable
    position_weight = 10.0  # tunable
    success_bonus = 20.0  # tunable
    bonus_temp = 0.2  # tunable
    first_dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    second_dot = (state["object_another_rot"] * state["goal_another_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    first_angle = 2.0 * torch.acos(first_dot)
    second_angle = 2.0 * torch.acos(second_dot)
    # Grows steeply as a cube gets close to its goal orientation; rotation_eps keeps it finite.
    rotation_reward = rotation_weight * (1.0 / (first_angle + rotation_eps) + 1.0 / (second_angle + rotation_eps))
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    position_penalty = -position_weight * (first_dist + second_dist)
    success_reward = success_bonus * (torch.exp(-first_angle / bonus_temp) + torch.exp(-second_angle / bonus_temp))
    reward = rotation_reward + position_penalty + success_reward
    return reward, {"rotation_reward": rotation_reward, "position_penalty": position_penalty, "success_reward": success_reward}
''',
    "hold_then_align": '''def compute_reward(state):
    # design: hold_then_align
    hold_temp = 0.03  # tunable
    align_weight = 2.0  # tunable
    action_weight = 0.002  # tunable
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    first_hold = torch.exp(-first_dist / hold_temp)
    second_hold = torch.exp(-second_dist / hold_temp)
    # Squared quaternion dot product: cos^2 of half the angle, 1 when aligned, 0 when half a turn away.
    first_align = (state["object_rot"] * state["goal_rot"]).sum(dim=-1) ** 2
    second_align = (state["object_another_rot"] * state["goal_another_rot"]).sum(dim=-1) ** 2
    # Alignment is worth something only while the cube stays in place.
    align_reward = align_weight * (first_hold * first_align + second_hold * second_align)
    hold_reward = first_hold + second_hold
    action_penalty = -action_weight * (state["actions"] ** 2).sum(dim=-1)
    reward = align_reward + hold_reward + action_penalty
    return reward, {"align_reward": align_reward, "hold_reward": hold_reward, "action_penalty": action_penalty}
''',
    "settle_near_goal": '''def compute_reward(state):
    # design: settle_near_goal
    rotation_weight = 1.0  # tunable
    position_weight = 5.0  # tunable
    spin_weight = 0.1  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.2  # tunable
    first_dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    second_dot = (state["object_another_rot"] * state["goal_another_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    angles = torch.stack([2.0 * torch.acos(first_dot), 2.0 * torch.acos(second_dot)], dim=-1)
    rotation_penalty = -rotation_weight * angles.sum(dim=-1)
    first_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    second_dist = torch.linalg.vector_norm(state["object_another_pos"] - state["goal_another_pos"], dim=-1)
    position_penalty = -position_weight * (first_dist + second_dist)
    # Near the goal, spinning on overshoots it: damp the cube's angular velocity there.
    spins = torch.stack([torch.linalg.vector_norm(state["object_angvel"], dim=-1),
                         torch.linalg.vector_norm(state["object_another_angvel"], dim=-1)], dim=-1)
    spin_penalty = -spin_weight * (spins * (angles < 0.4).float()).sum(dim=-1)
    # A sharp bonus for both cubes at the goal orientation at once.
    success_reward = success_bonus * torch.exp(-angles.sum(dim=-1) / bonus_temp)
    reward = rotation_penalty + position_penalty + spin_penalty + success_reward
    return reward, {"rotation_penalty": rotation_penalty, "position_penalty": position_penalty,
                    "spin_penalty": spin_penalty, "success_reward": success_reward}
''',
}
