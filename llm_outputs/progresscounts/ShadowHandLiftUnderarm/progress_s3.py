def compute_progress(state):
    # 1) fingers around the handles, 2) palms beneath them, 3) pot lifted to the goal.
    fingers = fingertips_distance(state["fingertip_pos"], state["pot_right_handle_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["pot_left_handle_pos"])
    palms = distance(state["right_hand_pos"], state["pot_right_handle_pos"]) + distance(
        state["left_hand_pos"], state["pot_left_handle_pos"])
    to_goal = distance(state["object_pos"], state["goal_pos"])
    return [fingers, palms, to_goal], [-1, -1, -1]
