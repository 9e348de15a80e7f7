def compute_progress(state):
    # Turn both cubes: the worse rotation error first, the sum of both errors after.
    worst = torch.maximum(rotation_distance(state["object_rot"], state["goal_rot"]),
                          rotation_distance(state["object_another_rot"], state["goal_another_rot"]))
    total = rotation_distance(state["object_rot"], state["goal_rot"]) + rotation_distance(
        state["object_another_rot"], state["goal_another_rot"])
    return [worst, total], [-1, -1]
