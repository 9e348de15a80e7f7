"""Tests of mpe_envs: LaRe's MPE scenarios in both backends. Constants per scenario, start positions, the 5 actions and
LaRe's integration order, each learner's reward on hand-set states (against the formulas), the prey's observation and
its pretrained network (weights, noise, reproducibility), the safe extraction of those weights, and that the two
backends simulate the same world."""

import io
import math
import os

import numpy as np
import pytest
import torch
from script_tools import one_torch_thread  # noqa: F401 (autouse fixture)

from mpe_envs import SCENARIOS, lare_rewards, make_envs, observation_layout
from mpe_envs.extract_lare_prey import extract
from mpe_envs.mpe2_backend import MPE2Vec
from mpe_envs.scenarios import DIRECTIONS, PREY_WEIGHTS, LaRePrey, prey_observation

BACKENDS = ["mpe2", "vmas"]
CPU = torch.device("cpu")


def place(envs, pos, landmarks, prey=None, vel=None):
    """Hand-set the state of every env of either backend: positions (n, 2) or (num_envs, n, 2); velocities zero
    unless given for the learners (prey at rest)."""
    num_envs = len(envs.envs) if isinstance(envs, MPE2Vec) else envs.env.num_envs

    def per_env(x):
        x = torch.as_tensor(x, dtype=torch.float64)
        return x.expand(num_envs, *x.shape) if x.dim() == 2 else x

    vel = torch.zeros_like(per_env(pos)) if vel is None else per_env(vel)
    groups = [(pos, vel, "learners"), (landmarks, None, "landmarks")] + ([(prey, None, "prey")] if prey is not None else [])
    for p, v, group in groups:
        p = per_env(p)
        v = torch.zeros_like(p) if v is None else v
        if isinstance(envs, MPE2Vec):
            for k, e in enumerate(envs.envs):
                entities = {"learners": e.learners, "prey": e.prey, "landmarks": e.world.landmarks}[group]
                for i, entity in enumerate(entities):
                    entity.state.p_pos, entity.state.p_vel = p[k, i].numpy().copy(), v[k, i].numpy().copy()
        else:
            world, n = envs.env.world, envs.scn["n_agents"]
            entities = {"learners": world.agents[:n], "prey": world.agents[n:], "landmarks": world.landmarks}[group]
            for i, entity in enumerate(entities):
                entity.set_pos(p[:, i].float(), batch_index=None)
                entity.set_vel(v[:, i].float(), batch_index=None)


def backend_rewards(envs):
    """The rewards the backend computes for its current state, through its own reward path."""
    if isinstance(envs, MPE2Vec):
        return torch.as_tensor(np.array([e.rewards() for e in envs.envs]))
    scenario = envs.env.scenario
    return torch.stack([scenario.reward(a) for a in envs.env.world.agents[: envs.scn["n_agents"]]], 1)


# Constants
@pytest.mark.parametrize("name,radius,sizes,k,obs_dim", [
    ("spread_n6", 1.5, (0.15,), (6, 5, 0), 26),
    ("spread_n15", 2.2, (0.15,), (6, 5, 0), 26),
    ("spread_n30", 3.0, (0.15,), (6, 5, 0), 26),
    ("tag_n6", 1.5, (0.075, 0.05, 0.2), (3, 5, 2), 28),
    ("tag_n15", 1.0, (0.02, 0.01, 0.1), (3, 6, 3), 34),
    ("tag_n30", 1.0, (0.01, 0.005, 0.05), (5, 6, 5), 46),
])
def test_scenario_constants(name, radius, sizes, k, obs_dim):
    scn = SCENARIOS[name]
    assert scn["world_radius"] == radius and scn["agent_size"] == sizes[0]
    assert (scn["k_landmarks"], scn["k_mates"], scn["k_prey"]) == k
    assert sum(size for _, size, _ in observation_layout(scn)) == obs_dim
    if scn["kind"] == "spread":
        assert (scn["collide_dist"], scn["accel"], scn["max_speed"]) == (0.3, 5.0, None)
        assert scn["landmark_spacing"] == pytest.approx(0.675)
        assert scn["n_agents"] == scn["n_landmarks"]
    else:
        assert (scn["prey_size"], scn["landmark_size"]) == sizes[1:]
        assert scn["catch_dist"] == pytest.approx(sizes[0] + sizes[1])
        assert (scn["accel"], scn["max_speed"], scn["prey_accel"], scn["prey_max_speed"]) == (3.0, 1.0, 4.0, 1.3)
        assert (scn["n_prey"], scn["n_landmarks"]) == {6: (2, 3), 15: (5, 5), 30: (10, 10)}[scn["n_agents"]]


# Start positions
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reset_positions_and_reproducibility(backend, name):
    scn = SCENARIOS[name]
    r = scn["world_radius"]
    envs = make_envs(backend, scn, 4, 0, CPU)
    envs.reset()
    pos, vel, landmarks, prey_pos, _ = envs.state()
    agents = pos if prey_pos is None else torch.cat([pos, prey_pos], 1)
    assert agents.abs().max() <= r and (vel == 0).all()
    assert agents[..., 0].max() > 0.5 * r and agents[..., 0].min() < -0.5 * r  # spread over the box, not [-1, 1]
    if scn["kind"] == "spread":
        gaps = (landmarks[:, :, None] - landmarks[:, None]).norm(dim=-1) + 9 * torch.eye(scn["n_landmarks"])
        assert landmarks.abs().max() <= r and gaps.min() >= 0.675 - 1e-6
    else:
        assert landmarks.abs().max() <= r - 0.1
    again = make_envs(backend, scn, 4, 0, CPU)
    again.reset()
    other = make_envs(backend, scn, 4, 1, CPU)
    other.reset()
    assert torch.equal(again.state()[0], pos) and not torch.equal(other.state()[0], pos)
    # Neighbouring run seeds share no env: seed + i would give run 1's env 1 the stream of run 0's env 0... shifted by one
    for k in range(4):
        assert not any(torch.equal(other.state()[0][k], pos[j]) for j in range(4))


# Actions and integration
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["spread_n6", "tag_n6"])
def test_the_five_actions_and_lares_integration(backend, name):
    # LaRe: v' = 0.75 v + accel * direction * 0.1, clipped to the max speed, then x' = x + 0.1 v'. Learner i takes
    # action i % 5 from velocity v0; the last one starts fast (tag: clipped to 1; spread: no max speed).
    scn = SCENARIOS[name]
    envs = make_envs(backend, scn, 2, 0, CPU)
    envs.reset()
    pos = torch.tensor([[3.0 * i, 0.0] for i in range(6)], dtype=torch.float64)
    v0 = torch.tensor([[0.2, -0.1]] * 5 + [[3.0, 0.0]], dtype=torch.float64)
    far = torch.tensor([[50.0 + 3 * j, 50.0] for j in range(scn["n_landmarks"])])
    prey = torch.tensor([[-50.0, -50.0 - 3 * j] for j in range(scn["n_prey"])]) if scn["n_prey"] else None
    place(envs, pos, far, prey, vel=v0)
    actions = torch.tensor([i % 5 for i in range(6)])
    obs, _ = envs.step(actions.expand(2, 6))
    v1 = 0.75 * v0 + scn["accel"] * torch.tensor(DIRECTIONS, dtype=torch.float64)[actions] * 0.1
    if scn["max_speed"] is not None:
        v1 = v1 * (scn["max_speed"] / v1.norm(dim=-1, keepdim=True)).clamp(max=1.0)
    new_pos, new_vel = envs.state()[:2]
    torch.testing.assert_close(new_vel.double(), v1.expand(2, 6, 2), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(new_pos.double(), (pos + 0.1 * v1).expand(2, 6, 2), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(obs[..., :4].double(), torch.cat([new_vel, new_pos], -1).double())
    assert envs.n_actions == 5


# Rewards on hand-set states
SPREAD_AGENTS = [[0, 0], [0.2, 0], [0.1, 0.25], [2, 2], [2, 2.29], [-2, -2]]
SPREAD_LANDMARKS = [[0, -1], [3, 2], [2, 3], [-2, -2.5], [5, 5], [-5, 5]]
# agents 0-2 are pairwise within 0.3 (2 collisions each), agents 3 and 4 are 0.29 apart; nearest landmarks at 1,
# sqrt(1.04), sqrt(1.5725), 1, 0.71, 0.5
SPREAD_EXPECTED = [-1 - 2, -math.sqrt(1.04) - 2, -math.sqrt(1.5725) - 2, -1 - 1, -0.71 - 1, -0.5]
TAG_PREY = [[0, 0], [0.1, 0]]
TAG_PREDATORS = [[-0.1, 0], [0.05, 0.05], [0, 0.124], [0, -0.126], [1, 0], [-2, 0]]
# catch distance 0.125: predator 0 catches prey 0, predator 1 both, predator 2 prey 0 (0.124), predator 3 none (0.126)
TAG_EXPECTED = [-0.01 + 10, -0.1 * math.sqrt(0.005) + 20, -0.0124 + 10, -0.0126, -0.09, -0.2]
TAG_LANDMARKS = [[0.5, 0], [0, -0.3], [-1, -1]]


def reference_rewards(scn, pos, landmarks, prey):
    """LaRe's reward loops, agent by agent (S/simple_spread_n6_noshare.py:92-106, S/simple_tag_n6_noshare.py:147-159)."""
    out = []
    for p in np.asarray(pos, float):
        if scn["kind"] == "spread":
            near = min(np.linalg.norm(p - np.asarray(m)) for m in landmarks)
            out.append(-near - sum(np.linalg.norm(p - np.asarray(q)) < 0.3 for q in pos) + 1)  # itself counted, added back
        else:
            d = [np.linalg.norm(p - np.asarray(q)) for q in prey]
            out.append(-0.1 * min(d) + 10 * sum(x < scn["catch_dist"] for x in d))
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["spread_n6", "tag_n6"])
def test_rewards_on_a_hand_set_state(backend, name):
    scn = SCENARIOS[name]
    spread = scn["kind"] == "spread"
    pos, landmarks = (SPREAD_AGENTS, SPREAD_LANDMARKS) if spread else (TAG_PREDATORS, TAG_LANDMARKS)
    prey, expected = (None, SPREAD_EXPECTED) if spread else (TAG_PREY, TAG_EXPECTED)
    envs = make_envs(backend, scn, 2, 0, CPU)
    envs.reset()
    place(envs, pos, landmarks, prey)
    rewards = backend_rewards(envs)
    assert rewards.shape == (2, 6)
    np.testing.assert_allclose(rewards[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rewards[1].numpy(), reference_rewards(scn, pos, landmarks, prey), rtol=1e-5, atol=1e-5)
    if not spread:  # one catch vs two, a catch at 0.124 vs none at 0.126: different contacts, different rewards
        assert rewards[0, 1] - rewards[0, 0] > 9 and rewards[0, 2] - rewards[0, 3] > 9


def test_shared_rewards_match_the_reference_loops_on_random_states():
    gen = torch.Generator().manual_seed(0)
    for name in ["spread_n15", "tag_n15"]:
        scn = SCENARIOS[name]
        pos = torch.rand(3, scn["n_agents"], 2, generator=gen, dtype=torch.float64) * 0.8  # crowded: many contacts
        landmarks = torch.rand(3, scn["n_landmarks"], 2, generator=gen, dtype=torch.float64)
        prey = torch.rand(3, scn["n_prey"], 2, generator=gen, dtype=torch.float64) * 0.8 if scn["n_prey"] else None
        ours = lare_rewards(scn, pos, landmarks, prey)
        for k in range(3):
            ref = reference_rewards(scn, pos[k].numpy(), landmarks[k].numpy(), None if prey is None else prey[k].numpy())
            np.testing.assert_allclose(ours[k].numpy(), ref, rtol=1e-12)


# The prey
def test_prey_observation_hand_built():
    prey_pos, prey_vel = torch.tensor([TAG_PREY], dtype=torch.float64), torch.tensor([[[0.1, -0.2], [0.3, 0.4]]])
    obs = prey_observation(prey_pos, prey_vel.double(), torch.tensor([TAG_LANDMARKS]).double(),
                           torch.tensor([TAG_PREDATORS]).double())
    # prey 0: vel, pos, landmarks nearest first, the 6 predators nearest first, the other prey's position and velocity
    expected = [0.1, -0.2, 0, 0, 0, -0.3, 0.5, 0, -1, -1, 0.05, 0.05, -0.1, 0, 0, 0.124, 0, -0.126, 1, 0, -2, 0,
                0.1, 0, 0.3, 0.4]
    assert obs.shape == (1, 2, 26)
    np.testing.assert_allclose(obs[0, 0].numpy(), expected, atol=1e-12)


def test_prey_network_weights():
    with np.load(PREY_WEIGHTS, allow_pickle=False) as w:
        shapes = {k: w[k].shape for k in w.files}
        assert all(w[k].dtype == np.float32 and np.isfinite(w[k]).all() for k in w.files)
    assert shapes == {"w1": (128, 26), "b1": (128,), "w2": (128, 128), "b2": (128,), "w3": (5, 128), "b3": (5,)}
    assert LaRePrey().logits(torch.zeros(3, 26)).shape == (3, 5)


def test_prey_actions_gumbel_softmax_and_signs():
    prey, obs = LaRePrey(), 0.1 * torch.randn(4, 26, generator=torch.Generator().manual_seed(0))
    # u = 1/e gives zero Gumbel noise: the action is the difference of the softmax probabilities
    p = torch.softmax(prey.logits(obs), -1)
    torch.testing.assert_close(prey.actions(obs, torch.full((4, 5), math.exp(-1))),
                               torch.stack([p[:, 1] - p[:, 2], p[:, 3] - p[:, 4]], -1))
    # noise that picks one action (u near 1: a large Gumbel sample): 1 pushes +x, 2 -x, 3 +y, 4 -y (LaRe's prey mapping,
    # the opposite of the learners' discrete actions)
    for picked, direction in ((1, [1.0, 0.0]), (2, [-1.0, 0.0]), (3, [0.0, 1.0]), (4, [0.0, -1.0])):
        u = torch.full((4, 5), 1e-6)
        u[:, picked] = 1 - 1e-7
        torch.testing.assert_close(prey.actions(obs, u), torch.tensor([direction] * 4), atol=1e-3, rtol=0)
    a = prey.actions(obs, torch.rand(4, 5, generator=torch.Generator().manual_seed(1)))
    assert a.abs().max() <= 1


def test_prey_noise_near_one_stays_finite():
    # a float64 uniform draw just below 1 rounds to 1.0 in float32, where the Gumbel noise -log(-log u) is infinite
    u = torch.full((2, 5), 0.5, dtype=torch.float64)
    u[0, 1], u[1, 3] = 1 - 2**-26, 0.0
    assert torch.isfinite(LaRePrey().actions(torch.zeros(2, 26), u)).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_prey_noise_is_reproducible_and_seeded(backend):
    def run(seed):
        envs = make_envs(backend, SCENARIOS["tag_n6"], 2, seed, CPU)
        envs.reset()
        for _ in range(3):
            envs.step(torch.zeros(2, 6, dtype=torch.long))
        return envs.state()[3], envs

    a, envs = run(0)
    b, _ = run(0)
    assert torch.equal(a, b)
    # the same start and predator actions with another noise stream: the prey move differently
    state = envs.rng_state()
    envs.reset()
    start = envs.state()
    envs.step(torch.zeros(2, 6, dtype=torch.long))
    moved = envs.state()[3]
    assert envs.set_rng_state(state)
    envs.reset()
    assert torch.equal(envs.state()[0], start[0])  # the restored stream repeats the same start
    envs.step(torch.zeros(2, 6, dtype=torch.long))
    assert torch.equal(envs.state()[3], moved)


# The backends simulate the same world
@pytest.mark.parametrize("name", ["spread_n6", "tag_n6"])
def test_backends_agree_away_from_contacts(name, monkeypatch):
    # Noise-free prey (u = 1/e) so that both backends act the same; entities kept apart (no contact forces, which
    # differ slightly: see vmas_backend). Float32 (VMAS) against float64 (mpe2).
    zero_noise = LaRePrey.actions
    monkeypatch.setattr(LaRePrey, "actions", lambda self, obs, u: zero_noise(self, obs, torch.full_like(u, math.exp(-1))))
    scn = SCENARIOS[name]
    pos = [[3.0 * i + 0.1 * i * i, 0.2 * i] for i in range(6)]  # no ties in the nearest-first orders
    landmarks = [[3.2 * j, 10.0 + 0.3 * j * j] for j in range(scn["n_landmarks"])]
    prey = [[-20.0, 3.0 * j + 0.5] for j in range(scn["n_prey"])] if scn["n_prey"] else None
    envs = [make_envs(backend, scn, 2, 0, CPU) for backend in BACKENDS]
    gen = torch.Generator().manual_seed(0)
    for e in envs:
        e.reset()
        place(e, pos, landmarks, prey)
    for _ in range(10):
        actions = torch.randint(0, 5, (2, 6), generator=gen)
        (obs_m, rew_m), (obs_v, rew_v) = (e.step(actions) for e in envs)
        torch.testing.assert_close(obs_v, obs_m, atol=1e-4, rtol=1e-5)
        torch.testing.assert_close(rew_v, rew_m, atol=1e-4, rtol=1e-5)
    for a, b in zip(*(e.state() for e in envs)):
        if a is not None:
            torch.testing.assert_close(b.double(), a, atol=1e-4, rtol=1e-5)


# The extraction of the prey's weights
class Actor(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1, self.linear2, self.mu = torch.nn.Linear(26, 128), torch.nn.Linear(128, 128), torch.nn.Linear(128, 5)


class DDPG:
    def __init__(self, trap):
        self.obs_dim, self.n_action, self.actor, self.trap = 26, 5, Actor(), trap


class Trap:
    """Unpickling this with pickle.load would create a folder."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


def test_extraction_reads_a_legacy_checkpoint_without_running_its_code(tmp_path):
    ddpg = DDPG(Trap(str(tmp_path / "code_ran")))
    buf = io.BytesIO()
    torch.save({"agents": ddpg}, buf, _use_new_zipfile_serialization=False)  # the format of LaRe's checkpoint
    weights = extract(buf.getvalue())
    assert not (tmp_path / "code_ran").exists()
    for i, layer in enumerate((ddpg.actor.linear1, ddpg.actor.linear2, ddpg.actor.mu), 1):
        np.testing.assert_array_equal(weights[f"w{i}"], layer.weight.detach().numpy())
        np.testing.assert_array_equal(weights[f"b{i}"], layer.bias.detach().numpy())
