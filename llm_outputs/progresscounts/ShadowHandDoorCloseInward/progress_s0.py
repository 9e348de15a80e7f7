def compute_progress(state):
    # 1) both hands reach their handles; 2) the handle gap closes as the leaves shut.
    reach = fingertips_distance(state["fingertip_pos"], state["door_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["door_left_handle_pos"])
    gap = (state["door_right_handle_pos"][:, 1] - state["door_left_handle_pos"][:, 1]).abs()
    return [reach, gap], [-1, -1]
