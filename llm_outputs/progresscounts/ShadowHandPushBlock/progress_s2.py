def compute_progress(state):
    # 1) palms above and behind the cubes, 2) cubes moving towards -x, 3) cubes at the goals.
    behind = horizontal_distance(state["right_hand_pos"], state["object_pos"]) + horizontal_distance(
        state["left_hand_pos"], state["object_another_pos"])
    pushed_x = state["object_pos"][:, 0] + state["object_another_pos"][:, 0]
    at_goal = distance(state["object_pos"], state["right_goal_pos"]) + distance(state["object_another_pos"], state["left_goal_pos"])
    return [behind, pushed_x, at_goal], [-1, -1, -1]
