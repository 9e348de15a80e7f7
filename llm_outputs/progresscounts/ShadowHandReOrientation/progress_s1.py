def compute_progress(state):
    # The second cube's rotation decides when a goal counts: turn the first cube, then the second.
    first = rotation_distance(state["object_rot"], state["goal_rot"])
    second = rotation_distance(state["object_another_rot"], state["goal_another_rot"])
    return [first, second], [-1, -1]
