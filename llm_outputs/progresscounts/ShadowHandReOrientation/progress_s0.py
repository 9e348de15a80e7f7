def compute_progress(state):
    # Keep the cubes in the palms, then turn them to the goal orientation.
    held = distance(state["object_pos"], state["goal_pos"]) + distance(state["object_another_pos"], state["goal_another_pos"])
    turned = rotation_distance(state["object_rot"], state["goal_rot"]) + rotation_distance(
        state["object_another_rot"], state["goal_another_rot"])
    return [held, turned], [-1, -1]
