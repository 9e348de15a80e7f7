def compute_progress(state):
    # The bottle must stay still in the left hand; then the right palm goes to the cap; then the cap slides off.
    still = torch.norm(state["object_linvel"], dim=-1) + distance(state["left_hand_pos"], state["bottle_pos"])
    approach = distance(state["right_hand_pos"], state["bottle_cap_pos"])
    opened = distance(state["bottle_cap_up"], state["bottle_pos"])
    return [still, approach, opened], [-1, -1, 1]
