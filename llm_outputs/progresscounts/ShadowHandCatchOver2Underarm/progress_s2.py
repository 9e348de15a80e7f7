def compute_progress(state):
    # 1) the egg flies across (horizontal gap to the goal shrinks); 2) the left fingers wrap it; 3) it sits at the goal.
    across = horizontal_distance(state["object_pos"], state["goal_pos"])
    grasp = fingertips_distance(state["fingertip_another_pos"], state["object_pos"])
    at_goal = distance(state["object_pos"], state["goal_pos"])
    return [across, grasp, at_goal], [-1, -1, -1]
