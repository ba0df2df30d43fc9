"""Hidden checks of device.py on cases drawn from the run's seed (0 points; see grader.engine.scoring).

A failure withdraws the points of the public tests a check names in
`rechecks`, so each check draws the kind of case of those tests and asks
their one property, nothing more: a mistake the public tests already show
costs no more with these on.

Oracles: the SPEC's rules, applied here to the drawn cases. get_device: which
device each drawn combination of available accelerators and `prefer` must
give (or a RuntimeError naming the device). move_to: the description of a
structure or single value drawn here as plain data, built by the probe and
moved to `meta`. seed_everything: the draws after drawn seeds, compared with
each other (the SPEC promises repetition, not a seeding convention).
device_summary: the CPU's description through its three call forms, in a
drawn order, and a faked GPU's.
"""

import numpy as np

from grader.engine.feedback import check
from grader.engine.scoring import graded
from grader.suite.test_device import (
    BATCH_TYPE,
    CPU_SUMMARY_CALLS,
    CURRENT_CUDA,
    FAKE_GPU_CALLS,
    LIBRARIES,
    check_cpu_summary,
    check_description,
    check_device,
    check_gpu_summary,
    check_refused,
    kept,
    tensor_on,
)
from grader.worker.probes import device as probes

# ----------------------------------------------------------------- get_device

MAX_CUDA_COUNT = 4
MAX_CUDA_INDEX = 5  # cuda:k is drawn for k in 0..5, so an index past the last GPU comes up too


def drawn_availability(rng, cuda=None, mps=None):
    """CUDA (with 1 to 4 GPUs) and MPS on or off: drawn where not given."""
    cuda = bool(rng.integers(2)) if cuda is None else cuda
    mps = bool(rng.integers(2)) if mps is None else mps
    case = {"cuda": cuda, "mps": mps}
    if cuda:
        case["cuda_count"] = int(rng.integers(1, MAX_CUDA_COUNT + 1))
    return case


def with_prefer(rng, case, prefer):
    """`case` asking for `prefer`, given as a string or (drawn) as a torch.device."""
    case = {**case, "prefer": prefer}
    if prefer is not None and rng.integers(2):
        case["prefer_is_device"] = True
    return case


def cuda_index_past_the_last(rng, case):
    return f"cuda:{int(rng.integers(case['cuda_count'], MAX_CUDA_INDEX + 1))}"


def prefer_drawn_from(rng, case, options):
    return with_prefer(rng, case, options[int(rng.integers(len(options)))])


def available_choices(case):
    """The devices `case` makes available, as get_device's prefer may name them."""
    choices = ["cpu"] + (["mps"] if case["mps"] else [])
    if case["cuda"]:
        choices += ["cuda"] + [f"cuda:{index}" for index in range(case["cuda_count"])]
    return choices


def unavailable_choices(case):
    """Devices prefer may name that `case` does not make available (cuda:k past the last GPU among them)."""
    count = case.get("cuda_count", 0) if case["cuda"] else 0
    choices = [] if case["mps"] else ["mps"]
    choices += [] if case["cuda"] else ["cuda"]
    return choices + [f"cuda:{index}" for index in range(count, MAX_CUDA_INDEX + 1)]


def shuffled(rng, cases):
    return [cases[index] for index in rng.permutation(len(cases))]


def default_cases(rng):
    """get_device() without prefer: every combination of CUDA and MPS, then more drawn, shuffled."""
    cases = [drawn_availability(rng, cuda, mps) for cuda in (True, False) for mps in (True, False)]
    return shuffled(rng, cases + [drawn_availability(rng) for _ in range(4)])


def preferred_cases(rng):
    """An available preferred device of every kind (its details drawn), then more drawn, shuffled.

    prefer=None only with no accelerator, as in the public check: which accelerator a default
    call picks is the other public check's business.
    """
    cases = [with_prefer(rng, drawn_availability(rng), "cpu") for _ in range(2)]
    cases.append(with_prefer(rng, drawn_availability(rng, cuda=True), "cuda"))
    cases.append(with_prefer(rng, drawn_availability(rng, mps=True), "mps"))
    for _ in range(2):
        case = drawn_availability(rng, cuda=True)
        cases.append(with_prefer(rng, case, f"cuda:{int(rng.integers(0, case['cuda_count']))}"))
    cases.append(with_prefer(rng, drawn_availability(rng, cuda=False, mps=False), None))
    for _ in range(4):
        case = drawn_availability(rng)
        cases.append(prefer_drawn_from(rng, case, available_choices(case)))
    return shuffled(rng, cases)


def refused_cases(rng):
    """An unavailable preferred device of every kind (its details drawn), then more drawn, shuffled."""
    cases = [
        with_prefer(rng, drawn_availability(rng, cuda=False), "cuda"),
        with_prefer(rng, drawn_availability(rng, mps=False), "mps"),
        with_prefer(rng, drawn_availability(rng, cuda=False), f"cuda:{int(rng.integers(0, 3))}"),
    ]
    for _ in range(2):
        case = drawn_availability(rng, cuda=True)
        cases.append(with_prefer(rng, case, cuda_index_past_the_last(rng, case)))
    for _ in range(3):
        case = drawn_availability(rng)
        cases.append(prefer_drawn_from(rng, case, unavailable_choices(case)))
    return shuffled(rng, cases)


def expected_device(case):
    """The SPEC's rule: the names get_device may return for `case`, or None where it must raise RuntimeError."""
    cuda, mps = case["cuda"], case["mps"]
    count = case.get("cuda_count", 1) if cuda else 0
    prefer = case.get("prefer")
    if prefer is None:
        return CURRENT_CUDA if cuda else ("mps",) if mps else ("cpu",)
    device_type, _, index = prefer.partition(":")
    available = {"cpu": True, "cuda": cuda and (index == "" or int(index) < count), "mps": mps}[device_type]
    return (prefer,) if available else None


def get_device_reports(student, cases):
    reports = student.probe(probes.get_device_with_patched_accelerators, cases=cases)
    check(len(reports) == len(cases), "get_device: one report per case", call="get_device()")
    return reports


@graded(points=0, exercise="get_device", rechecks=("test_get_device_prefers_cuda_then_mps_then_cpu",))
def test_hidden_get_device_default_choice(student, hidden_rng):
    """Drawn availability of CUDA (1 to 4 GPUs) and MPS, get_device() called without prefer."""
    cases = default_cases(hidden_rng)
    for case, report in zip(cases, get_device_reports(student, cases), strict=True):
        check_device(report, expected_device(case), case)


@graded(points=0, exercise="get_device", rechecks=("test_get_device_honours_prefer_and_refuses_unavailable_devices",))
def test_hidden_get_device_honours_an_available_prefer(student, hidden_rng):
    """Drawn availability, and an available device named by prefer as a string or a torch.device."""
    cases = preferred_cases(hidden_rng)
    for case, report in zip(cases, get_device_reports(student, cases), strict=True):
        check_device(report, expected_device(case), case)


@graded(points=0, exercise="get_device", rechecks=("test_get_device_honours_prefer_and_refuses_unavailable_devices",))
def test_hidden_get_device_refuses_an_unavailable_prefer(student, hidden_rng):
    """Drawn availability, and an unavailable device named by prefer (a cuda:k past the last GPU among them)."""
    cases = refused_cases(hidden_rng)
    for case, report in zip(cases, get_device_reports(student, cases), strict=True):
        check_refused(report, case)


# ----------------------------------------------------------------- move_to

DTYPES = sorted(probes.DTYPES)
LEAF_KINDS = ("tensor", "tensor", "module", "int", "float", "str", "none", "object")
CONTAINER_KINDS = ("dict", "list", "tuple", "Batch")
KEPT_TYPES = {"int": "int", "float": "float", "str": "str", "none": "NoneType", "object": "object"}
DEEPEST = 7  # containers around the deepest tensor: deeper than the public structure's 4


def drawn_word(rng):
    letters = "abcdefghijklmnopqrstuvwxyz_"
    return "".join(letters[int(n)] for n in rng.integers(0, len(letters), size=int(rng.integers(1, 7))))


def drawn_leaf(rng, kind=None):
    kind = kind or LEAF_KINDS[int(rng.integers(len(LEAF_KINDS)))]
    if kind == "tensor":
        shape = [int(n) for n in rng.integers(0, 5, size=int(rng.integers(0, 4)))]
        return {"kind": "tensor", "dtype": DTYPES[int(rng.integers(len(DTYPES)))], "shape": shape}
    if kind == "module":
        return {
            "kind": "module",
            "in": int(rng.integers(1, 5)),
            "out": int(rng.integers(1, 5)),
            "bias": bool(rng.integers(2)),
            "norm": bool(rng.integers(2)),
        }
    if kind == "int":
        return {"kind": "int", "value": int(rng.integers(-(2**40), 2**40))}
    if kind == "float":
        return {"kind": "float", "value": float(rng.normal())}
    if kind == "str":
        return {"kind": "str", "value": drawn_word(rng)}
    return {"kind": kind}


def drawn_container_kind(rng):
    return CONTAINER_KINDS[int(rng.integers(len(CONTAINER_KINDS)))]


def container(rng, kind, children):
    """A container spec of `kind` holding `children` (a Batch, the grader's namedtuple, holds two)."""
    if kind == "dict":
        keys = []
        while len(keys) < len(children):
            word = drawn_word(rng)
            keys += [] if word in keys else [word]
        return {"kind": "dict", "keys": keys, "items": children}
    return {"kind": kind, "items": children}


def drawn_node(rng, depth):
    """A leaf, or (while depth lasts) a container of up to three drawn nodes."""
    if depth == 0 or rng.random() < 0.4:
        return drawn_leaf(rng)
    kind = drawn_container_kind(rng)
    size = 2 if kind == "Batch" else int(rng.integers(0, 4))
    return container(rng, kind, [drawn_node(rng, depth - 1) for _ in range(size)])


def around(rng, inner, siblings_depth, most_siblings):
    """A container of a drawn kind holding `inner` at a drawn place among drawn siblings."""
    kind = drawn_container_kind(rng)
    size = 1 if kind == "Batch" else int(rng.integers(0, most_siblings + 1))
    children = [drawn_node(rng, siblings_depth) for _ in range(size)]
    children.insert(int(rng.integers(size + 1)), inner)
    return container(rng, kind, children)


def drawn_structure(rng):
    """A container nesting drawn values, with one tensor DEEPEST containers down at a drawn place."""
    deep = drawn_leaf(rng, "tensor")
    for _ in range(DEEPEST - 1):
        deep = around(rng, deep, siblings_depth=1, most_siblings=1)
    return around(rng, deep, siblings_depth=3, most_siblings=5)


def every_kind(rng):
    """Containers of every kind nested in a drawn order, holding a leaf of every kind at drawn places.

    Each kind of value move_to must handle is then met on every seed, not only on most.
    """
    leaves = [drawn_leaf(rng, kind) for kind in sorted(set(LEAF_KINDS))]
    leaves = [leaves[index] for index in rng.permutation(len(leaves))]
    kinds = [CONTAINER_KINDS[index] for index in rng.permutation(len(CONTAINER_KINDS))]  # outermost first
    batch_leaves = 2 if kinds[-1] == "Batch" else 1  # the innermost Batch holds no container
    batch, others = leaves[:batch_leaves], leaves[batch_leaves:]
    cuts = sorted(int(n) for n in rng.integers(0, len(others) + 1, size=2))
    shares = iter([others[: cuts[0]], others[cuts[0] : cuts[1]], others[cuts[1] :]])
    inner = None
    for kind in reversed(kinds):
        children = list(batch if kind == "Batch" else next(shares))
        if inner is not None:
            children.insert(int(rng.integers(len(children) + 1)), inner)
        inner = container(rng, kind, children)
    return inner


def expected_description(spec, device):
    """What probes.describe must say of move_to(probes.build(spec), device), by the SPEC."""
    kind = spec["kind"]
    if kind == "tensor":
        return tensor_on(device, f"torch.{spec['dtype']}", tuple(spec["shape"]))
    if kind == "module":
        return {"kind": "Module", "devices": [device]}
    if kind == "dict":
        items = {key: expected_description(item, device) for key, item in zip(spec["keys"], spec["items"], strict=True)}
        return {"kind": "dict", "items": items}
    if kind in CONTAINER_KINDS:
        items = [expected_description(item, device) for item in spec["items"]]
        return {"kind": BATCH_TYPE if kind == "Batch" else kind, "items": items}
    return kept(KEPT_TYPES[kind])


def moved_descriptions(student, specs):
    descriptions = student.probe(probes.moving_built_structures, specs=specs, device="meta")
    check(len(descriptions) == len(specs), "move_to: one description per value", call="move_to(obj, 'meta')")
    return descriptions


@graded(points=0, exercise="move_to", rechecks=("test_move_to_keeps_every_container_type",))
def test_hidden_move_to_keeps_every_container_type(student, hidden_rng):
    """Dicts, lists, tuples and namedtuples nested 7 deep, holding drawn tensors, modules and plain values."""
    specs = [drawn_structure(hidden_rng) for _ in range(3)] + [every_kind(hidden_rng)]
    specs = [specs[index] for index in hidden_rng.permutation(len(specs))]
    for spec, got in zip(specs, moved_descriptions(student, specs), strict=True):
        check_description(got, expected_description(spec, "meta"), "move_to(obj, 'meta') with obj a nested structure")


@graded(points=0, exercise="move_to", rechecks=("test_move_to_moves_modules_and_returns_other_values_as_is",))
def test_hidden_move_to_moves_modules_and_returns_other_values_as_is(student, hidden_rng):
    """A tensor of a drawn dtype and shape, a module of drawn sizes and plain values, each moved on its own."""
    leaves = [drawn_leaf(hidden_rng, kind) for kind in sorted(set(LEAF_KINDS))] + [
        drawn_leaf(hidden_rng) for _ in range(3)
    ]
    leaves = [leaves[index] for index in hidden_rng.permutation(len(leaves))]
    for spec, got in zip(leaves, moved_descriptions(student, leaves), strict=True):
        check_description(got, expected_description(spec, "meta"), f"move_to(<{spec['kind']}>, 'meta')")


# ----------------------------------------------------------------- seed_everything


def drawn_seeds(rng, how_many):
    seeds = []
    while len(seeds) < how_many:
        seed = int(rng.integers(0, 2**32))
        seeds += [] if seed in seeds else [seed]
    return seeds


@graded(points=0, exercise="seed_everything", rechecks=("test_seed_everything_makes_draws_repeat",))
def test_hidden_seed_everything(student, hidden_rng):
    """Drawn seeds, one of them repeated, in a drawn order, with 2 to 8 numbers drawn from each generator."""
    first, second, third = drawn_seeds(hidden_rng, 3)
    # One seed twice and others once, in a drawn order: same seed, same draws; another seed, others.
    order = [first, first, second] + [third, first, second][: int(hidden_rng.integers(0, 4))]
    order = [order[index] for index in hidden_rng.permutation(len(order))]
    count = int(hidden_rng.integers(2, 9))
    draws = student.probe(probes.draws_after_seeding, seeds=order, count=count)
    call = "seed_everything(seed), then draws, for several seeds"
    check(len(draws) == len(order), "seed_everything: one set of draws per seed", call=call)
    for later in range(len(order)):
        for earlier in range(later):
            same_seed = order[earlier] == order[later]
            for library, what in LIBRARIES.items():
                equal = bool(np.array_equal(draws[earlier][library], draws[later][library]))
                check(
                    equal is same_seed,
                    f"{what}: the draws after seeds #{earlier + 1} and #{later + 1} "
                    + ("differ, though the seed was the same" if same_seed else "are equal, though the seeds differ"),
                    call=call,
                )


# ----------------------------------------------------------------- device_summary


@graded(points=0, exercise="device_summary", rechecks=("test_device_summary_describes_the_cpu_and_a_gpu",))
def test_hidden_device_summary(student, hidden_rng):
    """The CPU's three call forms in a drawn order, and a faked GPU with a drawn name and memory."""
    calls = CPU_SUMMARY_CALLS + [CPU_SUMMARY_CALLS[int(hidden_rng.integers(len(CPU_SUMMARY_CALLS)))]]
    for index in hidden_rng.permutation(len(calls)):
        kwargs, call = calls[index]
        check_cpu_summary(student.probe(probes.device_summary_as_plain_data, **kwargs), call)
    # A GPU whose name and memory the student cannot know in advance.
    name = f"GPU {hidden_rng.integers(10**6, 10**7)}"
    check_gpu_summary(
        student, name, int(hidden_rng.integers(2**30, 2**37)), str(hidden_rng.choice(list(FAKE_GPU_CALLS)))
    )
