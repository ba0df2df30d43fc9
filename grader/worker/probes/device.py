"""Probes for device.py: run the student's device helpers with CUDA/MPS availability patched.

Whether a GPU is there is faked inside the student's process (torch.cuda and
torch.backends.mps are patched for the duration of one call, then restored),
so every branch of get_device can be checked on a CPU-only machine. Moves are
checked with PyTorch's `meta` device, which every build has. Results come
back as plain descriptions: type names, device strings, shapes, flags.
"""

from __future__ import annotations

import collections
import contextlib
import random
from unittest import mock

import numpy as np
import torch
from torch import nn

# A namedtuple type of the grader's, so its name in a description is known in advance.
Batch = collections.namedtuple("Batch", ["images", "labels"])


def type_name(value) -> str:
    cls = type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


@contextlib.contextmanager
def patched_accelerators(cuda: bool | None, mps: bool | None, cuda_count: int = 1):
    """Make torch report CUDA (with `cuda_count` devices) and MPS as available or not; None leaves it real."""
    with contextlib.ExitStack() as stack:
        if cuda is not None:
            stack.enter_context(mock.patch.object(torch.cuda, "is_available", lambda: cuda))
            stack.enter_context(mock.patch.object(torch.cuda, "device_count", lambda: cuda_count if cuda else 0))
        if mps is not None:
            stack.enter_context(mock.patch.object(torch.backends.mps, "is_available", lambda: mps))
            stack.enter_context(mock.patch.object(torch.backends.mps, "is_built", lambda: mps))
        yield


def as_device_argument(prefer, prefer_is_device: bool):
    return torch.device(prefer) if prefer_is_device and prefer is not None else prefer


def get_device_with_patched_accelerators(submission, cases: list) -> list:
    """get_device with CUDA and MPS availability faked, case by case.

    Each case is {prefer, prefer_is_device, cuda, mps, cuda_count}; the report says what it returned,
    or {"raised": ..., "message": ...} for a RuntimeError. Any other exception propagates.
    """
    get_device = submission.device.get_device
    reports = []
    for case in cases:
        prefer = as_device_argument(case.get("prefer"), case.get("prefer_is_device", False))
        with patched_accelerators(case.get("cuda"), case.get("mps"), case.get("cuda_count", 1)):
            try:
                device = get_device() if "prefer" not in case else get_device(prefer)
            except NotImplementedError:
                raise  # a RuntimeError too, but it means "not attempted"
            except RuntimeError as error:
                reports.append({"raised": type_name(error), "message": str(error)[:400]})
                continue
        reports.append({"device": str(device), "type": type_name(device)})
    return reports


# ----------------------------------------------------------------- move_to


def nested_batch():
    """A nested structure of every container move_to must keep, holding tensors, a module and other values."""
    marker = object()
    return {
        "images": torch.ones(2, 3, dtype=torch.float64),
        "labels": torch.arange(2),
        "pair": (torch.zeros(1), [torch.zeros(2, 2), 3]),
        "batch": Batch(torch.zeros(4), "not a tensor"),
        "nested": {"list": [torch.ones(1), {"deep": torch.zeros(1, 1, dtype=torch.int32)}], "none": None},
        "model": nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)),
        "count": 7,
        "name": "batch",
        "marker": marker,
    }


def describe(value, original):
    """A plain description of a moved value; `original` is what it was before the move."""
    if isinstance(value, torch.Tensor):
        return {
            "kind": "Tensor",
            "device": str(value.device),
            "dtype": str(value.dtype),
            "shape": tuple(int(n) for n in value.shape),
        }
    if isinstance(value, nn.Module):
        tensors = list(value.parameters()) + list(value.buffers())
        return {"kind": "Module", "devices": sorted({str(tensor.device) for tensor in tensors})}
    if isinstance(value, dict):
        source = original if isinstance(original, dict) else {}
        return {
            "kind": type_name(value),
            "items": {str(key): describe(item, source.get(key)) for key, item in value.items()},
        }
    if isinstance(value, (list, tuple)):
        source = list(original) if isinstance(original, (list, tuple)) else []
        source += [None] * (len(value) - len(source))
        return {
            "kind": type_name(value),
            "items": [describe(item, before) for item, before in zip(value, source, strict=False)],
        }
    return {"kind": type_name(value), "same_object": value is original}


def moving_a_nested_batch(submission, device: str) -> dict:
    """move_to on a nested batch of tensors, containers, a module and plain values, described."""
    original = nested_batch()
    snapshot = dict(original)  # the top-level values before the call, in case move_to edits in place
    moved = submission.device.move_to(original, device)
    return describe(moved, snapshot)


# What a structure spec (plain data the trusted side draws) may name: tensor dtypes and leaf values.
DTYPES = {
    name: getattr(torch, name)
    for name in (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "bool",
    )
}
LEAVES = {"int": int, "float": float, "str": str}


def build(spec):
    """The live structure a plain-data spec describes.

    A spec is {"kind": ...} with "dict" (and "keys", "items"), "list", "tuple", "Batch" (two "items"),
    "tensor" ("dtype", "shape"), "module" ("in", "out", "bias", "norm": a BatchNorm1d after the Linear),
    "int", "float", "str" ("value"), "none" or "object".
    """
    kind = spec["kind"]
    if kind == "dict":
        return {str(key): build(item) for key, item in zip(spec["keys"], spec["items"], strict=True)}
    if kind in ("list", "tuple"):
        return {"list": list, "tuple": tuple}[kind](build(item) for item in spec["items"])
    if kind == "Batch":
        return Batch(*(build(item) for item in spec["items"]))
    if kind == "tensor":
        return torch.zeros(tuple(int(n) for n in spec["shape"]), dtype=DTYPES[spec["dtype"]])
    if kind == "module":
        linear = nn.Linear(int(spec["in"]), int(spec["out"]), bias=bool(spec["bias"]))
        return nn.Sequential(linear, nn.BatchNorm1d(int(spec["out"]))) if spec["norm"] else linear
    if kind in LEAVES:
        return LEAVES[kind](spec["value"])
    if kind == "none":
        return None
    if kind == "object":
        return object()
    raise ValueError(f"unknown kind {kind!r} in a structure spec")


def containers_copied(value):
    """`value` with every container copied and every leaf the same object: what it held before a move."""
    if isinstance(value, dict):
        return {key: containers_copied(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [containers_copied(item) for item in value]
    return value


def moving_built_structures(submission, specs: list, device: str) -> list:
    """move_to on nested structures of tensors, containers, modules and plain values, each described.

    Each structure is built from a plain-data spec (see `build`).
    """
    descriptions = []
    for spec in specs:
        original = build(spec)
        before = containers_copied(original)  # in case move_to edits containers in place
        descriptions.append(describe(submission.device.move_to(original, device), before))
    return descriptions


def moving_single_values(submission, device: str) -> dict:
    """move_to on a bare tensor, module, int, str, None and object, each described."""
    values = {
        "tensor": torch.ones(3),
        "module": nn.Linear(2, 1),
        "int": 5,
        "str": "text",
        "none": None,
        "object": object(),
    }
    return {name: describe(submission.device.move_to(value, device), value) for name, value in values.items()}


# ----------------------------------------------------------------- seed_everything


def draws_after_seeding(submission, seeds: list, cuda: bool = False, count: int = 3) -> list:
    """seed_everything, then draws from random, NumPy and torch (and CUDA), for each seed.

    Each draw is `count` numbers from each generator.
    """
    saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
    try:
        draws = []
        for seed in seeds:
            submission.device.seed_everything(seed)
            draw = {
                "random": np.array([random.random() for _ in range(count)]),
                "numpy": np.random.rand(count),
                "torch": torch.rand(count, dtype=torch.float64).numpy(),
            }
            if cuda:
                draw["cuda"] = torch.rand(count, dtype=torch.float64, device="cuda").cpu().numpy()
            draws.append(draw)
        return draws
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
        torch.set_rng_state(saved[2])


# ----------------------------------------------------------------- device_summary


def plain_summary(summary) -> dict:
    """device_summary's result as plain data: {"summary": {...}}, each value plain or described."""
    if not isinstance(summary, dict):
        return {"not_a_dict": type_name(summary)}
    plain = {}
    for key, value in summary.items():
        if type(value) in (str, int, float, bool) or value is None:
            plain[str(key)] = value
        else:
            plain[str(key)] = {"not_plain": type_name(value), "text": str(value)[:200]}
    return {"summary": plain}


def device_summary_as_plain_data(
    submission, device=None, device_is_torch_device: bool = False, patch_none: bool = True
) -> dict:
    """device_summary's result, as plain data.

    device=None runs with CUDA and MPS patched unavailable, so the answer is the CPU's.
    """
    argument = as_device_argument(device, device_is_torch_device)
    if device is None and patch_none:
        with patched_accelerators(cuda=False, mps=False):
            summary = submission.device.device_summary()
    else:
        summary = submission.device.device_summary(argument)
    return plain_summary(summary)


class FakeGpuProperties:
    """What torch.cuda.get_device_properties gives, for a GPU the trusted side made up."""

    def __init__(self, name: str, total_memory: int):
        self.name, self.total_memory = name, total_memory
        self.major, self.minor, self.multi_processor_count = 8, 0, 1

    def __repr__(self):
        return f"_CudaDeviceProperties(name={self.name!r}, total_memory={self.total_memory // 2**20}MB)"


def device_summary_of_a_faked_gpu(submission, name: str, total_memory: int, form: str) -> dict:
    """device_summary of a GPU that torch reports as there, with the given name and memory.

    torch.cuda's availability, count, current device, properties, name and
    memory queries answer for that GPU during the call. `form` picks the
    argument: "none" (get_device() decides), "str" ("cuda") or "device"
    (torch.device("cuda")).
    """
    properties = FakeGpuProperties(name, total_memory)
    argument = {"none": None, "str": "cuda", "device": torch.device("cuda")}[form]
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched_accelerators(cuda=True, mps=False))
        for attribute, value in (
            ("current_device", lambda: 0),
            ("get_device_properties", lambda *args, **kwargs: properties),
            ("get_device_name", lambda *args, **kwargs: name),
            ("mem_get_info", lambda *args, **kwargs: (total_memory // 2, total_memory)),
            ("memory_allocated", lambda *args, **kwargs: 0),
            ("memory_reserved", lambda *args, **kwargs: 0),
        ):
            stack.enter_context(mock.patch.object(torch.cuda, attribute, value))
        summary = submission.device.device_summary() if argument is None else submission.device.device_summary(argument)
    return plain_summary(summary)
