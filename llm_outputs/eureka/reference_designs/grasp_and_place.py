"""ShadowHandGraspAndPlace: bring the left hand's cube and the right hand's bucket together, the cube into the bucket.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandGraspAndPlace",)

DESIGNS = {
    "bring_together_exp": '''def compute_reward(state):
    # design: bring_together_exp
    reach_temp = 0.1  # tunable
    apart_temp = 0.1  # tunable
    reach_weight = 0.5  # tunable
    apart_weight = 2.0  # tunable
    right_tips = state["fingertip_pos"] - state["block_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["block_left_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    apart = torch.linalg.vector_norm(state["block_right_handle_pos"] - state["block_left_handle_pos"], dim=-1)
    apart_reward = apart_weight * torch.exp(-apart / apart_temp)
    reward = reach_reward + apart_reward
    return reward, {"reach_reward": reach_reward, "apart_reward": apart_reward}
''',
    "cube_over_bucket": '''def compute_reward(state):
    # design: cube_over_bucket
    horizontal_weight = 3.0  # tunable
    lift_weight = 5.0  # tunable
    grasp_weight = 1.0  # tunable
    inside_bonus = 5.0  # tunable
    cube, bucket = state["block_left_handle_pos"], state["block_right_handle_pos"]
    horizontal = torch.linalg.vector_norm(cube[:, :2] - bucket[:, :2], dim=-1)
    horizontal_penalty = -horizontal_weight * horizontal
    # Carry the cube above the bucket's rim (0.05 m above its centre) while it is not yet over the bucket.
    lift = (cube[:, 2] - bucket[:, 2]).clamp(-0.05, 0.1)
    lift_reward = lift_weight * lift * (horizontal > 0.05).float()
    grasp_penalty = -grasp_weight * torch.linalg.vector_norm(state["left_hand_pos"] - cube, dim=-1)
    inside = (horizontal < 0.05) & (cube[:, 2] < bucket[:, 2] + 0.05)
    inside_reward = inside_bonus * inside.float()
    reward = horizontal_penalty + lift_reward + grasp_penalty + inside_reward
    return reward, {"horizontal_penalty": horizontal_penalty, "lift_reward": lift_reward, "grasp_penalty": grasp_penalty,
                    "inside_reward": inside_reward}
''',
    "push_cube_progress": '''def compute_reward(state):
    # design: push_cube_progress
    palm_temp = 0.05  # tunable
    palm_weight = 1.0  # tunable
    apart_weight = 4.0  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.05  # tunable
    cube, bucket = state["block_left_handle_pos"], state["block_right_handle_pos"]
    to_bucket = bucket - cube
    apart = torch.linalg.vector_norm(to_bucket, dim=-1)
    direction = to_bucket / (apart.unsqueeze(-1) + 1e-6)
    # Pushing pose: the left palm 0.06 m behind the cube, on the side away from the bucket.
    palm_target = cube - 0.06 * direction
    palm_dist = torch.linalg.vector_norm(state["left_hand_pos"] - palm_target, dim=-1)
    palm_reward = palm_weight * torch.exp(-palm_dist / palm_temp)
    apart_penalty = -apart_weight * apart
    success_reward = success_bonus * torch.exp(-apart / bonus_temp)
    reward = palm_reward + apart_penalty + success_reward
    return reward, {"palm_reward": palm_reward, "apart_penalty": apart_penalty, "success_reward": success_reward}
''',
    "both_hands_meet": '''def compute_reward(state):
    # design: both_hands_meet
    reach_weight = 1.0  # tunable
    progress_weight = 4.0  # tunable
    success_bonus = 5.0  # tunable
    bonus_temp = 0.05  # tunable
    right_tips = state["fingertip_pos"] - state["block_right_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["block_left_handle_pos"].unsqueeze(1)
    reach_penalty = -reach_weight * (torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
                                     + torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1))
    # Either hand may move its object: progress over the last 0.4 m between them, then a bonus that grows as they meet.
    apart = torch.linalg.vector_norm(state["block_right_handle_pos"] - state["block_left_handle_pos"], dim=-1)
    progress_reward = progress_weight * ((0.4 - apart) / 0.4).clamp(0.0, 1.0)
    success_reward = success_bonus * torch.exp(-apart / bonus_temp)
    reward = reach_penalty + progress_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "progress_reward": progress_reward, "success_reward": success_reward}
''',
}
