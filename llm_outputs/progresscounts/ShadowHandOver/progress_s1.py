def compute_progress(state):
    # Sub-task 1: carry the egg across horizontally; sub-task 2: settle it at the goal in 3-D.
    across = horizontal_distance(state["object_pos"], state["goal_pos"])
    settle = distance(state["object_pos"], state["goal_pos"])
    return [across, settle], [-1, -1]
