def compute_progress(state):
    # 1) cubes kept above the palms, 2) the second cube's rotation error, 3) goals reached so far this episode.
    height_kept = torch.minimum(height(state["object_pos"]), height(state["object_another_pos"]))
    second = rotation_distance(state["object_another_rot"], state["goal_another_rot"])
    goals = state["successes"].float()
    return [height_kept, second, goals], [1, -1, 1]
