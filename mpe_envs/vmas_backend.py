"""Backend 2: VMAS, every env in one batched torch simulation, with the same scenarios, observations and rewards as the
mpe2 backend (scenarios.py).

The world is built with LaRe's constants: dt 0.1, one substep, drag 0.25, collision force 100, contact margin 1e-3, no
walls; every colliding entity has physics_radius. VMAS integrates as LaRe does (damp, add the force, clip the speed,
move). VMAS runs with continuous actions: a learner's discrete action becomes its direction (DIRECTIONS) and a prey's
action is LaRePrey's (p1 - p2, p3 - p4); VMAS multiplies both by the agent's accel (u_multiplier).
Differences left from LaRe: float32 instead of float64, and the contact force. LaRe's softplus contact force
(100 x 1e-3 x log(1 + exp(-gap / 1e-3))) also pushes entities that are just apart (0.069 at the contact distance,
0.013 at a gap of 2e-3); VMAS cuts it to zero beyond the contact distance (and between entities closer than 1e-6).
Trajectories therefore agree with the mpe2 backend's to float precision until two entities come near contact, and
differ by about 1e-4 per near-contact afterwards. Spread landmarks are dart-thrown (scenarios.spaced_points), and the
start positions and the prey's noise come from this object's own torch generator (LaRe: RandomState(0) for every run).
"""

import torch

from mpe_envs.scenarios import (
    CONTACT_FORCE,
    CONTACT_MARGIN,
    DAMPING,
    DIRECTIONS,
    DT,
    N_ACTIONS,
    LaRePrey,
    build_observation,
    lare_rewards,
    physics_radius,
    prey_observation,
    sample_positions,
)


def make_scenario(scn, rand):
    """A VMAS scenario for `scn`; rand(shape) draws the uniform numbers of the start positions."""
    from vmas.simulator.core import Agent, Landmark, Sphere, World
    from vmas.simulator.scenario import BaseScenario

    tag = scn["kind"] == "tag"

    class LaReScenario(BaseScenario):
        def make_world(self, batch_dim, device, **kwargs):
            world = World(batch_dim, device, dt=DT, substeps=1, drag=DAMPING, collision_force=CONTACT_FORCE,
                          contact_margin=CONTACT_MARGIN)
            radius = physics_radius(scn)
            for i in range(scn["n_agents"]):
                world.add_agent(Agent(name=f"predator_{i}" if tag else f"agent_{i}", collide=True, shape=Sphere(radius),
                                      u_multiplier=scn["accel"], max_speed=scn["max_speed"], adversary=tag))
            for j in range(scn["n_prey"]):
                world.add_agent(Agent(name=f"prey_{j}", collide=True, shape=Sphere(radius),
                                      u_multiplier=scn["prey_accel"], max_speed=scn["prey_max_speed"]))
            for k in range(scn["n_landmarks"]):
                world.add_landmark(Landmark(name=f"landmark_{k}", collide=tag, shape=Sphere(radius)))
            return world

        def reset_world_at(self, env_index=None):
            n = self.world.batch_dim if env_index is None else 1
            agents, landmarks, prey = sample_positions(scn, n, rand)
            pos = torch.cat([agents, prey, landmarks] if tag else [agents, landmarks], 1)
            for entity, p in zip(self.world.agents + self.world.landmarks, pos.unbind(1)):
                entity.set_pos(p, batch_index=env_index)

        def state(self):
            """pos, vel, landmarks, prey_pos, prey_vel, tensors (num_envs, n, 2) (prey None in spread)."""
            def get(entities, attr="pos"):
                return torch.stack([getattr(e.state, attr) for e in entities], 1) if entities else None
            learners, prey = self.world.agents[: scn["n_agents"]], self.world.agents[scn["n_agents"]:]
            return get(learners), get(learners, "vel"), get(self.world.landmarks), get(prey), get(prey, "vel")

        def observation(self, agent):
            i = self.world.agents.index(agent)
            if i == 0:  # VMAS asks agent by agent, first agent first: compute everyone's once
                pos, vel, landmarks, prey_pos, prey_vel = self.state()
                self.obs_cache = build_observation(scn, pos, vel, landmarks, prey_pos, prey_vel)
                if tag:
                    self.prey_obs_cache = prey_observation(prey_pos, prey_vel, landmarks, pos)
            if i < scn["n_agents"]:
                return self.obs_cache[:, i]
            return self.prey_obs_cache[:, i - scn["n_agents"]]

        def reward(self, agent):
            i = self.world.agents.index(agent)
            if i == 0:
                pos, _, landmarks, prey_pos, _ = self.state()
                self.rew_cache = lare_rewards(scn, pos, landmarks, prey_pos).float()
            if i < scn["n_agents"]:
                return self.rew_cache[:, i]
            return torch.zeros_like(self.rew_cache[:, 0])  # LaRe's prey are not trained: no reward

    return LaReScenario()


class VMASVec:
    """LaRe's scenario in VMAS; torch tensors (num_envs, n_agents, ...) in and out, on `device`."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        import vmas

        # Every random number (start positions, prey noise) comes from this generator, so that the training and the
        # evaluation envs do not share a stream and a checkpoint holds all of it. VMAS itself is created without a
        # seed: it then seeds no global generator (and draws from none in these scenarios).
        self.device = torch.device(device)
        self.gen = torch.Generator(self.device)
        if seed is None:
            self.gen.seed()
        else:
            self.gen.manual_seed(seed)
        self.env = vmas.make_env(make_scenario(scn, self._rand), num_envs=num_envs, device=self.device,
                                 continuous_actions=True, seed=None, max_steps=None)
        self.scn, self.n_actions = scn, N_ACTIONS
        self.directions = torch.tensor(DIRECTIONS, device=self.device)
        self.prey = LaRePrey(self.device) if scn["kind"] == "tag" else None

    def _rand(self, shape):
        return torch.rand(shape, generator=self.gen, device=self.device)

    def rng_state(self):
        return {"generator": self.gen.get_state()}

    def set_rng_state(self, state):
        """Restore rng_state(); False (nothing restored) for a state saved by another version of this backend."""
        if "generator" not in state:
            return False
        try:
            self.gen.set_state(state["generator"].cpu())
        except RuntimeError:  # saved on another kind of device (a CUDA generator's state does not fit a CPU one)
            return False
        return True

    def state(self):
        return self.env.scenario.state()

    def reset(self):
        obs = self.env.reset()
        return torch.stack(obs[: self.scn["n_agents"]], 1)

    def step(self, actions):
        n = self.scn["n_agents"]
        acts = list(self.directions[actions.to(self.device)].unbind(1))
        if self.prey is not None:  # LaRe acts the prey on the state before the move, as the learners
            pos, _, landmarks, prey_pos, prey_vel = self.state()
            noise = self._rand((*prey_pos.shape[:2], 5))
            acts += list(self.prey.actions(prey_observation(prey_pos, prey_vel, landmarks, pos), noise).unbind(1))
        obs, rews, _, _ = self.env.step(acts)
        return torch.stack(obs[:n], 1), torch.stack(rews[:n], 1)

    def close(self):
        pass
