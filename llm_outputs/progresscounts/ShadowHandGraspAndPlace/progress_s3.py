def compute_progress(state):
    # The worse hand decides the contact; then the cube-bucket distance, then keeping the bucket upright and still.
    contact = torch.maximum(closest_fingertip_distance(state["fingertip_pos"], state["block_right_handle_pos"]),
                            closest_fingertip_distance(state["fingertip_another_pos"], state["block_left_handle_pos"]))
    together = distance(state["block_left_handle_pos"], state["block_right_handle_pos"])
    still = torch.norm(state["object_linvel"], dim=-1)
    return [contact, together, still], [-1, -1, -1]
