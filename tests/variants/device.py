"""Variants of solutions/device.py: realistic student mistakes, and correct rewrites.

Each broken variant must lose points in device, with `feedback` in the feedback
of a failed test; each correct one must score full marks. tests/test_variants.py
grades them all: broken ones on the public tests, correct ones with the hidden tests too.

HIDDEN_ONLY_VARIANTS pass every public test and lose their points only when the
hidden tests (grader/hidden/test_device.py) run: they answer the published cases
and nothing more. tests/test_variants.py grades them with the hidden tests on.
"""

from tests.helpers import Variant

MODULE = "device"

GET_DEVICE_BODY = """    cuda = torch.cuda.is_available()
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
"""
SEQUENCE_BRANCHES = """    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(move_to(item, device) for item in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(move_to(item, device) for item in obj)
"""

MOVE_HEAD = """    if isinstance(obj, (torch.Tensor, nn.Module)):
        return obj.to(device)
    if isinstance(obj, dict):
        moved = obj.copy()  # a copy of the same type (OrderedDict, defaultdict, ...)
        for key, value in obj.items():
            moved[key] = move_to(value, device)
        return moved
"""
SEED_BODY = """    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
"""
SUMMARY_BODY = """    device = get_device() if device is None else torch.device(device)
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
"""


def broken(name, edits, feedback):
    return Variant(name=name, module=MODULE, edits=edits, feedback=feedback)


def correct(name, edits):
    return Variant(name=name, module=MODULE, edits=edits, correct=True)


VARIANTS = [
    broken(
        "device_get_device_ignores_prefer",
        [
            (
                '    if prefer is None:\n        return torch.device("cuda" if cuda else "mps" if mps else "cpu")\n',
                '    return torch.device("cuda" if cuda else "mps" if mps else "cpu")\n',
            )
        ],
        feedback="prefer is ignored",
    ),
    broken(
        "device_get_device_mps_before_cuda",
        [
            (
                'torch.device("cuda" if cuda else "mps" if mps else "cpu")',
                'torch.device("mps" if mps else "cuda" if cuda else "cpu")',
            )
        ],
        feedback="MPS is checked before CUDA",
    ),
    broken(
        "device_get_device_returns_the_name",
        [
            (
                '        return torch.device("cuda" if cuda else "mps" if mps else "cpu")\n',
                '        return "cuda" if cuda else "mps" if mps else "cpu"\n',
            )
        ],
        feedback="expected a torch.device; got a str",
    ),
    broken(
        "device_get_device_trusts_prefer",
        [
            (
                GET_DEVICE_BODY,
                """    if prefer is not None:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
""",
            )
        ],
        feedback="expected RuntimeError (the device is not available)",
    ),
    broken(
        "device_get_device_error_without_the_name",
        [
            (
                '        raise RuntimeError(f"get_device: the device {str(device)!r} '
                'is not available on this machine")\n',
                '        raise RuntimeError("get_device: that device is not available on this machine")\n',
            )
        ],
        feedback="should name the device",
    ),
    broken(
        "device_move_to_tuples_become_lists",
        [
            (
                SEQUENCE_BRANCHES,
                SEQUENCE_BRANCHES.replace(
                    "        return type(obj)(move_to(item, device) for item in obj)\n",
                    "        return [move_to(item, device) for item in obj]\n",
                ),
            )
        ],
        feedback="tuples are rebuilt as lists",
    ),
    broken(
        "device_move_to_namedtuple_becomes_tuple",
        [
            (
                SEQUENCE_BRANCHES,
                """    if isinstance(obj, list):
        return [move_to(item, device) for item in obj]
    if isinstance(obj, tuple):
        return tuple(move_to(item, device) for item in obj)
""",
            )
        ],
        feedback="the namedtuple lost its type",
    ),
    broken(
        "device_move_to_skips_modules",
        [("    if isinstance(obj, (torch.Tensor, nn.Module)):\n", "    if isinstance(obj, torch.Tensor):\n")],
        feedback="the module was not moved",
    ),
    broken(
        "device_move_to_only_the_top_level",
        [
            (
                "            moved[key] = move_to(value, device)\n",
                "            moved[key] = value.to(device) if isinstance(value, torch.Tensor) else value\n",
            )
        ],
        feedback="recurse into dicts, lists and tuples",
    ),
    broken("device_seed_everything_skips_numpy", [("    np.random.seed(seed)\n", "")], feedback="np.random.seed(seed)"),
    broken(
        "device_seed_everything_fixed_torch_seed",
        [("    torch.manual_seed(seed)\n", "    torch.manual_seed(0)\n")],
        feedback="the seed argument is not used",
    ),
    broken(
        "device_summary_holds_a_torch_device",
        [('    summary = {"type": device.type}\n', '    summary = {"type": device}\n')],
        feedback="use plain strings",
    ),
    correct(
        "device_get_device_returns_cuda_0",
        [
            (
                'torch.device("cuda" if cuda else "mps" if mps else "cpu")',
                'torch.device("cuda:0" if cuda else "mps" if mps else "cpu")',
            )
        ],
    ),
    correct(
        "device_written_with_a_helper_and_other_branches",
        [
            (
                GET_DEVICE_BODY,
                """    def available(device):
        if device.type == "cuda":
            return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
        if device.type == "mps":
            return torch.backends.mps.is_available()
        return device.type == "cpu"

    if prefer is not None:
        device = prefer if isinstance(prefer, torch.device) else torch.device(prefer)
        if not available(device):
            raise RuntimeError(f"{device} is not available")
        return device
    for name in ("cuda", "mps"):
        if available(torch.device(name)):
            return torch.device(name)
    return torch.device("cpu")
""",
            ),
            (
                """    if isinstance(obj, dict):
        moved = obj.copy()  # a copy of the same type (OrderedDict, defaultdict, ...)
        for key, value in obj.items():
            moved[key] = move_to(value, device)
        return moved
"""
                + SEQUENCE_BRANCHES,
                """    if isinstance(obj, dict):
        return type(obj)((key, move_to(value, device)) for key, value in obj.items())
    if isinstance(obj, list):
        return [move_to(item, device) for item in obj]
    if isinstance(obj, tuple):
        items = [move_to(item, device) for item in obj]
        return type(obj)(*items) if hasattr(type(obj), "_make") else tuple(items)
""",
            ),
            ("    torch.cuda.manual_seed_all(seed)\n", ""),
        ],
    ),
    # d2l's try_gpu(i): CUDA counted with torch.cuda.device_count() >= i + 1, cuda:0 by default.
    correct(
        "device_get_device_d2l_try_gpu_style",
        [
            (
                GET_DEVICE_BODY,
                """    if prefer is None:
        if torch.cuda.device_count() >= 1:
            return torch.device("cuda:0")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = prefer if isinstance(prefer, torch.device) else torch.device(prefer)
    if device.type == "cuda":
        i = 0 if device.index is None else device.index
        ok = torch.cuda.is_available() and torch.cuda.device_count() >= i + 1
    elif device.type == "mps":
        ok = torch.backends.mps.is_available()
    else:
        ok = device.type == "cpu"
    if not ok:
        raise RuntimeError(f"get_device: {device} is not available")
    return device
""",
            )
        ],
    ),
    # The seed_everything of Kaggle notebooks: PYTHONHASHSEED, torch.cuda.manual_seed and cuDNN's
    # determinism flags besides the three generators.
    correct(
        "device_seed_everything_kaggle_style",
        [
            ("import platform\n", "import os\nimport platform\n"),
            (
                SEED_BODY,
                """    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
""",
            ),
        ],
    ),
    # torch.is_tensor, copy.copy for any dict type and namedtuple's own _make (the "recursive
    # to(device)" helpers of training scripts).
    correct(
        "device_move_to_with_is_tensor_copy_and_make",
        [
            ("import platform\n", "import copy\nimport platform\n"),
            (
                MOVE_HEAD + SEQUENCE_BRANCHES,
                """    if torch.is_tensor(obj) or isinstance(obj, nn.Module):
        return obj.to(device)
    if isinstance(obj, dict):
        moved = copy.copy(obj)
        moved.update({key: move_to(value, device) for key, value in obj.items()})
        return moved
    if isinstance(obj, tuple) and hasattr(obj, "_make"):
        return obj._make(move_to(item, device) for item in obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)([move_to(item, device) for item in obj])
""",
            ),
        ],
    ),
    # torch.cuda.get_device_name beside get_device_properties(...).total_memory, platform.uname()
    # for the CPU, one dict literal per device type.
    correct(
        "device_summary_with_get_device_name_and_uname",
        [
            (
                SUMMARY_BODY,
                """    device = get_device() if device is None else torch.device(device)
    if device.type == "cuda":
        return {
            "type": "cuda",
            "name": torch.cuda.get_device_name(device),
            "total_memory_bytes": torch.cuda.get_device_properties(device).total_memory,
        }
    if device.type == "mps":
        return {"type": "mps", "name": "Apple silicon GPU"}
    return {"type": "cpu", "name": platform.uname().processor or platform.uname().machine or "cpu"}
""",
            )
        ],
    ),
]


HIDDEN_ONLY_VARIANTS = [
    broken(
        "device_get_device_ignores_device_count",
        [
            (
                '        "cuda": cuda and (device.index is None or device.index < torch.cuda.device_count()),\n',
                '        "cuda": cuda,\n',
            )
        ],
        feedback="hidden test failed: wrong result from get_device",
    ),
    broken(
        "device_get_device_table_of_the_public_cases",
        [
            (
                GET_DEVICE_BODY,
                """    name = None if prefer is None else str(prefer)
    key = (name, torch.cuda.is_available(), torch.backends.mps.is_available())
    answers = {
        (None, True, True): "cuda",
        (None, True, False): "cuda",
        (None, False, True): "mps",
        (None, False, False): "cpu",
        ("cpu", True, True): "cpu",
        ("cuda", True, True): "cuda",
        ("cuda:1", True, True): "cuda:1",
        ("mps", True, True): "mps",
    }
    if key not in answers:
        raise RuntimeError(f"get_device: {prefer} is not available")
    return torch.device(answers[key])
""",
            )
        ],
        feedback="hidden test failed",
    ),
    broken(
        "device_move_to_four_levels_deep",  # the public structure nests four containers
        [
            (
                """    if isinstance(obj, (torch.Tensor, nn.Module)):
        return obj.to(device)
    if isinstance(obj, dict):
        moved = obj.copy()  # a copy of the same type (OrderedDict, defaultdict, ...)
        for key, value in obj.items():
            moved[key] = move_to(value, device)
        return moved
"""
                + SEQUENCE_BRANCHES
                + "    return obj\n",
                """    def moved(value, levels):
        if isinstance(value, (torch.Tensor, nn.Module)):
            return value.to(device)
        if levels == 0:
            return value
        if isinstance(value, dict):
            return {key: moved(item, levels - 1) for key, item in value.items()}
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return type(value)(*(moved(item, levels - 1) for item in value))
        if isinstance(value, (list, tuple)):
            return type(value)(moved(item, levels - 1) for item in value)
        return value

    return moved(obj, 4)
""",
            )
        ],
        feedback="hidden test failed: wrong result from move_to",
    ),
]
