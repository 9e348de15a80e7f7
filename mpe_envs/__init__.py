"""LaRe's Multi-Particle scenarios (scenarios.py) behind one batched interface, for `algos/ippo_lare_mpe.py`.

`make_envs(backend, scn, num_envs, seed, device, episode_length)`, with `scn` an entry of `SCENARIOS`, returns an
object with `n_actions` (5), `reset() -> obs` and `step(actions) -> (obs, rewards)`: tensors of shape
(num_envs, n_agents, ...), rewards being each learner's own (lare_rewards; the team reward is their sum), and
`rng_state()` / `set_rng_state(state)` for checkpoints, for the `mpe2` or the `vmas` backend.
"""

import torch

from mpe_envs.mpe2_backend import MPE2Vec, make_lare_mpe
from mpe_envs.scenarios import SCENARIOS, LaRePrey, build_observation, lare_rewards, observation_layout
from mpe_envs.vmas_backend import VMASVec

__all__ = ["SCENARIOS", "make_envs", "observation_layout", "build_observation", "lare_rewards", "LaRePrey",
           "make_lare_mpe"]


def make_envs(backend, scn, num_envs, seed, device, episode_length=25):
    cls = MPE2Vec if backend == "mpe2" else VMASVec
    # mpe2 computes on the CPU anyway; VMAS simulates on the training device
    return cls(scn, num_envs, seed, device if backend == "vmas" else torch.device("cpu"), episode_length)
