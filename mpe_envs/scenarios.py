"""The Multi-Particle scenarios of LaRe's MPE experiments, its `simple_spread_n{6,15,30}_noshare` (Cooperative
Navigation) and `simple_tag_n{6,15,30}_noshare` (Predator-Prey), and everything both backends share: constants, start
positions, K-nearest observations, each learner's own reward, and the scripted prey (LaRe's pretrained DDPG actor).

Source of the numbers: github.com/thu-rllab/LaRe (MIT), mpe/envs/multiagent-particle-envs/multiagent/, abbreviated S/
for scenarios/. Physics constants shared by every scenario (core_vec.py:171-176): dt 0.1, damping 0.25, contact force
100, contact margin 1e-3, mass 1; velocity is damped, the force added, the speed clipped, then the position moved.
"""

from pathlib import Path

import numpy as np
import torch

DT, DAMPING, CONTACT_FORCE, CONTACT_MARGIN = 0.1, 0.25, 100.0, 1e-3
# The 5 discrete actions of every learner (environment.py:163-169): no-op, -x, +x, -y, +y; force = direction x accel
DIRECTIONS = [(0.0, 0.0), (-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 1.0)]
N_ACTIONS = len(DIRECTIONS)


def _spread(n, world_radius):
    # S/simple_spread_n*_noshare.py: agent radius 0.15 (collision below 0.3), landmarks do not collide, no accel
    # set (force 5) and no max speed; each agent sees the 6 nearest landmarks and the 5 nearest other agents
    return dict(kind="spread", n_agents=n, n_landmarks=n, n_prey=0, world_radius=world_radius, agent_size=0.15,
                collide_dist=0.3, landmark_spacing=4.5 * 0.15, accel=5.0, max_speed=None,
                k_landmarks=6, k_mates=5, k_prey=0)


def _tag(n, n_prey, n_landmarks, world_radius, prey_size, agent_size, landmark_size, k_landmarks, k_mates, k_prey):
    # S/simple_tag_n*_noshare.py: predators accel 3 / max speed 1, prey 4 / 1.3; a catch is a distance below
    # r_prey + r_pred. landmark_size is kept for reference only: LaRe's contacts use 2 x agent_size for every pair
    # (see physics_radius)
    return dict(kind="tag", n_agents=n, n_landmarks=n_landmarks, n_prey=n_prey, world_radius=world_radius,
                agent_size=agent_size, prey_size=prey_size, landmark_size=landmark_size, catch_dist=prey_size + agent_size,
                accel=3.0, max_speed=1.0, prey_accel=4.0, prey_max_speed=1.3,
                k_landmarks=k_landmarks, k_mates=k_mates, k_prey=k_prey)


# Learners: the agents (spread) or the predators (tag); the prey are scripted.
SCENARIOS = {
    # N, R (S/simple_spread_n*_noshare.py:15, :20)
    "spread_n6": _spread(6, 1.5),
    "spread_n15": _spread(15, 2.2),
    "spread_n30": _spread(30, 3.0),
    # N, prey, landmarks, R, radii of prey / predators / landmarks, predator's K landmarks / predators / prey
    # (S/simple_tag_n*_noshare.py:24-33, :61-63)
    "tag_n6": _tag(6, 2, 3, 1.5, 0.05, 0.075, 0.2, 3, 5, 2),
    "tag_n15": _tag(15, 5, 5, 1.0, 0.01, 0.02, 0.1, 3, 6, 3),
    "tag_n30": _tag(30, 10, 10, 1.0, 0.005, 0.01, 0.05, 5, 6, 5),
}
TAG_DIST_COEF, CATCH_REWARD = 0.1, 10.0  # S/simple_tag_n6_noshare.py:147-159
# What a prey sees, in every tag scenario (S/simple_tag_n6_noshare.py:58-60): 3 landmarks, 6 predators, 1 other prey
PREY_K_LANDMARKS, PREY_K_PREDATORS, PREY_K_PREY = 3, 6, 1
PREY_WEIGHTS = Path(__file__).with_name("lare_prey_actor.npz")


def physics_radius(scn):
    """The radius every colliding entity gets in the simulation. LaRe's world (core_vec.py:196, :313) makes every
    colliding pair touch at 2 x the first agent's radius, whatever their sizes: in tag predators, prey and landmarks all
    collide at 2 r_pred. Sizes only matter for the catch distance of the reward."""
    return scn["agent_size"]


# ---------------------------------------------------------------------------------------------------------------------
# Start positions
# ---------------------------------------------------------------------------------------------------------------------
def sample_positions(scn, n, rand):
    """Start positions of n envs (LaRe's reset_world): every agent (predators, then prey) uniform in [-R, R]^2; tag
    landmarks uniform in [-(R - 0.1), R - 0.1]^2; spread landmarks at least 0.675 apart in [-R, R]^2.
    rand(shape) returns uniform [0, 1) numbers from the env's own generator. -> agents (n, N, 2), landmarks (n, L, 2),
    prey (n, P, 2) or None."""
    r, n_learners = scn["world_radius"], scn["n_agents"]
    agents = (2 * rand((n, n_learners + scn["n_prey"], 2)) - 1) * r
    if scn["kind"] == "spread":
        return agents, spaced_points(n, scn["n_landmarks"], r, scn["landmark_spacing"], rand), None
    landmarks = (2 * rand((n, scn["n_landmarks"], 2)) - 1) * (r - 0.1)
    return agents[:, :n_learners], landmarks, agents[:, n_learners:]


def spaced_points(n, count, half, spacing, rand, candidates=32):
    """count points per env in [-half, half]^2, pairwise at least `spacing` apart, by dart throwing: each point is the
    first of `candidates` uniform draws that keeps the spacing (redrawn for the envs where none does). LaRe takes a
    random subset of a Bridson Poisson-disc set instead (S/simple_spread_n6_noshare.py:43-47, :61): the same constraint
    and support; the two spacing statistics differ slightly. At these densities (at most 30 points at 0.675 in 6 x 6)
    dart throwing never jams."""
    points = [(2 * rand((n, 2)) - 1) * half]
    for _ in range(count - 1):
        placed, point = torch.stack(points, 1), torch.empty_like(points[0])
        todo = torch.arange(n, device=placed.device)
        for _ in range(1000):
            cand = (2 * rand((len(todo), candidates, 2)) - 1) * half
            ok = (cand[:, :, None] - placed[todo, None]).norm(dim=-1).min(-1).values >= spacing
            found = ok.any(1)
            point[todo[found]] = cand[found, ok[found].int().argmax(1)]  # the first candidate that fits
            todo = todo[~found]
            if len(todo) == 0:
                break
        else:
            raise RuntimeError("could not place the landmarks")
        points.append(point)
    return torch.stack(points, 1)


# ---------------------------------------------------------------------------------------------------------------------
# Observations: vel, pos, then the K nearest entities of each group relative to the observer, nearest first
# ---------------------------------------------------------------------------------------------------------------------
def observation_layout(scn):
    """[(name, size, description)] of one learner's observation; the same layout for both backends."""
    k_l, k_a, mates = scn["k_landmarks"], scn["k_mates"], "predators" if scn["kind"] == "tag" else "agents"
    layout = [("vel", 2, "the agent's own velocity (x, y)"),
              ("pos", 2, "the agent's own absolute position (x, y)"),
              ("landmarks", 2 * k_l, f"the positions of the {k_l} nearest landmarks relative to the agent, nearest first, (x, y) each"),
              ("mates", 2 * k_a, f"the positions of the {k_a} nearest other {mates} relative to the agent, nearest first, (x, y) each")]
    if scn["kind"] == "tag":
        k_p = scn["k_prey"]
        layout += [("prey_pos", 2 * k_p, f"the positions of the {k_p} nearest prey relative to the agent, nearest first, (x, y) each"),
                   ("prey_vel", 2 * k_p, f"the velocities of the same {k_p} prey, in the same order, (x, y) each")]
    return layout


def nearest(src, dst, k, exclude_self=False):
    """Relative positions dst - src of the k nearest dst per src row (nearest first) and their indices.
    src (B, N, 2), dst (B, M, 2) -> (B, N, k, 2), (B, N, k)."""
    assert k <= dst.shape[1] - exclude_self, "fewer entities than the observation shows"
    rel = dst[:, None, :, :] - src[:, :, None, :]
    dist = rel.norm(dim=-1)
    if exclude_self:
        dist = dist + torch.diag(torch.full((src.shape[1],), float("inf"), dtype=dist.dtype, device=src.device))
    idx = dist.topk(k, dim=-1, largest=False, sorted=True).indices
    return rel.gather(2, idx[..., None].expand(*idx.shape, 2)), idx


def knearest_observation(pos, vel, groups):
    """[vel, pos] then, for each group (points, k, points are the observers themselves, their velocities or None),
    the k nearest points relative to pos, and those points' velocities in the same order when given. (B, N, dim)."""
    b, n = pos.shape[:2]
    parts = [vel, pos]
    for points, k, same, points_vel in groups:
        rel, idx = nearest(pos, points, k, same)
        parts.append(rel.reshape(b, n, -1))
        if points_vel is not None:
            v = points_vel[:, None].expand(b, n, *points_vel.shape[1:]).gather(2, idx[..., None].expand(*idx.shape, 2))
            parts.append(v.reshape(b, n, -1))
    return torch.cat(parts, dim=-1)


def build_observation(scn, pos, vel, landmarks, prey_pos=None, prey_vel=None):
    """Every learner's observation (S/simple_spread_n6_noshare.py:108-142, S/simple_tag_n6_noshare.py:198-234)."""
    groups = [(landmarks, scn["k_landmarks"], False, None), (pos, scn["k_mates"], True, None)]
    if scn["kind"] == "tag":
        groups.append((prey_pos, scn["k_prey"], False, prey_vel))
    return knearest_observation(pos, vel, groups)


def prey_observation(prey_pos, prey_vel, landmarks, pred_pos):
    """Every prey's 26 inputs of the scripted policy (S/simple_tag_n6_noshare.py:162-197): vel, pos, the 3 nearest
    landmarks, the 6 nearest predators, the nearest other prey and its velocity, all relative positions nearest first."""
    return knearest_observation(prey_pos, prey_vel, [(landmarks, PREY_K_LANDMARKS, False, None),
                                                     (pred_pos, PREY_K_PREDATORS, False, None),
                                                     (prey_pos, PREY_K_PREY, True, prey_vel)])


# ---------------------------------------------------------------------------------------------------------------------
# Rewards: each learner's own (LaRe's *_noshare scenarios do not share them); the team reward is their sum
# ---------------------------------------------------------------------------------------------------------------------
def lare_rewards(scn, pos, landmarks, prey_pos=None):
    """(B, N) rewards of the learners at positions pos (B, N, 2).
    spread (S/simple_spread_n6_noshare.py:92-106): -(distance to the agent's own nearest landmark) - (number of other
    agents closer than 0.3). LaRe counts the agent itself as a collision and adds 1 back.
    tag (S/simple_tag_n6_noshare.py:147-159): -0.1 x (distance to the nearest prey) + 10 x (number of prey closer than
    r_prey + r_pred): the predator's own catches only."""
    if scn["kind"] == "spread":
        to_landmarks = (pos[:, :, None] - landmarks[:, None]).norm(dim=-1).min(-1).values
        close = (pos[:, :, None] - pos[:, None]).norm(dim=-1) < scn["collide_dist"]
        close &= ~torch.eye(pos.shape[1], dtype=torch.bool, device=pos.device)
        return -to_landmarks - close.sum(-1)
    to_prey = (pos[:, :, None] - prey_pos[:, None]).norm(dim=-1)
    return -TAG_DIST_COEF * to_prey.min(-1).values + CATCH_REWARD * (to_prey < scn["catch_dist"]).sum(-1)


# ---------------------------------------------------------------------------------------------------------------------
# The scripted prey: LaRe's pretrained DDPG actor (scripted_agent_ckpt/simple_tag_n6_train_prey/agents_best.ckpt, used
# for n6, n15 and n30 alike); weights extracted to lare_prey_actor.npz (LARE_PREY.md)
# ---------------------------------------------------------------------------------------------------------------------
class LaRePrey:
    """obs 26 -> 128 -> 128 -> 5 logits, ReLU. Acting (LaRe's select_action with action noise, S/ddpg.py:193-213):
    p = softmax(logits + g), g = -log(-log u) Gumbel noise from u ~ U[0, 1); the action is the continuous
    (p[1] - p[2], p[3] - p[4]) in [-1, 1]^2 (common.py:62-70: indices 1 and 3 push +x and +y, the opposite of the
    learners' actions 1 and 3), which the prey's accel 4 turns into a force."""

    def __init__(self, device="cpu"):
        with np.load(PREY_WEIGHTS, allow_pickle=False) as w:
            self.layers = [(torch.as_tensor(w[f"w{i}"], device=device), torch.as_tensor(w[f"b{i}"], device=device))
                           for i in (1, 2, 3)]

    def logits(self, obs):
        x = obs.float()
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            x = x.relu() if i < 2 else x
        return x

    def actions(self, obs, uniform):
        """obs (..., 26), uniform (..., 5) in [0, 1) -> actions (..., 2) in [-1, 1]."""
        # Kept inside (0, 1) in float32: a float64 draw near 1 rounds to 1.0, whose Gumbel noise is infinite (NaN)
        u = uniform.float().clamp(min=torch.finfo(torch.float32).tiny, max=1.0 - 2.0**-24)
        p = torch.softmax(self.logits(obs) - torch.log(-torch.log(u)), dim=-1)
        return torch.stack([p[..., 1] - p[..., 2], p[..., 3] - p[..., 4]], dim=-1)
