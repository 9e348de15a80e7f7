def compute_progress(state):
    # The palm farther from its handle decides the grasp; then the pot rises towards the goal height.
    grasp = torch.maximum(distance(state["right_hand_pos"], state["pot_right_handle_pos"]),
                          distance(state["left_hand_pos"], state["pot_left_handle_pos"]))
    rise = height(state["goal_pos"]) - height(state["object_pos"])
    return [grasp, rise], [-1, -1]
