"""Choosing a device and moving work onto it, in PyTorch.

The same script should run on a laptop CPU, an Apple GPU (MPS) and an NVIDIA
GPU (CUDA): pick the device once with `get_device`, move models and batches
with `move_to`, seed every random number generator with `seed_everything`,
and say what the script ran on with `device_summary`.
"""

import platform
import random

import numpy as np
import torch
from torch import nn


def get_device(prefer=None):
    """The device to compute on: the one asked for, or the best one available.

    Formula: prefer=None -> cuda if available, else mps if available, else cpu

    Args:
        prefer: None, or a device name ("cpu", "cuda", "cuda:1", "mps") or a torch.device.

    Returns:
        torch.device.

    Raises:
        RuntimeError: `prefer` names a device that is not available here (the message names it).

    Hint: torch.cuda.is_available() and torch.backends.mps.is_available() say what is there.

    Example:
        >>> get_device("cpu")
        device(type='cpu')
    """
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if prefer is None:
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    device = torch.device(prefer)
    available = {
        "cpu": True,
        "cuda": cuda and (device.index is None or device.index < torch.cuda.device_count()),
        "mps": mps,
    }
    if not available.get(device.type, False):
        raise RuntimeError(f"get_device: the device {str(device)!r} is not available on this machine")
    return device


def move_to(obj, device):
    """`obj` with every tensor and module inside it moved to `device`, containers rebuilt as their own type.

    Formula: move_to(container) = same container type of move_to(item) for each item

    Args:
        obj: a torch.Tensor, an nn.Module, or a dict, list, tuple or namedtuple nesting them;
            anything else (numbers, strings, None, ...) is returned as it is.
        device: a torch.device or a device name such as "cpu" or "cuda".

    Returns:
        the moved object: tensors are new tensors on `device` (same shape and dtype),
        modules are moved in place and returned, containers keep their type.

    Hint: a namedtuple is a tuple with a `_fields` attribute; rebuild it with type(obj)(*items).

    Example:
        >>> move_to({"x": torch.zeros(2, 3)}, "cpu")["x"].shape
        torch.Size([2, 3])
    """
    if isinstance(obj, (torch.Tensor, nn.Module)):
        return obj.to(device)
    if isinstance(obj, dict):
        moved = obj.copy()  # a copy of the same type (OrderedDict, defaultdict, ...)
        for key, value in obj.items():
            moved[key] = move_to(value, device)
        return moved
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(move_to(item, device) for item in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(item, device) for item in obj)
    return obj


def seed_everything(seed):
    """Seed Python's, NumPy's and PyTorch's random number generators so that runs repeat.

    Formula: random.seed(seed); np.random.seed(seed); torch.manual_seed(seed) (CPU and every GPU)

    Args:
        seed: int in [0, 2**32).

    Returns:
        None.

    Hint: torch.manual_seed seeds the CPU generator and every CUDA device's.

    Example:
        >>> seed_everything(0); first = np.random.rand(2)
        >>> seed_everything(0); bool((np.random.rand(2) == first).all())
        True
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def device_summary(device=None):
    """A short description of a device, for logs and reports.

    Formula: {"type": device.type, "name": a readable name} (+ "total_memory_bytes" for CUDA)

    Args:
        device: None (meaning get_device()), a device name or a torch.device.

    Returns:
        dict with str "type" ("cpu", "cuda", "mps"), str "name" (the GPU's or the
        processor's name) and, for CUDA, int "total_memory_bytes".

    Hint: torch.cuda.get_device_properties(device) has .name and .total_memory.

    Example:
        >>> sorted(device_summary("cpu"))
        ['name', 'type']
    """
    device = get_device() if device is None else torch.device(device)
    summary = {"type": device.type}
    if device.type == "cuda":
        properties = torch.cuda.get_device_properties(device)
        summary["name"] = properties.name
        summary["total_memory_bytes"] = int(properties.total_memory)
    elif device.type == "mps":
        summary["name"] = "Apple GPU (MPS)"
    else:
        summary["name"] = platform.processor() or platform.machine() or "cpu"
    return summary
