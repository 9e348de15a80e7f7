def compute_progress(state):
    # Reach each handle with the closest fingertip, then slide the cap off (the slide grows from 0).
    reach = closest_fingertip_distance(state["fingertip_pos"], state["pen_right_handle_pos"]) + \
        closest_fingertip_distance(state["fingertip_another_pos"], state["pen_left_handle_pos"])
    opened = state["object_dof_pos"][:, 0]
    return [reach, opened], [-1, 1]
