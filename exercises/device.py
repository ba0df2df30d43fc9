"""Choosing a device and moving work onto it, in PyTorch.

The same script should run on a laptop CPU, an Apple GPU (MPS) and an NVIDIA
GPU (CUDA): pick the device once with `get_device`, move models and batches
with `move_to`, seed every random number generator with `seed_everything`,
and say what the script ran on with `device_summary`.
"""


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
    # TODO: None -> cuda, mps or cpu, whichever is available first; else check prefer is available.
    raise NotImplementedError("get_device: return the best available torch.device, or prefer if available")


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
    # TODO: .to(device) tensors and modules; rebuild dicts, lists, tuples and namedtuples recursively.
    raise NotImplementedError("move_to: return obj with its tensors and modules moved, containers kept")


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
    # TODO: seed random, numpy's global RNG and torch.
    raise NotImplementedError("seed_everything: seed Python's random, NumPy's global RNG and torch (CPU and CUDA)")


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
    # TODO: {"type": ..., "name": ...}, plus "total_memory_bytes" for CUDA.
    raise NotImplementedError("device_summary: return a dict with type, name (and total_memory_bytes for CUDA)")
