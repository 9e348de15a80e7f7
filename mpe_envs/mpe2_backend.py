"""Backend 1: mpe2 (PettingZoo): num_envs parallel envs, stepped one after the other.

LaRe's scenarios (scenarios.py) on mpe2's world, whose contact forces, dt, damping, mass and discrete actions are
LaRe's already. Overridden to follow LaRe:
- the integration order: mpe2 moves the position with the old velocity before applying the force; LaRe damps, adds
  the force, clips the speed, then moves;
- the start positions (sample_positions), and the sizes: every colliding entity gets physics_radius, LaRe's contact
  distance;
- the rewards: lare_rewards of the state after the step (mpe2's own are not computed);
- the prey: LaRePrey's forces, computed on the state before the step and handed to mpe2's scripted-agent hook
  (action_callback) of each prey.
Differences left: none known in the dynamics (both float64). The spread landmarks are dart-thrown
(scenarios.spaced_points) instead of a subset of a Bridson set, and every random number comes from the env's own
np_random (LaRe: RandomState(0) for the start positions of every run, and its global generators, seeded from the
run's seed, for the landmarks and the prey's noise).
"""

import numpy as np
import torch

from mpe_envs.scenarios import (
    N_ACTIONS,
    LaRePrey,
    build_observation,
    lare_rewards,
    observation_layout,
    physics_radius,
    prey_observation,
    sample_positions,
)


def make_lare_mpe(scn, max_cycles=25):
    """One LaRe scenario as a PettingZoo ParallelEnv whose agents are the learners (tag: the predators)."""
    from gymnasium import spaces
    from mpe2._mpe_utils.core import Action, Agent, Landmark, World
    from mpe2._mpe_utils.scenario import BaseScenario
    from mpe2._mpe_utils.simple_env import SimpleEnv, make_env
    from pettingzoo import ParallelEnv
    from pettingzoo.utils.conversions import parallel_wrapper_fn

    tag = scn["kind"] == "tag"

    class LaReWorld(World):
        def integrate_state(self, p_force):  # LaRe's order (core_vec.py:259-271): damp, push, clip the speed, move
            for entity, force in zip(self.entities, p_force):
                if not entity.movable:
                    continue
                s = entity.state
                s.p_vel = s.p_vel * (1 - self.damping)
                if force is not None:
                    s.p_vel = s.p_vel + force / entity.mass * self.dt
                speed = np.linalg.norm(s.p_vel)
                if entity.max_speed is not None and speed > entity.max_speed:
                    s.p_vel = s.p_vel / speed * entity.max_speed
                s.p_pos = s.p_pos + s.p_vel * self.dt

    def scripted(agent, world):  # the prey's action: the force the wrapper computed for this step
        action = Action()
        action.u, action.c = agent.scripted_force, np.zeros(world.dim_c)
        return action

    class LaReScenario(BaseScenario):
        def make_world(self):
            world, radius = LaReWorld(), physics_radius(scn)
            names = [f"predator_{i}" if tag else f"agent_{i}" for i in range(scn["n_agents"])]
            for i, name in enumerate(names + [f"prey_{j}" for j in range(scn["n_prey"])]):
                agent = Agent()
                agent.name, agent.size, agent.collide, agent.silent = name, radius, True, True
                is_prey = i >= scn["n_agents"]
                agent.adversary = tag and not is_prey
                agent.accel = scn["prey_accel"] if is_prey else scn["accel"]
                agent.max_speed = scn["prey_max_speed"] if is_prey else scn["max_speed"]
                agent.color = np.array([0.35, 0.85, 0.35] if is_prey else [0.85, 0.35, 0.35])
                if is_prey:
                    agent.action_callback, agent.scripted_force = scripted, np.zeros(2)
                world.agents.append(agent)
            for i in range(scn["n_landmarks"]):
                landmark = Landmark()
                landmark.name, landmark.size, landmark.collide, landmark.movable = f"landmark_{i}", radius, tag, False
                landmark.color = np.array([0.25, 0.25, 0.25])
                world.landmarks.append(landmark)
            return world

        def reset_world(self, world, np_random):
            agents, landmarks, prey = sample_positions(scn, 1, lambda shape: torch.from_numpy(np_random.random(shape)))
            agents = torch.cat([agents, prey], 1) if tag else agents
            for entity, pos in zip(world.agents + world.landmarks, torch.cat([agents, landmarks], 1)[0].numpy()):
                entity.state.p_pos, entity.state.p_vel = pos.copy(), np.zeros(world.dim_p)
                entity.state.c = np.zeros(world.dim_c)

        def reward(self, agent, world):
            return 0.0  # the wrapper computes every learner's reward at once (lare_rewards)

        def observation(self, agent, world):
            return np.zeros(0, np.float32)  # the wrapper builds every learner's observation at once

    class RawEnv(SimpleEnv):
        metadata = {**SimpleEnv.metadata, "name": f"lare_{scn['kind']}_v0"}

        def __init__(self):
            scenario = LaReScenario()
            super().__init__(scenario, scenario.make_world(), max_cycles, continuous_actions=False)

    class LaReMPE(ParallelEnv):
        """Observations: build_observation; rewards: lare_rewards; prey: LaRePrey with noise from the env's np_random."""

        metadata = {"name": f"lare_{scn['kind']}_v0", "render_modes": [], "is_parallelizable": True}

        def __init__(self):
            self.env = parallel_wrapper_fn(make_env(RawEnv))()
            self.world = self.env.unwrapped.world
            self.learners, self.prey = self.world.agents[: scn["n_agents"]], self.world.agents[scn["n_agents"]:]
            self.possible_agents = [a.name for a in self.learners]
            self.agents = []
            obs_dim = sum(size for _, size, _ in observation_layout(scn))
            self.observation_spaces = {a: spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32) for a in self.possible_agents}
            self.action_spaces = {a: spaces.Discrete(N_ACTIONS) for a in self.possible_agents}
            self.prey_policy = LaRePrey() if tag else None

        def observation_space(self, agent):
            return self.observation_spaces[agent]

        def action_space(self, agent):
            return self.action_spaces[agent]

        def world_state(self):
            """pos, vel, landmarks, prey_pos, prey_vel as float64 tensors (1, n, 2) (prey None in spread)."""
            def get(entities, attr="p_pos"):
                return torch.from_numpy(np.array([getattr(e.state, attr) for e in entities]))[None]
            prey = (get(self.prey), get(self.prey, "p_vel")) if tag else (None, None)
            return get(self.learners), get(self.learners, "p_vel"), get(self.world.landmarks), *prey

        def rewards(self):
            pos, _, landmarks, prey_pos, _ = self.world_state()
            return lare_rewards(scn, pos, landmarks, prey_pos)[0].numpy()

        def _observe(self):
            obs = build_observation(scn, *self.world_state())[0].numpy().astype(np.float32)
            return {a: obs[i] for i, a in enumerate(self.possible_agents)}

        def reset(self, seed=None, options=None):
            self.env.reset(seed=seed, options=options)
            self.agents = list(self.possible_agents)
            return self._observe(), {a: {} for a in self.agents}

        def step(self, actions):
            actions = {a: int(actions[a]) for a in self.agents}
            if tag:  # LaRe acts the prey on the state before the move, as the learners
                pos, _, landmarks, prey_pos, prey_vel = self.world_state()
                noise = torch.from_numpy(self.env.unwrapped.np_random.random((len(self.prey), 5)))
                forces = self.prey_policy.actions(prey_observation(prey_pos, prey_vel, landmarks, pos)[0], noise)
                for p, f in zip(self.prey, forces.double().numpy() * scn["prey_accel"]):
                    p.scripted_force = f
                actions.update({p.name: 0 for p in self.prey})  # replaced by the scripted force in the world step
            _, _, term, trunc, _ = self.env.step(actions)
            agents, rew = self.agents, self.rewards()
            terminations = {a: bool(term[a]) for a in agents}
            truncations = {a: bool(trunc[a]) for a in agents}
            if any(terminations.values()) or any(truncations.values()):
                self.agents = []
            return (self._observe(), {a: float(r) for a, r in zip(self.possible_agents, rew)}, terminations,
                    truncations, {a: {} for a in agents})

        def close(self):
            self.env.close()

    return LaReMPE()


class MPE2Vec:
    """num_envs LaReMPE envs stepped one after the other; torch tensors (num_envs, n_agents, ...) in and out."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        self.envs = [make_lare_mpe(scn, episode_length) for _ in range(num_envs)]
        self.names = self.envs[0].possible_agents
        self.n_actions, self.device, self.seed = N_ACTIONS, device, seed

    def reset(self):
        # One independent stream per (run seed, env): seed + i would give run 2's env 0 the stream of run 1's env 1
        seeds = ([int(np.random.SeedSequence([self.seed, i]).generate_state(1)[0]) for i in range(len(self.envs))]
                 if self.seed is not None else [None] * len(self.envs))
        self.seed = None  # seed the first reset only; later episodes continue each env's random stream
        obs = [e.reset(seed=s)[0] for e, s in zip(self.envs, seeds)]
        return torch.as_tensor(np.array([[o[a] for a in self.names] for o in obs]), device=self.device)

    def rng_state(self):
        """The random streams of these envs, for a checkpoint: each env draws its start positions and its prey's noise
        from its own np_random; plus whether the first reset is still to be seeded."""
        return {"seed": self.seed, "np_random": [e.env.unwrapped.np_random.bit_generator.state for e in self.envs]}

    def set_rng_state(self, state):
        """Restore rng_state(); False (nothing restored) if it was saved with another number of envs."""
        if len(state.get("np_random", ())) != len(self.envs):
            return False
        self.seed = state["seed"]  # None once seeded: a resumed run must not re-seed its envs with seed + i
        for e, s in zip(self.envs, state["np_random"]):
            e.env.unwrapped.np_random.bit_generator.state = s
        return True

    def state(self):
        """pos, vel, landmarks, prey_pos, prey_vel of every env, float64 tensors (num_envs, n, 2) (prey None in spread)."""
        states = [e.world_state() for e in self.envs]
        return tuple(None if s[0] is None else torch.cat(s) for s in zip(*states))

    def step(self, actions):
        actions = actions.cpu().numpy()
        out = [e.step(dict(zip(self.names, a))) for e, a in zip(self.envs, actions)]
        obs = np.array([[o[0][a] for a in self.names] for o in out])
        rew = np.array([[o[1][a] for a in self.names] for o in out], np.float32)
        return torch.as_tensor(obs, device=self.device), torch.as_tensor(rew, device=self.device)

    def close(self):
        for e in self.envs:
            e.close()
