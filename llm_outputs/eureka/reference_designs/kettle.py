"""ShadowHandKettle: the right hand takes the kettle by its handle, the left hand holds the bucket, and the kettle's
spout must reach into the bucket, down to the centre of its bottom.

2026-12-07: success bonuses no longer use the success test's thresholds, which the prompt does not state.
"""

TASKS = ("ShadowHandKettle",)

DESIGNS = {
    "handle_and_spout_exp": '''def compute_reward(state):
    # design: handle_and_spout_exp
    reach_temp = 0.1  # tunable
    pour_temp = 0.05  # tunable
    reach_weight = 0.5  # tunable
    pour_weight = 3.0  # tunable
    right_tips = state["fingertip_pos"] - state["kettle_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["bucket_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_reward = reach_weight * (torch.exp(-right_reach / reach_temp) + torch.exp(-left_reach / reach_temp))
    pour_dist = torch.linalg.vector_norm(state["kettle_spout_pos"] - state["bucket_handle_pos"], dim=-1)
    pour_reward = pour_weight * torch.exp(-pour_dist / pour_temp)
    reward = reach_reward + pour_reward
    return reward, {"reach_reward": reach_reward, "pour_reward": pour_reward}
''',
    "lift_and_tilt": '''def compute_reward(state):
    # design: lift_and_tilt
    grip_weight = 1.0  # tunable
    lift_weight = 5.0  # tunable
    tilt_weight = 3.0  # tunable
    spout_weight = 2.0  # tunable
    grip_penalty = -grip_weight * torch.linalg.vector_norm(state["right_hand_pos"] - state["kettle_handle_pos"], dim=-1)
    # Lift the kettle off the table (its centre starts at 0.49 m) ...
    lift_reward = lift_weight * (state["object_pos"][:, 2] - 0.49).clamp(0.0, 0.1)
    # ... tip it forward so that the spout goes below the handle ...
    tilt_reward = tilt_weight * (state["kettle_handle_pos"][:, 2] - state["kettle_spout_pos"][:, 2]).clamp(-0.1, 0.15)
    # ... with the spout over the bucket's opening.
    spout_offset = state["kettle_spout_pos"][:, :2] - state["bucket_pos"][:, :2]
    spout_penalty = -spout_weight * torch.linalg.vector_norm(spout_offset, dim=-1)
    reward = grip_penalty + lift_reward + tilt_reward + spout_penalty
    return reward, {"grip_penalty": grip_penalty, "lift_reward": lift_reward, "tilt_reward": tilt_reward,
                    "spout_penalty": spout_penalty}
''',
    "gated_pour": '''def compute_reward(state):
    # design: gated_pour
    reach_weight = 1.0  # tunable
    pour_weight = 4.0  # tunable
    near_radius = 0.12  # tunable
    success_bonus = 10.0  # tunable
    bonus_temp = 0.02  # tunable
    right_tips = state["fingertip_pos"] - state["kettle_handle_pos"].unsqueeze(1)
    left_tips = state["fingertip_another_pos"] - state["bucket_handle_pos"].unsqueeze(1)
    right_reach = torch.linalg.vector_norm(right_tips, dim=-1).mean(dim=-1)
    left_reach = torch.linalg.vector_norm(left_tips, dim=-1).mean(dim=-1)
    reach_penalty = -reach_weight * (right_reach + left_reach)
    # Moving the spout only counts while the hands hold the kettle and the bucket.
    holding = ((right_reach < near_radius) & (left_reach < near_radius)).float()
    pour_dist = torch.linalg.vector_norm(state["kettle_spout_pos"] - state["bucket_handle_pos"], dim=-1)
    pour_reward = pour_weight * holding * (0.25 - pour_dist).clamp(min=0.0)
    # The closer the spout gets to the centre of the bucket's bottom, the larger the bonus.
    success_reward = success_bonus * torch.exp(-pour_dist / bonus_temp)
    reward = reach_penalty + pour_reward + success_reward
    return reward, {"reach_penalty": reach_penalty, "pour_reward": pour_reward, "success_reward": success_reward}
''',
    "spout_into_bucket": '''def compute_reward(state):
    # design: spout_into_bucket
    align_temp = 0.05  # tunable
    align_weight = 2.0  # tunable
    depth_weight = 10.0  # tunable
    grip_temp = 0.1  # tunable
    steady_weight = 0.5  # tunable
    grip = torch.exp(-torch.linalg.vector_norm(state["right_hand_pos"] - state["kettle_handle_pos"], dim=-1) / grip_temp)
    # First line the spout up over the bucket's opening, then lower it towards the bucket's bottom.
    horizontal = torch.linalg.vector_norm(state["kettle_spout_pos"][:, :2] - state["bucket_pos"][:, :2], dim=-1)
    align_reward = align_weight * grip * torch.exp(-horizontal / align_temp)
    depth = (state["bucket_pos"][:, 2] - state["kettle_spout_pos"][:, 2]).clamp(0.0, 0.1)
    # Depth counts in proportion to how well the spout is lined up over the opening.
    depth_reward = depth_weight * depth * torch.exp(-horizontal / align_temp)
    # The left hand keeps the bucket upright: its rim stays 0.10 m above its bottom.
    bucket_height = state["bucket_pos"][:, 2] - state["bucket_handle_pos"][:, 2]
    left_hold = torch.linalg.vector_norm(state["left_hand_pos"] - state["bucket_pos"], dim=-1)
    steady_penalty = -steady_weight * ((0.1 - bucket_height).clamp(min=0.0) / 0.1 + left_hold)
    reward = align_reward + depth_reward + steady_penalty
    return reward, {"align_reward": align_reward, "depth_reward": depth_reward, "steady_penalty": steady_penalty}
''',
}
