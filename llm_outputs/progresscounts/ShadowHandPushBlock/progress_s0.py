def compute_progress(state):
    # 1) fingertips on the cubes; 2) cubes pushed onto their goals.
    reach = fingertips_distance(state["fingertip_pos"], state["object_pos"]) + fingertips_distance(
        state["fingertip_another_pos"], state["object_another_pos"])
    push = distance(state["object_pos"], state["right_goal_pos"]) + distance(state["object_another_pos"], state["left_goal_pos"])
    return [reach, push], [-1, -1]
