"""ShadowHandLiftUnderarm: both palms get under the pot's side handles and lift the pot 0.385 m to `goal_pos`.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandLiftUnderarm",)

DESIGNS = {
    "palms_then_lift": '''def compute_reward(state):
    # design: palms_then_lift
    palm_temp = 0.05  # tunable
    palm_weight = 1.0  # tunable
    lift_weight = 5.0  # tunable
    hold_radius = 0.08  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["pot_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["pot_left_handle_pos"], dim=-1)
    palm_reward = palm_weight * (torch.exp(-right_palm / palm_temp) + torch.exp(-left_palm / palm_temp))
    # Height gained towards the goal (0.385 m above the start), paid only while both palms are at their handles.
    holding = ((right_palm < hold_radius) & (left_palm < hold_radius)).float()
    start_height = state["goal_pos"][:, 2] - 0.385
    lift = ((state["object_pos"][:, 2] - start_height) / 0.385).clamp(0.0, 1.0)
    lift_reward = lift_weight * holding * lift
    reward = palm_reward + lift_reward
    return reward, {"palm_reward": palm_reward, "lift_reward": lift_reward}
''',
    "pot_goal_exp": '''def compute_reward(state):
    # design: pot_goal_exp
    reach_weight = 2.0  # tunable
    goal_temp = 0.1  # tunable
    goal_weight = 3.0  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.02  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["pot_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["pot_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_palm + left_palm)
    goal_dist = torch.linalg.vector_norm(state["object_pos"] - state["goal_pos"], dim=-1)
    goal_reward = goal_weight * torch.exp(-goal_dist / goal_temp)
    # A sharp bonus on top of the goal term as the pot arrives at the goal.
    success_reward = success_bonus * torch.exp(-goal_dist / bonus_temp)
    reward = reach_penalty + goal_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "goal_reward": goal_reward, "success_reward": success_reward}
''',
    "level_lift_velocity": '''def compute_reward(state):
    # design: level_lift_velocity
    reach_weight = 2.0  # tunable
    velocity_weight = 2.0  # tunable
    level_weight = 1.0  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["pot_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["pot_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_palm + left_palm)
    # Rising speed while both hands hold the pot and it is still below the goal.
    holding = ((right_palm < 0.08) & (left_palm < 0.08)).float()
    below_goal = (state["object_pos"][:, 2] < state["goal_pos"][:, 2]).float()
    velocity_reward = velocity_weight * holding * below_goal * state["object_linvel"][:, 2].clamp(-0.5, 0.5)
    # Keep the pot level: the z component of its local z axis is 1 - 2 (qx^2 + qy^2).
    rot = state["object_rot"]
    upright = 1.0 - 2.0 * (rot[:, 0] ** 2 + rot[:, 1] ** 2)
    level_penalty = -level_weight * (1.0 - upright)
    reward = reach_penalty + velocity_reward + level_penalty
    return reward, {"reach_penalty": reach_penalty, "velocity_reward": velocity_reward, "level_penalty": level_penalty}
''',
    "fingers_over_handles": '''def compute_reward(state):
    # design: fingers_over_handles
    grip_temp = 0.05  # tunable
    grip_weight = 0.5  # tunable
    under_weight = 10.0  # tunable
    height_weight = 5.0  # tunable
    right_tips = state["fingertip_pos"] - state["pot_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["pot_left_handle_pos"].unsqueeze(1)
    right_grip = torch.exp(-torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1) / grip_temp)
    left_grip = torch.exp(-torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1) / grip_temp)
    grip_reward = grip_weight * (right_grip + left_grip)
    # Palms just under the handles (within 5 cm horizontally, below them) carry the weight.
    right_offset = state["pot_right_handle_pos"] - state["right_hand_pos"]
    left_offset = state["pot_left_handle_pos"] - state["left_hand_pos"]
    right_under = right_offset[:, 2].clamp(0.0, 0.05) * (torch.linalg.vector_norm(right_offset[:, :2], dim=-1) < 0.05).float()
    left_under = left_offset[:, 2].clamp(0.0, 0.05) * (torch.linalg.vector_norm(left_offset[:, :2], dim=-1) < 0.05).float()
    under_reward = under_weight * (right_under + left_under)
    height = (state["object_pos"][:, 2] - (state["goal_pos"][:, 2] - 0.385)).clamp(0.0, 0.4)
    height_reward = height_weight * right_grip * left_grip * height
    reward = grip_reward + under_reward + height_reward
    return reward, {"grip_reward": grip_reward, "under_reward": under_reward, "height_reward": height_reward}
''',
}
