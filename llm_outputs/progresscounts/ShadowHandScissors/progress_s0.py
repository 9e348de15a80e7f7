def compute_progress(state):
    # 1) fingertips at both handles; 2) handles pulled apart.
    reach = fingertips_distance(state["fingertip_pos"], state["scissors_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["scissors_left_handle_pos"])
    apart = distance(state["scissors_right_handle_pos"], state["scissors_left_handle_pos"])
    return [reach, apart], [-1, 1]
