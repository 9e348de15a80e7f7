"""The Multi-Particle scenarios of LaRe's experiments, and what both backends share: K-nearest observations
(the same layout in mpe2 and VMAS) and the scripted prey of the tag scenarios."""

import torch

# The scenarios LaRe uses. Learners: the agents (spread) or the predators (tag).
SCENARIOS = {
    "spread_n6": dict(kind="spread", n_agents=6, n_landmarks=6, n_prey=0),
    "spread_n15": dict(kind="spread", n_agents=15, n_landmarks=15, n_prey=0),
    "spread_n30": dict(kind="spread", n_agents=30, n_landmarks=30, n_prey=0),
    "tag_n6": dict(kind="tag", n_agents=6, n_landmarks=3, n_prey=2),
    "tag_n15": dict(kind="tag", n_agents=15, n_landmarks=5, n_prey=5),
    "tag_n30": dict(kind="tag", n_agents=30, n_landmarks=10, n_prey=10),
}
K_LANDMARKS, K_AGENTS, K_PREY = 6, 5, 5  # each agent observes the 6 nearest landmarks, 5 nearest agents (5 nearest prey)
AGENT_SIZE = {"spread": 0.15, "tag": 0.075}  # the same radii in mpe2 and VMAS
PREY_SIZE, LANDMARK_SIZE_TAG = 0.05, 0.2
# Direction of each discrete action. mpe2: [no-op, -x, +x, -y, +y]. VMAS: 3 x 3 grid, index = 3 * ix + iy with
# 0 -> stay, 1 -> minus, 2 -> plus on each axis (9 actions, diagonals included).
MPE2_DIRECTIONS = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
VMAS_DIRECTIONS = [((0, -1, 1)[a // 3], (0, -1, 1)[a % 3]) for a in range(9)]


def observation_layout(scn):
    """[(name, size, description)] of one learner's observation; the same layout for both backends."""
    k_l, k_a = min(K_LANDMARKS, scn["n_landmarks"]), min(K_AGENTS, scn["n_agents"] - 1)
    mates = "predators" if scn["kind"] == "tag" else "agents"
    layout = [("vel", 2, "the agent's own velocity (x, y)"),
              ("pos", 2, "the agent's own absolute position (x, y)"),
              ("landmarks", 2 * k_l, f"the positions of the {k_l} nearest landmarks relative to the agent, nearest first, (x, y) each"),
              ("mates", 2 * k_a, f"the positions of the {k_a} nearest other {mates} relative to the agent, nearest first, (x, y) each")]
    if scn["kind"] == "tag":
        k_p = min(K_PREY, scn["n_prey"])
        layout += [("prey_pos", 2 * k_p, f"the positions of the {k_p} nearest prey relative to the agent, nearest first, (x, y) each"),
                   ("prey_vel", 2 * k_p, f"the velocities of the same {k_p} prey, in the same order, (x, y) each")]
    return layout


def nearest(src, dst, k, exclude_self=False):
    """Relative positions dst - src of the k nearest dst per src row (nearest first) and their indices.
    src (B, N, 2), dst (B, M, 2) -> (B, N, k, 2), (B, N, k)."""
    rel = dst[:, None, :, :] - src[:, :, None, :]
    dist = rel.norm(dim=-1)
    if exclude_self:
        dist = dist + torch.diag(torch.full((src.shape[1],), float("inf"), device=src.device))
    idx = dist.topk(k, dim=-1, largest=False, sorted=True).indices
    return rel.gather(2, idx[..., None].expand(*idx.shape, 2)), idx


def build_observation(scn, pos, vel, landmarks, prey_pos=None, prey_vel=None):
    """K-nearest observation of every learner from the world state (torch, batched): (B, N, obs_dim)."""
    b, n = pos.shape[:2]
    k_l, k_a = min(K_LANDMARKS, scn["n_landmarks"]), min(K_AGENTS, n - 1)
    parts = [vel, pos, nearest(pos, landmarks, k_l)[0].reshape(b, n, -1), nearest(pos, pos, k_a, True)[0].reshape(b, n, -1)]
    if scn["kind"] == "tag":
        rel, idx = nearest(pos, prey_pos, min(K_PREY, scn["n_prey"]))
        pv = prey_vel[:, None].expand(b, n, *prey_vel.shape[1:]).gather(2, idx[..., None].expand(*idx.shape, 2))
        parts += [rel.reshape(b, n, -1), pv.reshape(b, n, -1)]
    return torch.cat(parts, dim=-1)


def scripted_prey_actions(prey_pos, pred_pos, directions):
    """The prey policy (the reference drives prey with a pre-trained checkpoint that is not public; this replaces it).
    Each prey flees the predators, weighting each by 1/distance, and is pushed back when it leaves the [-0.8, 0.8]
    square (mpe2 penalises prey outside 0.9, VMAS walls them in at 1); it takes the discrete action whose direction
    best matches. prey_pos (B, P, 2), pred_pos (B, N, 2), directions (A, 2) -> actions (B, P)."""
    away = prey_pos[:, :, None] - pred_pos[:, None]
    flee = (away / (away**2).sum(-1, keepdim=True).clamp(min=1e-2)).sum(2)
    flee = flee / flee.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    outside = (prey_pos.abs() - 0.8).clamp(min=0) * prey_pos.sign()
    steer = flee - 10.0 * outside
    unit = directions / directions.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    return (steer @ unit.T).argmax(-1)
