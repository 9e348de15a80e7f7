def compute_progress(state):
    # The worse hand decides the contact; then the kettle's tilt (its up axis leaving the vertical); then the pour.
    contact = torch.maximum(closest_fingertip_distance(state["fingertip_pos"], state["kettle_handle_pos"]),
                            closest_fingertip_distance(state["fingertip_another_pos"], state["bucket_handle_pos"]))
    q = state["object_rot"]
    tilt = 2.0 * (q[:, 0] ** 2 + q[:, 1] ** 2)  # 1 - (kettle's up axis)_z, from the (x, y, z, w) quaternion
    pour = distance(state["kettle_spout_pos"], state["bucket_handle_pos"])
    return [contact, tilt, pour], [-1, 1, -1]
