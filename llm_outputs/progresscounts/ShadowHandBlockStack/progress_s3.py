def compute_progress(state):
    # Left fingertips close on the top cube, the cube rises, then it settles on the bottom cube's top face (5 cm up).
    grasp = closest_fingertip_distance(state["fingertip_another_pos"], state["object_another_pos"])
    rise = height(state["object_another_pos"]) - height(state["object_pos"])
    settle = horizontal_distance(state["object_another_pos"], state["object_pos"]) + (rise - 0.05).abs()
    return [grasp, rise, settle], [-1, 1, -1]
