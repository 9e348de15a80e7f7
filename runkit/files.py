"""Files a run writes: never half written, and a checkpoint is read only by the script version that wrote it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from runkit.cli import usage_error


def save_atomic(state: Any, path: Path) -> Path:
    """`torch.save` through a temporary file and a rename: an interrupted save leaves the previous file intact."""
    import torch

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def write_json(path: Path, data: Any) -> None:
    """JSON through a temporary file and a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, version: int, map_location: Any = "cpu") -> dict:
    """A checkpoint written by this version of the script (`version`, saved as its "format"); an older or foreign
    file is refused with one line, since its fields would not match what the script restores."""
    import torch

    if not Path(path).is_file():
        usage_error(f"--resume {path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # truncated, or not a torch file at all
        usage_error(f"--resume {path}: not a readable checkpoint ({type(error).__name__})")
    found = checkpoint.get("format") if isinstance(checkpoint, dict) else None
    if found != version:
        usage_error(f"--resume {path}: a checkpoint of format {found}, this script reads format {version} "
                    "(written by another version of it); start a new run")
    return checkpoint
