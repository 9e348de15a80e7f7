"""Throughput of the two MPE backends of algos/ippo_lare_mpe.py: env steps/s (one env step moves every agent once) with
uniform random actions, the scripted prey and the K-nearest observations included, at the batch size that the script
uses (--num-envs 82 by default), episodes reset every 25 steps as in training. Prints a table and the VMAS speed-up.

    python benchmark/mpe_speed.py                                   # all scenarios, 82 envs, 1 torch thread
    python benchmark/mpe_speed.py --scenarios spread_n6 --num-envs 82 1024 --device cuda
"""

import argparse
import importlib.util
import json
import time
from pathlib import Path

import torch

SCRIPT = Path(__file__).resolve().parent.parent / "algos" / "ippo_lare_mpe.py"


def load_script():
    spec = importlib.util.spec_from_file_location("ippo_lare_mpe", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(m, backend, scenario, num_envs, device, min_seconds, episode_length=25):
    scn = m.SCENARIOS[scenario]
    envs = m.make_envs(backend, scn, num_envs, 0, device, episode_length)
    envs.reset()
    gen = torch.Generator(device="cpu").manual_seed(0)
    steps, t0 = 0, time.perf_counter()
    while True:
        for _ in range(episode_length):
            actions = torch.randint(0, envs.n_actions, (num_envs, scn["n_agents"]), generator=gen).to(device)
            envs.step(actions)
        steps += episode_length
        if device.type == "cuda":
            torch.cuda.synchronize()
        if time.perf_counter() - t0 >= min_seconds:
            break
        envs.reset()
    elapsed = time.perf_counter() - t0
    envs.close()
    return {"backend": backend, "scenario": scenario, "num_envs": num_envs, "device": str(device),
            "env_steps_per_s": steps * num_envs / elapsed, "agent_steps_per_s": steps * num_envs * scn["n_agents"] / elapsed,
            "seconds": elapsed}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scenarios", nargs="+", default=["spread_n6", "spread_n15", "spread_n30", "tag_n6", "tag_n15", "tag_n30"])
    p.add_argument("--backends", nargs="+", default=["mpe2", "vmas"])
    p.add_argument("--num-envs", nargs="+", type=int, default=[82], help="batch sizes (parallel envs) to measure")
    p.add_argument("--device", default="cpu", help="device of the VMAS simulation (mpe2 always runs on the CPU)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--min-seconds", type=float, default=3.0, help="measure at least this long (whole episodes)")
    p.add_argument("--json", default=None, help="also write the results to this file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    m = load_script()
    results = []
    for scenario in a.scenarios:
        for num_envs in a.num_envs:
            row = {}
            for backend in a.backends:
                device = torch.device(a.device if backend == "vmas" else "cpu")
                r = measure(m, backend, scenario, num_envs, device, a.min_seconds)
                results.append(r)
                row[backend] = r["env_steps_per_s"]
                print(f"{scenario:11s} {backend:5s} {r['device']:5s} envs={num_envs:5d} {r['env_steps_per_s']:10.0f} env-steps/s "
                      f"{r['agent_steps_per_s']:11.0f} agent-steps/s", flush=True)
            if "mpe2" in row and "vmas" in row:
                print(f"{scenario:11s} vmas speed-up over mpe2 at {num_envs} envs: {row['vmas'] / row['mpe2']:.1f}x", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=2))
