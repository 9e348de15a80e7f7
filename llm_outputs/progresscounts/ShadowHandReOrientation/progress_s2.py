def compute_progress(state):
    # 1) cubes kept above the palms, 2) the second cube turned onto its goal (a goal counts when it gets there).
    height_kept = torch.minimum(height(state["object_pos"]), height(state["object_another_pos"]))
    second = rotation_distance(state["object_another_rot"], state["goal_another_rot"])
    return [height_kept, second], [1, -1]
