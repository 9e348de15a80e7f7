def compute_progress(state):
    # 1) palms above the handles, 2) fingertips on them, 3) handles apart along y.
    above = horizontal_distance(state["right_hand_pos"], state["scissors_right_handle_pos"]) + horizontal_distance(
        state["left_hand_pos"], state["scissors_left_handle_pos"])
    touch = fingertips_distance(state["fingertip_pos"], state["scissors_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["scissors_left_handle_pos"])
    gap_y = (state["scissors_right_handle_pos"][:, 1] - state["scissors_left_handle_pos"][:, 1]).abs()
    return [above, touch, gap_y], [-1, -1, 1]
