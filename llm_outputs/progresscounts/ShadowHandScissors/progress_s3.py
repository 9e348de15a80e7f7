def compute_progress(state):
    # The hand farther from its handle decides the grasp sub-task; then the joint opens.
    grasp = torch.maximum(closest_fingertip_distance(state["fingertip_pos"], state["scissors_right_handle_pos"]),
                          closest_fingertip_distance(state["fingertip_another_pos"], state["scissors_left_handle_pos"]))
    apart = distance(state["scissors_right_handle_pos"], state["scissors_left_handle_pos"])
    return [grasp, apart], [-1, 1]
