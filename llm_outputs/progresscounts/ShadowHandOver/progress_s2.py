def compute_progress(state):
    # The egg travels along -y from the right hand (y ~ -0.39) to the goal (y ~ -0.64);
    # then the left fingers close around it.
    travel = state["object_pos"][:, 1]
    grasp = fingertips_distance(state["fingertip_another_pos"], state["object_pos"])
    return [travel, grasp], [-1, -1]
