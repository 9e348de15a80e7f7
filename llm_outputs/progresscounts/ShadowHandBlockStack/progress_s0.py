def compute_progress(state):
    # 1) grasp both cubes, 2) the bottom cube at the centre, 3) the top cube stacked on it.
    grasp = fingertips_distance(state["fingertip_pos"], state["object_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["object_another_pos"])
    bottom = distance(state["object_pos"], state["stack_bottom_pos"])
    top = distance(state["object_another_pos"], state["stack_top_pos"])
    return [grasp, bottom, top], [-1, -1, -1]
