def compute_progress(state):
    # 1) one fingertip of each hand at its handle, 2) the handles swap sides in y (right handle from +y to -y).
    reach = closest_fingertip_distance(state["fingertip_pos"], state["cup_right_handle_pos"]) + \
        closest_fingertip_distance(state["fingertip_another_pos"], state["cup_left_handle_pos"])
    gap_y = state["cup_right_handle_pos"][:, 1] - state["cup_left_handle_pos"][:, 1]
    return [reach, gap_y], [-1, -1]
