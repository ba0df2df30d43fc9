"""The course's fixed facts: its eight modules, in order, and their points."""

from __future__ import annotations

from pathlib import Path

# module name -> points; the order is the course's order and gives each
# module its index in test numbers ("<module index>.<test index>").
MODULE_POINTS = {
    "activations": 14,
    "forward": 12,
    "backprop": 16,
    "gradient_descent": 12,
    "softmax_loss": 14,
    "conv_size": 10,
    "cnn": 16,
    "device": 6,
}
MODULES = tuple(MODULE_POINTS)
TORCH_MODULES = ("cnn", "device")  # the modules whose exercises use PyTorch
TOTAL_POINTS = sum(MODULE_POINTS.values())  # 100

# Which modules a submission's module imports (relative imports inside the
# package). A mistake in one module can cost points in the modules that use it,
# and nowhere else.
MODULE_IMPORTS = {
    "activations": (),
    "forward": ("activations",),
    "backprop": ("forward",),
    "gradient_descent": ("forward", "backprop"),
    "softmax_loss": (),
    "conv_size": (),
    "cnn": ("conv_size",),
    "device": (),
}


def uses_torch(modules=None) -> bool:
    """Whether grading `modules` (every module by default) uses PyTorch: what worker templates and lanes preload."""
    return bool(set(modules or MODULES) & set(TORCH_MODULES))


def module_index(module: str) -> int:
    """1-based index of a module in the course."""
    return MODULES.index(module) + 1


def dependents(module: str) -> set[str]:
    """The modules that use `module`, directly or through others, and itself."""
    found = {module}
    changed = True
    while changed:
        changed = False
        for name, imports in MODULE_IMPORTS.items():
            if name not in found and found.intersection(imports):
                found.add(name)
                changed = True
    return found


def module_files(folder: Path, suffix: str = ".py") -> dict[str, Path]:
    """The course modules present in `folder` as regular files, by module name.

    A symbolic link is not a module: it could point anywhere the grader can
    read (the reference solution, say). `suffix=".ipynb"` finds notebooks.
    """
    files = {}
    for name in MODULES:
        path = Path(folder) / f"{name}{suffix}"
        if not path.is_symlink() and path.is_file():
            files[name] = path
    return files
