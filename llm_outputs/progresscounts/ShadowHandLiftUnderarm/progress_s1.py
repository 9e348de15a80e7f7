def compute_progress(state):
    # 1) palms under the handles (horizontally), 2) palms up against them, 3) pot carried to the goal.
    under = horizontal_distance(state["right_hand_pos"], state["pot_right_handle_pos"]) + horizontal_distance(
        state["left_hand_pos"], state["pot_left_handle_pos"])
    gap = (height(state["pot_right_handle_pos"]) - height(state["right_hand_pos"])).abs() + (
        height(state["pot_left_handle_pos"]) - height(state["left_hand_pos"])).abs()
    to_goal = distance(state["object_pos"], state["goal_pos"])
    return [under, gap, to_goal], [-1, -1, -1]
