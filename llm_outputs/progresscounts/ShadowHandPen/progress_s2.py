def compute_progress(state):
    # 1) palms above the handles, 2) fingertips on them, 3) handles apart along y.
    above = horizontal_distance(state["right_hand_pos"], state["pen_right_handle_pos"]) + horizontal_distance(
        state["left_hand_pos"], state["pen_left_handle_pos"])
    touch = fingertips_distance(state["fingertip_pos"], state["pen_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["pen_left_handle_pos"])
    gap_y = (state["pen_right_handle_pos"][:, 1] - state["pen_left_handle_pos"][:, 1]).abs()
    return [above, touch, gap_y], [-1, -1, 1]
