"""Extracts the weights of LaRe's scripted prey (a DDPG actor, obs 26 -> 128 -> 128 -> 5) from its checkpoint into
mpe_envs/lare_prey_actor.npz. Run once, by hand (see LARE_PREY.md); the environments only read the .npz.

    python -m mpe_envs.extract_lare_prey path/to/agents_best.ckpt [out.npz]

The checkpoint is a legacy (pre-zip) torch pickle of a whole `ddpg.DDPG` object. It is read with a restricted unpickler:
every class it names becomes an inert stub that only records its arguments and state (no code from the file runs, and
neither torch nor LaRe's modules are imported); tensors become references into the raw storages that follow the
pickles, which are read as plain little-endian float32 arrays.
"""

import collections
import hashlib
import io
import pickle
import sys
from pathlib import Path

import numpy as np

MAGIC, PROTOCOL = 0x1950A86A20F9469CFC6C, 1001  # torch's legacy serialization header
OUT = Path(__file__).with_name("lare_prey_actor.npz")


class Stub:
    """Stands in for any class the pickle names: keeps constructor arguments, dict items and BUILD state."""

    def __init__(self, *args, **kwargs):
        self.args, self.items, self.state = args, {}, None

    def __setitem__(self, key, value):
        self.items[key] = value

    def __setstate__(self, state):
        self.state = state


StorageRef = collections.namedtuple("StorageRef", "key dtype numel")
TensorRef = collections.namedtuple("TensorRef", "storage offset size stride")


def rebuild_tensor(storage, offset, size, stride, *unused):
    return TensorRef(storage, offset, tuple(size), tuple(stride))


def rebuild_parameter(data, *unused):
    return data


class RestrictedUnpickler(pickle.Unpickler):
    known = {("collections", "OrderedDict"): collections.OrderedDict,
             ("torch._utils", "_rebuild_tensor_v2"): rebuild_tensor,
             ("torch._utils", "_rebuild_parameter"): rebuild_parameter,
             ("torch", "FloatStorage"): np.dtype("<f4")}

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) in self.known:
            return self.known[(module, name)]
        return type(name, (Stub,), {"origin": f"{module}.{name}"})

    def persistent_load(self, pid):
        if pid[0] == "module":  # ("module", class, source file, source): the saved source of an nn.Module class
            return pid[1]
        kind, dtype, key, _location, numel, _view = pid
        if kind != "storage" or not isinstance(dtype, np.dtype):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        return self.storages.setdefault(key, StorageRef(key, dtype, numel))


def load_legacy_checkpoint(data: bytes):
    """(object graph with stubs and TensorRefs, {storage key: numpy array})."""
    f = io.BytesIO(data)
    if RestrictedUnpickler(f).load() != MAGIC or RestrictedUnpickler(f).load() != PROTOCOL:
        raise ValueError("not a legacy torch checkpoint")
    RestrictedUnpickler(f).load()  # system info (endianness, type sizes)
    unpickler = RestrictedUnpickler(f)
    root = unpickler.load()
    arrays = {}
    for key in RestrictedUnpickler(f).load():  # then each storage: int64 element count, raw data
        ref = unpickler.storages[key]
        numel = int(np.frombuffer(f.read(8), "<i8")[0])
        assert numel == ref.numel, (key, numel, ref.numel)
        arrays[key] = np.frombuffer(f.read(numel * ref.dtype.itemsize), ref.dtype)
    assert f.read() == b"", "trailing bytes"
    return root, arrays


def tensor(ref, arrays):
    flat = arrays[ref.storage.key]
    n = int(np.prod(ref.size))
    expected = tuple(int(np.prod(ref.size[i + 1:])) for i in range(len(ref.size)))
    assert ref.stride == expected, "only contiguous tensors are expected"
    return flat[ref.offset: ref.offset + n].reshape(ref.size).astype(np.float32)


def extract(data: bytes):
    root, arrays = load_legacy_checkpoint(data)
    ddpg = root["agents"].state  # the DDPG object's attributes
    assert (ddpg["obs_dim"], ddpg["n_action"]) == (26, 5), (ddpg["obs_dim"], ddpg["n_action"])
    layers = ddpg["actor"].state["_modules"]  # the acting network (select_action uses `actor`)
    out = {}
    for i, name in enumerate(("linear1", "linear2", "mu"), 1):
        params = layers[name].state["_parameters"]
        out[f"w{i}"], out[f"b{i}"] = tensor(params["weight"], arrays), tensor(params["bias"], arrays)
    assert out["w1"].shape == (128, 26) and out["w2"].shape == (128, 128) and out["w3"].shape == (5, 128)
    assert all(np.isfinite(a).all() for a in out.values())
    return out


if __name__ == "__main__":
    src = Path(sys.argv[1])
    dst = Path(sys.argv[2]) if len(sys.argv) > 2 else OUT
    data = src.read_bytes()
    weights = extract(data)
    np.savez(dst, **weights)
    print(f"{src} (sha256 {hashlib.sha256(data).hexdigest()}) -> {dst}:",
          ", ".join(f"{k} {v.shape}" for k, v in weights.items()))
