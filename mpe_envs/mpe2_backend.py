"""Backend 1: mpe2 (PettingZoo parallel envs stepped one by one, as in the paper), batched behind one interface."""

import numpy as np
import torch

from mpe_envs.scenarios import (
    MPE2_DIRECTIONS,
    build_observation,
    observation_layout,
    scripted_prey_actions,
)


# Backend 1: mpe2 (PettingZoo). A thin parallel-API wrapper: K-nearest observations, scripted prey.
def make_knearest_mpe(scn, max_cycles=25):
    from gymnasium import spaces
    from pettingzoo import ParallelEnv

    class KNearestMPE(ParallelEnv):
        """mpe2's simple_spread / simple_tag with the reference's observations: each learner sees its velocity and
        position and the K nearest landmarks, other learners (and prey). mpe2's own num_*_neighbors options are not used:
        its tag variant mixes predators and prey in one neighbour list, and its spread variant appends always-zero
        communication slots. In tag only the predators are agents of this env; the prey follow scripted_prey_actions.
        Dynamics and rewards are mpe2's, unchanged (simple_spread local_ratio 0.5; simple_tag: every predator gets
        +10 per predator-prey contact of the whole team)."""

        metadata = {"name": f"knearest_{scn['kind']}_v0", "render_modes": [], "is_parallelizable": True}

        def __init__(self):
            if scn["kind"] == "spread":
                from mpe2 import simple_spread_v3

                self.env = simple_spread_v3.parallel_env(N=scn["n_agents"], local_ratio=0.5, max_cycles=max_cycles,
                                                         continuous_actions=False)
            else:
                from mpe2 import simple_tag_v3

                self.env = simple_tag_v3.parallel_env(num_good=scn["n_prey"], num_adversaries=scn["n_agents"],
                                                      num_obstacles=scn["n_landmarks"], max_cycles=max_cycles,
                                                      continuous_actions=False)
            self.world = self.env.unwrapped.world
            self.learners = [a for a in self.world.agents if scn["kind"] == "spread" or a.adversary]
            self.prey = [a for a in self.world.agents if scn["kind"] == "tag" and not a.adversary]
            self.possible_agents = [a.name for a in self.learners]
            self.agents = []
            obs_dim = sum(size for _, size, _ in observation_layout(scn))
            self.observation_spaces = {a: spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32) for a in self.possible_agents}
            self.action_spaces = {a: spaces.Discrete(5) for a in self.possible_agents}
            self.directions = torch.tensor(MPE2_DIRECTIONS, dtype=torch.float32)

        def observation_space(self, agent):
            return self.observation_spaces[agent]

        def action_space(self, agent):
            return self.action_spaces[agent]

        def _state(self, entities, attr="p_pos"):
            return torch.as_tensor(np.array([getattr(e.state, attr) for e in entities]), dtype=torch.float32)[None]

        def _observe(self):
            prey = (self._state(self.prey), self._state(self.prey, "p_vel")) if self.prey else (None, None)
            obs = build_observation(scn, self._state(self.learners), self._state(self.learners, "p_vel"),
                                    self._state(self.world.landmarks), *prey)[0].numpy()
            return {a: obs[i] for i, a in enumerate(self.possible_agents)}

        def reset(self, seed=None, options=None):
            self.env.reset(seed=seed, options=options)
            self.agents = list(self.possible_agents)
            return self._observe(), {a: {} for a in self.agents}

        def step(self, actions):
            actions = {a: int(actions[a]) for a in self.agents}
            if self.prey:
                prey_act = scripted_prey_actions(self._state(self.prey), self._state(self.learners), self.directions)[0]
                actions.update({p.name: int(u) for p, u in zip(self.prey, prey_act)})
            _, rew, term, trunc, _ = self.env.step(actions)
            obs = self._observe()
            agents = self.agents
            rewards = {a: float(rew[a]) for a in agents}
            terminations = {a: bool(term[a]) for a in agents}
            truncations = {a: bool(trunc[a]) for a in agents}
            if any(terminations.values()) or any(truncations.values()):
                self.agents = []
            return obs, rewards, terminations, truncations, {a: {} for a in agents}

        def close(self):
            self.env.close()

    return KNearestMPE()


class MPE2Vec:
    """num_envs KNearestMPE envs stepped one after the other; torch tensors (num_envs, n_agents, ...) in and out."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        self.envs = [make_knearest_mpe(scn, episode_length) for _ in range(num_envs)]
        self.names = self.envs[0].possible_agents
        self.n_actions, self.device, self.seed = 5, device, seed

    def reset(self):
        seeds = [self.seed + i for i in range(len(self.envs))] if self.seed is not None else [None] * len(self.envs)
        self.seed = None  # seed the first reset only; later episodes continue each env's random stream
        obs = [e.reset(seed=s)[0] for e, s in zip(self.envs, seeds)]
        return torch.as_tensor(np.array([[o[a] for a in self.names] for o in obs]), device=self.device)

    def rng_state(self):
        """The random streams of these envs, for a checkpoint: mpe2 draws only from each env's np_random (its reset
        positions; no action noise in these scenarios), plus whether the first reset is still to be seeded."""
        return {"seed": self.seed, "np_random": [e.env.unwrapped.np_random.bit_generator.state for e in self.envs]}

    def set_rng_state(self, state):
        """Restore rng_state(); False (nothing restored) if it was saved with another number of envs."""
        if len(state["np_random"]) != len(self.envs):
            return False
        self.seed = state["seed"]  # None once seeded: a resumed run must not re-seed its envs with seed + i
        for e, s in zip(self.envs, state["np_random"]):
            e.env.unwrapped.np_random.bit_generator.state = s
        return True

    def step(self, actions):
        actions = actions.cpu().numpy()
        out = [e.step(dict(zip(self.names, a))) for e, a in zip(self.envs, actions)]
        obs = np.array([[o[0][a] for a in self.names] for o in out])
        rew = np.array([[o[1][a] for a in self.names] for o in out], np.float32)
        return torch.as_tensor(obs, device=self.device), torch.as_tensor(rew, device=self.device)

    def close(self):
        for e in self.envs:
            e.close()
