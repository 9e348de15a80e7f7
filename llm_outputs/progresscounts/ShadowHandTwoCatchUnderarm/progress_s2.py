def compute_progress(state):
    # 1) both eggs cross over horizontally; 2) both are held at their goals in 3-D.
    across = horizontal_distance(state["object_pos"], state["goal_pos"]) + horizontal_distance(
        state["object_another_pos"], state["goal_another_pos"])
    held = distance(state["object_pos"], state["goal_pos"]) + distance(state["object_another_pos"], state["goal_another_pos"])
    return [across, held], [-1, -1]
