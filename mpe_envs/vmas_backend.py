"""Backend 2: VMAS, every env in one batched torch simulation, with the same observations as the mpe2 backend."""

import torch

from mpe_envs.scenarios import (
    AGENT_SIZE,
    PREY_SIZE,
    VMAS_DIRECTIONS,
    build_observation,
    scripted_prey_actions,
)


# Backend 2: VMAS, one batched simulation. Scenario subclasses: the same K-nearest observations, and the library's
# rewards computed for all agents at once (the same formulas as its Python loops, which are O(N^2) per agent).
class VMASVec:
    """VMAS simple_spread / simple_tag (their own physics: substeps, contact forces, tag's walls at +-1) with discrete
    actions (VMAS's 3 x 3 grid, 9 actions). Rewards as in VMAS: simple_spread gives every agent the global reward
    (minus n_agents x the sum over landmarks of the closest agent's distance, minus 1 per overlapping ordered pair);
    simple_tag (adversaries_share_rew, its default) gives every predator +10 per predator-prey contact of the team."""

    def __init__(self, scn, num_envs, seed, device, episode_length=25):
        import vmas
        from vmas.scenarios.mpe import simple_spread, simple_tag

        spread = scn["kind"] == "spread"
        base = simple_spread.Scenario if spread else simple_tag.Scenario

        class KNearest(base):
            def state(self):
                learners = [a for a in self.world.agents if spread or a.adversary]
                prey = [a for a in self.world.agents if not spread and not a.adversary]
                pos = torch.stack([a.state.pos for a in learners], 1)
                vel = torch.stack([a.state.vel for a in learners], 1)
                lm = torch.stack([m.state.pos for m in self.world.landmarks], 1)
                if spread:
                    return pos, vel, lm, None, None
                return pos, vel, lm, torch.stack([a.state.pos for a in prey], 1), torch.stack([a.state.vel for a in prey], 1)

            def observation(self, agent):
                i = self.world.agents.index(agent)
                if i == 0:  # VMAS asks agent by agent, first agent first: compute everyone's once
                    self.obs_cache = build_observation(scn, *self.state())
                if i < scn["n_agents"]:  # learners come first in both scenarios
                    return self.obs_cache[:, i]
                return torch.zeros(self.world.batch_dim, 1, device=self.world.device)  # prey: scripted, unobserved

            def reward(self, agent):
                i = self.world.agents.index(agent)
                if i == 0:
                    pos, _, lm, prey_pos, _ = self.state()
                    if spread:
                        closest = (pos[:, :, None] - lm[:, None]).norm(dim=-1).min(dim=1).values.sum(-1)
                        d = (pos[:, :, None] - pos[:, None]).norm(dim=-1)
                        eye = torch.eye(pos.shape[1], dtype=torch.bool, device=pos.device)
                        overlaps = ((d < 2 * AGENT_SIZE["spread"]) & ~eye).sum((1, 2))
                        # VMAS subtracts the coverage term once per agent (its landmark loop sits in its agent loop)
                        self.rew_cache = (-closest * pos.shape[1] - overlaps, None)
                    else:
                        hit = (prey_pos[:, :, None] - pos[:, None]).norm(dim=-1) < AGENT_SIZE["tag"] + PREY_SIZE
                        self.rew_cache = (10.0 * hit.sum((1, 2)), -10.0 * hit.sum(2))
                if i < scn["n_agents"]:
                    return self.rew_cache[0].float()
                return self.rew_cache[1][:, i - scn["n_agents"]].float()

        kwargs = (dict(n_agents=scn["n_agents"]) if spread else
                  dict(num_adversaries=scn["n_agents"], num_good_agents=scn["n_prey"], num_landmarks=scn["n_landmarks"]))
        # VMAS keeps ONE random state for all its envs (Environment.vmas_random_state, a class attribute that it swaps
        # in around every call and that make_env re-seeds), and on a GPU it draws reset positions from torch's CUDA
        # generator, which the training samples from too. So that the evaluation env neither re-seeds nor consumes the
        # training env's stream (training would then depend on --eval-frequency / --eval-episodes), every VMASVec keeps
        # its own copy of these streams in self.rng and swaps it in around each call into VMAS; a checkpoint saves it.
        self.device = torch.device(device)
        outer = self._global_rng()
        self.env = vmas.make_env(KNearest(), num_envs=num_envs, device=device, continuous_actions=False, seed=seed,
                                 max_steps=None, **kwargs)
        self.rng = self._global_rng()  # seeded with `seed`, after make_env's first reset
        self._set_global_rng(outer)
        self.scn, self.n_actions = scn, 9
        self.directions = torch.tensor(VMAS_DIRECTIONS, dtype=torch.float32, device=device)

    def _global_rng(self):
        from vmas.simulator.environment.environment import Environment

        state = {"vmas": list(Environment.vmas_random_state)}  # [torch CPU, numpy, python] states
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def _set_global_rng(self, state):
        from vmas.simulator.environment.environment import Environment

        Environment.vmas_random_state[:] = state["vmas"]  # in place: VMAS's decorators hold this very list
        if "cuda" in state:
            torch.cuda.set_rng_state(state["cuda"], self.device)

    def _call(self, fn, *a):
        """fn(*a) with this env's random streams swapped in (and the caller's swapped back afterwards)."""
        outer = self._global_rng()
        self._set_global_rng(self.rng)
        try:
            return fn(*a)
        finally:
            self.rng = self._global_rng()
            self._set_global_rng(outer)

    def rng_state(self):
        return dict(self.rng)

    def set_rng_state(self, state):
        self.rng = dict(self.rng, vmas=list(state["vmas"]))
        if "cuda" in state and self.device.type == "cuda":
            self.rng["cuda"] = state["cuda"]
        return True

    def reset(self):
        obs = self._call(self.env.reset)
        return torch.stack(obs[: self.scn["n_agents"]], 1)

    def step(self, actions):
        n = self.scn["n_agents"]
        acts = [actions[:, i] for i in range(n)]
        if self.scn["kind"] == "tag":
            pos, _, _, prey_pos, _ = self.env.scenario.state()
            acts += list(scripted_prey_actions(prey_pos, pos, self.directions).unbind(1))
        obs, rews, _, _ = self._call(self.env.step, acts)
        return torch.stack(obs[:n], 1), torch.stack(rews[:n], 1)

    def close(self):
        pass
