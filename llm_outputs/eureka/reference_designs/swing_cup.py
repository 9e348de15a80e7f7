"""ShadowHandSwingCup: the hands take the mug by its two handles and turn it half a turn about its vertical axis.

Rotation distance to the goal: 2·acos(|q · q_goal|), with the dot product clamped to keep acos finite.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandSwingCup",)

DESIGNS = {
    "handles_then_turn": '''def compute_reward(state):
    # design: handles_then_turn
    grip_temp = 0.08  # tunable
    grip_weight = 1.0  # tunable
    turn_temp = 1.0  # tunable
    turn_weight = 4.0  # tunable
    right_tips = state["fingertip_pos"] - state["cup_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["cup_left_handle_pos"].unsqueeze(1)
    right_grip = torch.exp(-torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1) / grip_temp)
    left_grip = torch.exp(-torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1) / grip_temp)
    grip_reward = grip_weight * (right_grip + left_grip)
    dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    turn_angle = 2.0 * torch.acos(dot)
    # Turning pays in proportion to how well both hands hold their handles.
    turn_reward = turn_weight * right_grip * left_grip * torch.exp(-turn_angle / turn_temp)
    reward = grip_reward + turn_reward
    return reward, {"grip_reward": grip_reward, "turn_reward": turn_reward}
''',
    "turn_progress_gated": '''def compute_reward(state):
    # design: turn_progress_gated
    reach_weight = 1.0  # tunable
    turn_weight = 5.0  # tunable
    near_radius = 0.1  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.3  # tunable
    right_reach = torch.linalg.vector_norm(state["right_hand_pos"] - state["cup_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_pos"] - state["cup_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    turn_angle = 2.0 * torch.acos(dot)
    near = ((right_reach < near_radius) & (left_reach < near_radius)).float()
    turn_reward = turn_weight * near * (1.0 - turn_angle / 3.14159).clamp(0.0, 1.0)
    # A bonus that grows sharply as the mug reaches the goal orientation.
    success_reward = success_bonus * torch.exp(-turn_angle / bonus_temp)
    reward = reach_penalty + turn_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "turn_reward": turn_reward, "success_reward": success_reward}
''',
    "upright_yaw_velocity": '''def compute_reward(state):
    # design: upright_yaw_velocity
    reach_weight = 1.0  # tunable
    spin_weight = 0.5  # tunable
    upright_weight = 2.0  # tunable
    right_tips = state["fingertip_pos"] - state["cup_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["cup_left_handle_pos"].unsqueeze(1)
    reach_penalty = -reach_weight * (torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
                                     + torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1))
    # Spinning about the vertical axis (either way: half a turn reaches the goal both ways), until the goal is reached.
    dot = (state["object_rot"] * state["goal_rot"]).sum(dim=-1).abs().clamp(max=1.0)
    not_there = (2.0 * torch.acos(dot) > 0.3).float()
    spin_reward = spin_weight * state["object_angvel"][:, 2].abs().clamp(max=3.0) * not_there
    # The mug must stay upright: the z component of its local z axis is 1 - 2 (qx^2 + qy^2).
    rot = state["object_rot"]
    upright = 1.0 - 2.0 * (rot[:, 0] ** 2 + rot[:, 1] ** 2)
    upright_penalty = -upright_weight * (1.0 - upright)
    reward = reach_penalty + spin_reward + upright_penalty
    return reward, {"reach_penalty": reach_penalty, "spin_reward": spin_reward, "upright_penalty": upright_penalty}
''',
    "handles_swap_sides": '''def compute_reward(state):
    # design: handles_swap_sides
    grip_temp = 0.05  # tunable
    grip_weight = 1.0  # tunable
    swap_weight = 3.0  # tunable
    fall_penalty = 5.0  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["cup_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["cup_left_handle_pos"], dim=-1)
    right_grip = torch.exp(-right_palm / grip_temp)
    left_grip = torch.exp(-left_palm / grip_temp)
    grip_reward = grip_weight * (right_grip + left_grip)
    # Half a turn puts the right handle where the left one started (y < 0) and the left one at y > 0:
    # the handles' y difference goes from about +0.12 m to -0.12 m.
    handle_gap = state["cup_right_handle_pos"][:, 1] - state["cup_left_handle_pos"][:, 1]
    swap_reward = swap_weight * (-handle_gap / 0.12).clamp(-1.0, 1.0)
    fallen = (state["object_pos"][:, 2] < 0.6).float()
    fall_reward = -fall_penalty * fallen
    reward = grip_reward + swap_reward + fall_reward
    return reward, {"grip_reward": grip_reward, "swap_reward": swap_reward, "fall_reward": fall_reward}
''',
}
