"""What ONI's policy network would cost on this CPU, next to the one algos/appo_oni_nethack.py uses, at 1 torch thread.

    python benchmark/oni_policy_cost.py [--repeats 20]

(a) ours: the script's `Agent` at its defaults (9x9 glyph crop with embeddings, byte-CNN message encoder, LSTM 256).
(b) ONI-size: the network of ONI's code as the sizes go (rl_baseline/encoders_nle.py and sample-factory's defaults):
    3x72x72 RGB pixels -> convs 32k8s4, 64k4s2, 128k3s2 (ELU) -> FC 512; blstats -> MLP 128-128, plus the raw blstats;
    message bytes / 255 -> MLP 128-128; GRU 512 (a cell stepped over the sequence, as our LSTM is); linear heads
    28 + 1. Weights are random: only the cost is measured.
Acting: one forward step for a batch of 8 envs (one actor's envs) and the action sampling. Training: forward and
backward over a 1024-step batch (32 sequences of rollout 32, plus the bootstrap step), a PPO-like loss, gradient
clipping and an Adam step; the same update for both, so that only the networks differ. Input preparation per env step:
(a) the glyph crop; (b) rendering a 12x12 crop of tty characters to 72x72 RGB from a cache of 6x6 tiles per
(character, colour), a numpy gather (random tiles here: the cost does not depend on what they show).
The steps/s ceiling is what one core could do if it only ran the networks and the input preparation; "with NLE" adds
NLE's own step (random actions). Actors and learner share the machine's cores, so a machine's whole-system SPS is at
most cores x ceiling. Other processes on the machine inflate the times: run it on an idle one.
"""

import argparse
import runpy
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SCRIPT = Path(__file__).resolve().parent.parent / "algos" / "appo_oni_nethack.py"
N_ACTIONS, ENVS, T, BATCH = 28, 8, 32, 1024


class ONISizeNet(nn.Module):
    """ONI's policy sizes (b), with our Agent's calling convention: inputs (T, B, ...), `done` resets the core."""

    def __init__(self, n_actions=N_ACTIONS, hidden=512):
        super().__init__()
        self.pixels = nn.Sequential(nn.Conv2d(3, 32, 8, stride=4), nn.ELU(), nn.Conv2d(32, 64, 4, stride=2), nn.ELU(),
                                    nn.Conv2d(64, 128, 3, stride=2), nn.ELU(), nn.Flatten(), nn.Linear(128 * 3 * 3, 512),
                                    nn.ELU())
        self.stats = nn.Sequential(nn.Linear(27, 128), nn.ELU(), nn.Linear(128, 128), nn.ELU())
        self.msg = nn.Sequential(nn.Linear(256, 128), nn.ELU(), nn.Linear(128, 128), nn.ELU())
        self.core = nn.GRUCell(512 + 128 + 27 + 128, hidden)  # 795 inputs, as in ONI
        self.actor = nn.Linear(hidden, n_actions)
        self.critic = nn.Linear(hidden, 1)

    def forward(self, pixels, blstats, msg, h, done):
        steps, B = done.shape
        bl = blstats.flatten(0, 1)
        x = torch.cat([self.pixels(pixels.flatten(0, 1).float()), self.stats(bl), bl,
                       self.msg(msg.flatten(0, 1).float() / 255.0)], dim=1).view(steps, B, -1)
        outs = []
        for t in range(steps):
            h = self.core(x[t], h * (1.0 - done[t]).view(B, 1))
            outs.append(h)
        out = torch.stack(outs).flatten(0, 1)
        return self.actor(out).view(steps, B, -1), self.critic(out).view(steps, B), h


def inputs(kind, steps, B, crop=9):
    g = torch.Generator().manual_seed(0)
    first = (torch.randint(0, 5976, (steps, B, crop, crop), generator=g).short() if kind == "ours"
             else torch.randint(0, 256, (steps, B, 3, 72, 72), generator=g).to(torch.uint8))
    return (first, torch.rand(steps, B, 27, generator=g), torch.randint(0, 128, (steps, B, 256), generator=g).byte(),
            torch.zeros(steps, B))


def initial_state(kind, B, hidden):
    return torch.zeros(2, B, hidden) if kind == "ours" else torch.zeros(B, hidden)


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def acting_ms(net, kind, hidden, repeats):
    first, bl, msg, done = inputs(kind, 1, ENVS)
    state = initial_state(kind, ENVS, hidden)

    def act():
        with torch.no_grad():
            logits, _, _ = net(first, bl, msg, state, done)
            torch.distributions.Categorical(logits=logits[0]).sample()

    return timed(act, max(repeats * 10, 50))


def training_ms(net, kind, hidden, repeats):
    B = BATCH // T
    first, bl, msg, done = inputs(kind, T + 1, B)
    state = initial_state(kind, B, hidden)
    actions = torch.randint(0, N_ACTIONS, (T, B))
    targets = torch.randn(T, B)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-4, eps=1e-6)

    def update():
        logits, values, _ = net(first, bl, msg, state, done)
        logp = F.log_softmax(logits[:T], dim=-1)
        ratio = torch.exp(logp.gather(2, actions.unsqueeze(2)).squeeze(2) - logp.detach().gather(2, actions.unsqueeze(2)).squeeze(2))
        entropy = -(logp.exp() * logp).sum(-1).mean()
        loss = -(ratio.clamp(1 / 1.1, 1.1) * targets).mean() + 0.5 * ((values[:T] - targets) ** 2).mean() - 0.003 * entropy
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 4.0)
        optimizer.step()

    return timed(update, repeats)


def macs_per_step(net, kind, hidden):
    """Multiply-accumulates of one forward step for one env (convolutions, linear layers, the recurrent cell)."""
    total = 0

    def count(module, args, out):
        nonlocal total
        if isinstance(module, (nn.Conv1d, nn.Conv2d)):
            total += out.numel() * module.in_channels // module.groups * int(np.prod(module.kernel_size))
        elif isinstance(module, nn.Linear):
            total += out.numel() // out.shape[-1] * module.in_features * module.out_features
        elif isinstance(module, (nn.LSTMCell, nn.GRUCell)):
            gates = 4 if isinstance(module, nn.LSTMCell) else 3
            total += gates * module.hidden_size * (module.input_size + module.hidden_size)

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    with torch.no_grad():
        first, bl, msg, done = inputs(kind, 1, 1)
        net(first, bl, msg, initial_state(kind, 1, hidden), done)
    for h in hooks:
        h.remove()
    return total


def glyph_crop_ms(oni, repeats):
    obs = {"glyphs": np.random.default_rng(0).integers(0, 5976, (21, 79)).astype(np.int16),
           "blstats": np.zeros(27, dtype=np.int64), "message": np.zeros(256, dtype=np.uint8)}
    obs["blstats"][:2] = 40, 10
    return timed(lambda: oni["obs_tensors"](obs, 9), repeats * 100)


def render_ms(repeats):
    """A 12x12 crop of tty characters and colours around the hero, drawn from a (256 chars, 16 colours) cache of
    6x6 RGB tiles into one 3x72x72 image."""
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (256, 16, 6, 6, 3), dtype=np.uint8)
    chars, colors = rng.integers(32, 128, (24, 80), dtype=np.uint8), rng.integers(0, 16, (24, 80), dtype=np.uint8)

    def render(x=40, y=10):
        pad_chars, pad_colors = np.pad(chars, 6), np.pad(colors, 6)
        c, k = pad_chars[y: y + 12, x: x + 12], pad_colors[y: y + 12, x: x + 12]
        return tiles[c, k].transpose(4, 0, 2, 1, 3).reshape(3, 72, 72)  # (12, 12, 6, 6, 3) -> (3, 12*6, 12*6)

    assert render().shape == (3, 72, 72)
    return timed(render, repeats * 100)


def nle_step_ms(oni, steps=2000):
    env = oni["make_env"]("NetHackScoreExtendedActions-v1")
    env.reset()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(int(rng.integers(N_ACTIONS)))
        if term or trunc:
            env.reset()
    env.close()
    return 1000 * (time.perf_counter() - start) / steps


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed training batches per network (median)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    oni = runpy.run_path(str(SCRIPT), run_name="oni_policy_cost")
    ours_hidden = oni["Args"].hidden_size
    nets = {"ours": (oni["Agent"](N_ACTIONS, ours_hidden, oni["Args"].crop_size), ours_hidden,
                     glyph_crop_ms(oni, args.repeats)),
            "oni": (ONISizeNet(), 512, render_ms(args.repeats))}
    nle_ms = nle_step_ms(oni)
    print(f"torch {torch.__version__}, 1 thread; acting: a batch of {ENVS} envs; training: {BATCH} steps (rollout {T})")
    print(f"{'network':8} {'params':>9} {'MACs/step':>10} {'act ms/fwd':>10} {'train ms/batch':>14} "
          f"{'input ms/step':>13} {'net ms/env step':>15} {'ceiling steps/s':>15} {'with NLE':>9}")
    for name, (net, hidden, input_ms) in nets.items():
        params = sum(p.numel() for p in net.parameters())
        act, train = acting_ms(net, name, hidden, args.repeats), training_ms(net, name, hidden, args.repeats)
        per_step = act / ENVS + train / BATCH + input_ms  # what one env step costs on one core, NLE aside
        print(f"{name:8} {params:>9,} {macs_per_step(net, name, hidden) / 1e6:>9.2f}M {act:>10.2f} {train:>14.1f} "
              f"{input_ms:>13.4f} {per_step:>15.3f} {1000 / per_step:>15.0f} {1000 / (per_step + nle_ms):>9.0f}")
    print(f"ceiling = 1000 / (act / {ENVS} + train / {BATCH} + input) per core; 'with NLE' adds NLE's own step "
          f"({nle_ms:.3f} ms, random actions)")
