"""ShadowHandPen: the right hand holds the pen body, the left hand pulls the cap off (slide 0 -> 0.2 m).

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandPen",)

DESIGNS = {
    "cap_slide_progress": '''def compute_reward(state):
    # design: cap_slide_progress
    reach_temp = 0.1  # tunable
    reach_weight = 1.0  # tunable
    slide_weight = 5.0  # tunable
    near_radius = 0.12  # tunable
    right_tips = state["fingertip_pos"] - state["pen_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["pen_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    near = ((right_reach < near_radius) & (left_reach < near_radius)).float()
    slide_reward = slide_weight * near * (state["object_dof_pos"][:, 0] / 0.2).clamp(0.0, 1.0)
    reward = reach_reward + slide_reward
    return reward, {"reach_reward": reach_reward, "slide_reward": slide_reward}
''',
    "handle_separation": '''def compute_reward(state):
    # design: handle_separation
    palm_temp = 0.1  # tunable
    palm_weight = 1.0  # tunable
    separation_weight = 10.0  # tunable
    right_palm = torch.linalg.vector_norm(state["right_hand_pos"] - state["pen_right_handle_pos"], dim=-1)
    left_palm = torch.linalg.vector_norm(state["left_hand_pos"] - state["pen_left_handle_pos"], dim=-1)
    palm_reward = palm_weight * (torch.exp(-right_palm / palm_temp) + torch.exp(-left_palm / palm_temp))
    # The two grip points are 0.14 m apart on a capped pen (PEN_KEYPOINTS: 0.01 and -0.13 along the pen's axis).
    separation = torch.linalg.vector_norm(state["pen_right_handle_pos"] - state["pen_left_handle_pos"], dim=-1)
    separation_reward = separation_weight * (separation - 0.14).clamp(0.0, 0.2)
    reward = palm_reward + separation_reward
    return reward, {"palm_reward": palm_reward, "separation_reward": separation_reward}
''',
    "pull_velocity": '''def compute_reward(state):
    # design: pull_velocity
    reach_weight = 2.0  # tunable
    velocity_weight = 1.0  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.05  # tunable
    right_reach = torch.linalg.vector_norm(state["right_hand_mf_pos"] - state["pen_right_handle_pos"], dim=-1)
    left_reach = torch.linalg.vector_norm(state["left_hand_mf_pos"] - state["pen_left_handle_pos"], dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    slide = state["object_dof_pos"][:, 0]
    velocity_reward = velocity_weight * state["object_dof_vel"][:, 0].clamp(-1.0, 1.0) * (slide < 0.19).float()
    # A bonus that saturates as the cap slides further off.
    success_reward = success_bonus * (1.0 - torch.exp(-slide.clamp(min=0.0) / bonus_temp))
    reward = reach_penalty + velocity_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "velocity_reward": velocity_reward, "success_reward": success_reward}
''',
    "pinch_then_pull": '''def compute_reward(state):
    # design: pinch_then_pull
    pinch_temp = 0.05  # tunable
    pinch_weight = 0.5  # tunable
    pull_weight = 6.0  # tunable
    spin_weight = 0.05  # tunable
    # A pinch: thumb and index fingertip both at the grip point of that hand.
    right_pinch = (torch.linalg.vector_norm(state["right_hand_th_pos"] - state["pen_right_handle_pos"], dim=-1)
        + torch.linalg.vector_norm(state["right_hand_ff_pos"] - state["pen_right_handle_pos"], dim=-1))
    left_pinch = (torch.linalg.vector_norm(state["left_hand_th_pos"] - state["pen_left_handle_pos"], dim=-1)
        + torch.linalg.vector_norm(state["left_hand_ff_pos"] - state["pen_left_handle_pos"], dim=-1))
    right_grip = torch.exp(-right_pinch / pinch_temp)
    left_grip = torch.exp(-left_pinch / pinch_temp)
    pinch_reward = pinch_weight * (right_grip + left_grip)
    pull_reward = pull_weight * right_grip * left_grip * (state["object_dof_pos"][:, 0] / 0.2).clamp(0.0, 1.0)
    # Tumbling the pen does not help pull the cap.
    spin_penalty = -spin_weight * torch.linalg.vector_norm(state["object_angvel"], dim=-1)
    reward = pinch_reward + pull_reward + spin_penalty
    return reward, {"pinch_reward": pinch_reward, "pull_reward": pull_reward, "spin_penalty": spin_penalty}
''',
}
