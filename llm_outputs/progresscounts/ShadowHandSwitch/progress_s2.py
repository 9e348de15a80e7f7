def compute_progress(state):
    # 1) palms above the switches, 2) fingertips on the toggles, 3) the less-pressed toggle goes down too.
    above = horizontal_distance(state["right_hand_pos"], state["switch_right_handle_pos"]) + horizontal_distance(
        state["left_hand_pos"], state["switch_left_handle_pos"])
    touch = fingertips_distance(state["fingertip_pos"], state["switch_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["switch_left_handle_pos"])
    weakest = torch.minimum(state["object_dof_pos"][:, 0], state["object_dof_pos"][:, 1])
    return [above, touch, weakest], [-1, -1, 1]
