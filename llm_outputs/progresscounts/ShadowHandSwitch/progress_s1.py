def compute_progress(state):
    # Reach with the closest fingertip of each hand, then turn the toggles (hinge angles grow as they are pressed).
    reach = closest_fingertip_distance(state["fingertip_pos"], state["switch_right_handle_pos"]) + \
        closest_fingertip_distance(state["fingertip_another_pos"], state["switch_left_handle_pos"])
    pressed = state["object_dof_pos"].sum(dim=-1)
    return [reach, pressed], [-1, 1]
