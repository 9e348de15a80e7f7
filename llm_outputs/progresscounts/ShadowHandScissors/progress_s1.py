def compute_progress(state):
    # Reach each handle with the closest fingertip, then open the joint.
    reach = closest_fingertip_distance(state["fingertip_pos"], state["scissors_right_handle_pos"]) + \
        closest_fingertip_distance(state["fingertip_another_pos"], state["scissors_left_handle_pos"])
    opened = state["object_dof_pos"][:, 0]
    return [reach, opened], [-1, 1]
