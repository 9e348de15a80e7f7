def compute_progress(state):
    # 1) both cubes brought together in the middle, 2) the left cube above the right one at stacking height.
    together = distance(state["object_pos"], state["stack_bottom_pos"]) + horizontal_distance(
        state["object_another_pos"], state["stack_top_pos"])
    stacked = distance(state["object_another_pos"], state["stack_top_pos"])
    return [together, stacked], [-1, -1]
