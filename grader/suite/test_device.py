"""Graded checks of device.py (6 points).

Oracles: the SPEC's rules written out as expected descriptions (which device
get_device must pick for each combination of available accelerators, what
move_to must return for a nested batch), and reproducibility itself for
seed_everything. GPUs are faked inside the student's process by the probes of
grader/worker/probes/device.py (availability patched for one call, then restored);
moves use PyTorch's `meta` device. Tests marked `cuda` need a real GPU, are
skipped without one and are worth no points.
"""

import numpy as np
import pytest
import torch

from grader.engine.feedback import check, check_equal, every_case, fail
from grader.engine.scoring import graded
from grader.worker.probes import device as probes

DEVICE_TYPE = "torch.device"
BATCH_TYPE = f"{probes.Batch.__module__}.{probes.Batch.__qualname__}"


def availability(case):
    parts = []
    for key, name in (("cuda", "CUDA"), ("mps", "MPS")):
        if case.get(key) is not None:
            parts.append(f"{name} {'available' if case[key] else 'unavailable'}")
    if case.get("cuda") and case.get("cuda_count", 1) != 1:
        parts[0] += f" ({case['cuda_count']} GPUs)"
    return ", ".join(parts)


def describe_get_device_call(case):
    if "prefer" not in case:
        argument = ""
    elif case.get("prefer_is_device"):
        argument = f"torch.device({case['prefer']!r})"
    else:
        argument = repr(case["prefer"])
    return f"get_device({argument}) with {availability(case)}"


# With prefer=None an available CUDA is `cuda` or `cuda:0`: both name the current CUDA device (SPEC).
CURRENT_CUDA = ("cuda", "cuda:0")


def check_device(report, expected, case, mistakes=None):
    """The report of one get_device call shows a torch.device named `expected` (a name, or a tuple of names)."""
    accepted = (expected,) if isinstance(expected, str) else tuple(expected)
    wanted = " or ".join(map(repr, accepted))
    call = describe_get_device_call(case)
    if "raised" in report:
        fail(f"expected {wanted}; it raised {report['raised']}: {report['message']}", call=call)
    if report["type"] != DEVICE_TYPE:
        fail(
            f"expected a torch.device; got a {report['type']} ({report['device']!r})",
            call=call,
            hint=f"return torch.device({accepted[0]!r}), not the name",
        )
    cause = (mistakes or {}).get(report["device"])
    if report["device"] not in accepted:
        fail(f"expected device {wanted}; got {report['device']!r}", call=call, cause=cause)


def names_the_device(message, name):
    """Whether an error message names device `name`, as its string ('cuda:1') or as a torch.device's repr."""
    return name in message or repr(torch.device(name)) in message


def check_refused(report, case):
    """The report of one get_device call shows a RuntimeError that names the preferred device."""
    call = describe_get_device_call(case)
    name = case["prefer"]
    if "raised" not in report:
        fail(
            f"expected RuntimeError (the device is not available); got {report['device']!r}",
            call=call,
            hint="check availability before returning the preferred device",
        )
    check(
        names_the_device(report["message"], name),
        f"the RuntimeError's message should name the device {name!r}; it reads: {report['message']!r}",
        call=call,
    )


@graded(points=1, exercise="get_device")
def test_get_device_prefers_cuda_then_mps_then_cpu(student):
    cases = [
        ({"cuda": True, "mps": True}, CURRENT_CUDA),
        ({"cuda": True, "mps": False}, CURRENT_CUDA),
        ({"cuda": False, "mps": True}, "mps"),
        ({"cuda": False, "mps": False}, "cpu"),
    ]
    reports = student.probe(probes.get_device_with_patched_accelerators, cases=[case for case, _ in cases])
    with every_case() as failures:
        for (case, expected), report in zip(cases, reports, strict=True):
            with failures.case():
                check_device(
                    report,
                    expected,
                    case,
                    mistakes={
                        "mps": "MPS is checked before CUDA; the order is cuda, then mps, then cpu",
                        "cpu": "an available accelerator was not picked; ask torch.cuda.is_available() and "
                        "torch.backends.mps.is_available()",
                    },
                )


@graded(points=1, exercise="get_device")
def test_get_device_honours_prefer_and_refuses_unavailable_devices(student):
    everything = {"cuda": True, "mps": True, "cuda_count": 2}
    nothing = {"cuda": False, "mps": False}
    chosen = [
        ({"prefer": "cpu", **everything}, "cpu"),
        ({"prefer": "cpu", "prefer_is_device": True, **everything}, "cpu"),
        ({"prefer": "cuda", **everything}, "cuda"),
        ({"prefer": "cuda:1", **everything}, "cuda:1"),
        ({"prefer": "mps", **everything}, "mps"),
        ({"prefer": None, **nothing}, "cpu"),
    ]
    refused = [
        {"prefer": "cuda", **nothing},
        {"prefer": "cuda:1", **nothing},
        {"prefer": "cuda", "prefer_is_device": True, **nothing},
        {"prefer": "mps", **nothing},
    ]
    reports = student.probe(probes.get_device_with_patched_accelerators, cases=[case for case, _ in chosen] + refused)
    with every_case() as failures:
        for (case, expected), report in zip(chosen, reports, strict=False):  # the refused cases follow
            with failures.case():
                check_device(
                    report,
                    expected,
                    case,
                    mistakes={
                        device: "prefer is ignored: when it is given, return torch.device(prefer) (if available)"
                        for device in ("cuda", "mps")
                        if device != expected
                    },
                )
        for case, report in zip(refused, reports[len(chosen) :], strict=True):
            with failures.case():
                check_refused(report, case)


# ----------------------------------------------------------------- move_to


def tensor_on(device, dtype, shape):
    return {"kind": "Tensor", "device": device, "dtype": dtype, "shape": shape}


def kept(kind):
    return {"kind": kind, "same_object": True}


def expected_nested(device):
    """What move_to(probes.nested_batch(), device) must be, described as probes.describe does."""
    return {
        "kind": "dict",
        "items": {
            "images": tensor_on(device, "torch.float64", (2, 3)),
            "labels": tensor_on(device, "torch.int64", (2,)),
            "pair": {
                "kind": "tuple",
                "items": [
                    tensor_on(device, "torch.float32", (1,)),
                    {"kind": "list", "items": [tensor_on(device, "torch.float32", (2, 2)), kept("int")]},
                ],
            },
            "batch": {"kind": BATCH_TYPE, "items": [tensor_on(device, "torch.float32", (4,)), kept("str")]},
            "nested": {
                "kind": "dict",
                "items": {
                    "list": {
                        "kind": "list",
                        "items": [
                            tensor_on(device, "torch.float32", (1,)),
                            {"kind": "dict", "items": {"deep": tensor_on(device, "torch.int32", (1, 1))}},
                        ],
                    },
                    "none": kept("NoneType"),
                },
            },
            "model": {"kind": "Module", "devices": [device]},
            "count": kept("int"),
            "name": kept("str"),
            "marker": kept("object"),
        },
    }


def first_difference(expected, got, path="obj"):
    """(path, expected, got) at the first place two descriptions differ, or None."""
    if expected.get("kind") != got.get("kind"):
        return path, expected, got
    if "items" in expected:
        items_expected, items_got = expected["items"], got.get("items")
        if isinstance(items_expected, dict):
            if sorted(items_expected) != sorted(items_got):
                return path, expected, got
            pairs = [(f"{path}[{key!r}]", items_expected[key], items_got[key]) for key in items_expected]
        else:
            if len(items_expected) != len(items_got):
                return path, expected, got
            pairs = [(f"{path}[{index}]", item, items_got[index]) for index, item in enumerate(items_expected)]
        for where, item_expected, item_got in pairs:
            found = first_difference(item_expected, item_got, where)
            if found:
                return found
        return None
    return None if expected == got else (path, expected, got)


def summary(description):
    kind = description.get("kind")
    if kind == "Tensor":
        return f"a {description['dtype']} tensor of shape {description['shape']} on {description['device']!r}"
    if kind == "Module":
        return f"a module with parameters on {', '.join(map(repr, description['devices'])) or 'no device'}"
    if "items" in description:
        return f"a {kind} of {len(description['items'])}"
    return f"a {kind}" + ("" if description.get("same_object") else " (a different object than the one passed in)")


def difference_cause(expected, got):
    kinds = expected.get("kind"), got.get("kind")
    if kinds == ("tuple", "list"):
        return "tuples are rebuilt as lists: rebuild a tuple with tuple(...) (type(obj)(...) keeps every type)"
    if kinds[0] == BATCH_TYPE:
        return "the namedtuple lost its type: rebuild it with type(obj)(*items)"
    if expected.get("kind") == "Tensor" and got.get("kind") == "Tensor" and got["device"] != expected["device"]:
        return "a tensor inside a container was not moved: recurse into dicts, lists and tuples"
    if expected.get("kind") == "Module":
        return "the module was not moved: nn.Module has .to(device) too"
    if expected.get("same_object") and got.get("kind") == expected.get("kind"):
        return "a value that is neither a tensor nor a container was replaced: return it as it is"
    return None


def check_description(got, expected, call):
    found = first_difference(expected, got)
    if found is None:
        return
    path, item_expected, item_got = found
    cause = difference_cause(item_expected, item_got)
    fail(f"at {path}: expected {summary(item_expected)}, got {summary(item_got)}", call=call, cause=cause)


NESTED_CALL = (
    "move_to(obj, 'meta') with obj a dict holding tensors, a tuple, a list, a namedtuple Batch, a nested "
    "dict, a module and an int, a str, None and an object"
)


@graded(points=1, exercise="move_to")
def test_move_to_keeps_every_container_type(student):
    got = student.probe(probes.moving_a_nested_batch, device="meta")
    check_description(got, expected_nested("meta"), NESTED_CALL)


@graded(points=1, exercise="move_to")
def test_move_to_moves_modules_and_returns_other_values_as_is(student):
    got = student.probe(probes.moving_single_values, device="meta")
    expected = {
        "tensor": tensor_on("meta", "torch.float32", (3,)),
        "module": {"kind": "Module", "devices": ["meta"]},
        "int": kept("int"),
        "str": kept("str"),
        "none": kept("NoneType"),
        "object": kept("object"),
    }
    with every_case() as cases:
        for name, description in expected.items():
            with cases.case():
                check_description(got[name], description, f"move_to(<{name}>, 'meta')")


# ----------------------------------------------------------------- seed_everything

LIBRARIES = {"random": "Python's random.random()", "numpy": "NumPy's np.random.rand(3)", "torch": "torch.rand(3)"}
SEEDING = {
    "random": "random.seed(seed)",
    "numpy": "np.random.seed(seed)",
    "torch": "torch.manual_seed(seed)",
    "cuda": "torch.cuda.manual_seed_all(seed)",
}


def check_draws_repeat(draws, libraries, call):
    """Draws after seeds 11, 11 and 12: the first two equal, the third different."""
    first, again, other = draws
    with every_case() as cases:
        for library in libraries:
            with cases.case():
                check(
                    bool(np.array_equal(first[library], again[library])),
                    f"after the same seed twice, {LIBRARIES.get(library, library)} drew different numbers",
                    call=call,
                    cause=f"that generator is not seeded ({SEEDING[library]})",
                )
                check(
                    not np.array_equal(first[library], other[library]),
                    f"seeds 11 and 12 made {LIBRARIES.get(library, library)} draw the same numbers",
                    call=call,
                    cause="the seed argument is not used (a fixed seed instead)",
                )


@graded(points=1, exercise="seed_everything")
def test_seed_everything_makes_draws_repeat(student):
    draws = student.probe(probes.draws_after_seeding, seeds=[11, 11, 12])
    check_draws_repeat(
        draws,
        ["random", "numpy", "torch"],
        "seed_everything(11), draws; seed_everything(11), draws; seed_everything(12), draws",
    )


# ----------------------------------------------------------------- device_summary


# device_summary's three ways of naming the CPU: the probe's arguments, and the call they make.
CPU_SUMMARY_CALLS = [
    ({"device": None}, "device_summary() with CUDA and MPS unavailable"),
    ({"device": "cpu"}, "device_summary('cpu')"),
    ({"device": "cpu", "device_is_torch_device": True}, "device_summary(torch.device('cpu'))"),
]


def check_cpu_summary(report, call):
    """The report of one device_summary call shows a dict describing the CPU, with plain strings."""
    if "not_a_dict" in report:
        fail(f"expected a dict; got a {report['not_a_dict']}", call=call)
    summary = report["summary"]
    for key in ("type", "name"):
        check(key in summary, f"the dict has no {key!r} key (it has {sorted(summary)})", call=call)
        if isinstance(summary[key], dict):
            fail(
                f"{key!r} holds a {summary[key]['not_plain']}; use plain strings",
                call=call,
                hint="device.type is the string 'cpu'",
            )
    check_equal(summary["type"], "cpu", call=call, what="'type'")
    check(
        isinstance(summary["name"], str) and summary["name"] != "",
        f"'name' should be a non-empty string; got {summary['name']!r}",
        call=call,
    )


FAKE_GPU_CALLS = {
    "none": "device_summary()",
    "str": "device_summary('cuda')",
    "device": "device_summary(torch.device('cuda'))",
}


def check_gpu_summary(student, name, total_memory, form):
    """device_summary of a GPU that torch reports (faked in the probe) names it and gives its memory."""
    report = student.probe(probes.device_summary_of_a_faked_gpu, name=name, total_memory=total_memory, form=form)
    call = f"{FAKE_GPU_CALLS[form]} with torch reporting one CUDA GPU, {name!r} of {total_memory} bytes"
    if "not_a_dict" in report:
        fail(f"expected a dict; got a {report['not_a_dict']}", call=call)
    summary = report["summary"]
    for key, expected in (("type", "cuda"), ("name", name), ("total_memory_bytes", total_memory)):
        check(key in summary, f"the dict has no {key!r} key (it has {sorted(summary)})", call=call)
        check_equal(
            summary[key],
            expected,
            call=call,
            what=repr(key),
            hint="torch.cuda.get_device_properties(device) has .name and .total_memory (an int of bytes)",
        )


@graded(points=1, exercise="device_summary")
def test_device_summary_describes_the_cpu_and_a_gpu(student):
    with every_case() as cases:
        for kwargs, call in CPU_SUMMARY_CALLS:
            with cases.case():
                check_cpu_summary(student.probe(probes.device_summary_as_plain_data, **kwargs), call)
        for form in FAKE_GPU_CALLS:
            with cases.case():
                check_gpu_summary(student, "Grader Test GPU", 16 * 2**30, form)


# ----------------------------------------------------------------- real CUDA (no points)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.cuda
@needs_cuda
def test_get_device_finds_the_real_gpu(student):
    reports = student.probe(probes.get_device_with_patched_accelerators, cases=[{}, {"prefer": "cuda:0"}])
    check_device(reports[0], CURRENT_CUDA, {})
    check_device(reports[1], "cuda:0", {"prefer": "cuda:0"})


@pytest.mark.cuda
@needs_cuda
def test_move_to_moves_everything_to_the_gpu(student):
    got = student.probe(probes.moving_a_nested_batch, device="cuda:0")
    check_description(got, expected_nested("cuda:0"), NESTED_CALL.replace("'meta'", "'cuda:0'"))


@pytest.mark.cuda
@needs_cuda
def test_device_summary_reports_the_gpu_memory(student):
    properties = torch.cuda.get_device_properties(0)
    report = student.probe(probes.device_summary_as_plain_data, device="cuda:0")
    summary = report.get("summary", {})
    call = "device_summary('cuda:0')"
    check_equal(summary.get("type"), "cuda", call=call, what="'type'")
    check_equal(
        summary.get("total_memory_bytes"),
        int(properties.total_memory),
        call=call,
        what="'total_memory_bytes'",
        hint="torch.cuda.get_device_properties(device).total_memory",
    )
    check(isinstance(summary.get("name"), str) and summary["name"] != "", "'name' should be the GPU's name", call=call)


@pytest.mark.cuda
@needs_cuda
def test_seed_everything_seeds_the_gpu(student):
    draws = student.probe(probes.draws_after_seeding, seeds=[11, 11, 12], cuda=True)
    check_draws_repeat(draws, ["cuda"], "seed_everything, then torch.rand(3, device='cuda'), twice")
