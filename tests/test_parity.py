"""exercises/ and solutions/ offer the same API with the same docstrings, as docs/contract.md fixes it."""

import ast
import re
import subprocess
import sys

import pytest

from grader.course import MODULES
from tests.helpers import EXERCISES, ROOT, SOLUTIONS

CONTRACT_PAGE = ROOT / "docs" / "contract.md"
# The contract of docs/contract.md: every public name and its parameters with defaults.
CONTRACT = {
    "activations": {
        "sigmoid": "z",
        "sigmoid_grad": "z",
        "tanh": "z",
        "tanh_grad": "z",
        "relu": "z",
        "relu_grad": "z",
        "leaky_relu": "z, alpha=0.01",
        "leaky_relu_grad": "z, alpha=0.01",
        "binary_step": "z",
        "softmax": "z, axis=-1",
    },
    "forward": {
        "neuron": "x, w, b, activation=sigmoid",
        "perceptron": "x, w, b",
        "dense": "X, W, b, activation=None",
        "init_params": "nn_input_dim, nn_hdim, nn_output_dim, seed=0",
        "forward": "params, X",
        "predict": "params, X",
    },
    "backprop": {
        "loss": "params, X, y, reg_lambda=0.0",
        "backward": "params, cache, X, y, reg_lambda=0.0",
        "numerical_gradient": "f, x, h=1e-05",
        "relative_error": "a, b",
    },
    "gradient_descent": {
        "gradient_descent": "grad_fn, x0, learning_rate=0.1, num_steps=100",
        "sgd_step": "params, grads, learning_rate",
        "iterate_minibatches": "X, y, batch_size, shuffle=True, seed=None",
        "train_two_layer_net": "X, y, nn_hdim, num_passes=2000, learning_rate=1.0, reg_lambda=0.001, "
        "batch_size=None, seed=0",
    },
    "softmax_loss": {
        "one_hot": "y, num_classes",
        "cross_entropy": "probs, y",
        "softmax_loss_naive": "W, X, y, reg",
        "softmax_loss_vectorized": "W, X, y, reg",
    },
    "conv_size": {
        "conv_output_size": "input_size, kernel_size, stride=1, padding=0, dilation=1",
        "pool_output_size": "input_size, kernel_size, stride=None, padding=0",
        "conv2d_output_shape": "input_shape, out_channels, kernel_size, stride=1, padding=0, dilation=1",
        "conv2d_num_params": "in_channels, out_channels, kernel_size, bias=True",
        "same_padding": "kernel_size, dilation=1",
    },
    "cnn": {
        "NeuralNet.__init__": "self, input_size=784, hidden_size=500, num_classes=10",
        "NeuralNet.forward": "self, x",
        "ConvNet.__init__": "self, num_classes=10, in_channels=1, image_size=28",
        "ConvNet.forward": "self, x",
        "count_parameters": "model, trainable_only=True",
        "train_one_epoch": 'model, loader, optimizer, criterion=None, device="cpu"',
        "evaluate": 'model, loader, device="cpu"',
        "capture_activations": "model, x, layer_names",
    },
    "device": {
        "get_device": "prefer=None",
        "move_to": "obj, device",
        "seed_everything": "seed",
        "device_summary": "device=None",
    },
}


def normalised(parameters: str) -> str:
    """A parameter list as Python writes it back (`h=1e-5` and `h=1e-05` alike), without a leading self."""
    arguments = ast.parse(f"def f({parameters}): pass").body[0].args
    text = ast.unparse(arguments)
    return text.removeprefix("self, ").removeprefix("self")


@pytest.mark.parametrize("module", MODULES)
def test_the_written_contract_shows_every_signature(module):
    page = CONTRACT_PAGE.read_text()
    heading = f"## exercises/{module}.py"
    assert heading in page, f"docs/contract.md has no section {heading!r}"
    section = page[page.index(heading) :]
    section = section[: section.find("\n## ", len(heading))]
    for name, parameters in CONTRACT[module].items():
        short = name.rpartition(".")[2]
        shown = {
            normalised(found) for found in re.findall(rf"`(?:class )?[^`]*?\b{re.escape(short)}\(([^)`]*)\)", section)
        }
        assert normalised(parameters) in shown, f"docs/contract.md shows no {short}({parameters}) for {name}"


def definitions(path):
    """{qualified name: (parameters as source, docstring)} for functions, classes and methods."""
    tree = ast.parse(path.read_text())
    found = {}

    def visit(nodes, prefix=""):
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + node.name] = (ast.unparse(node.args), ast.get_docstring(node))
            elif isinstance(node, ast.ClassDef):
                bases = ", ".join(ast.unparse(base) for base in node.bases)
                found[prefix + node.name] = (bases, ast.get_docstring(node))
                visit(node.body, prefix + node.name + ".")

    visit(tree.body)
    return found, ast.get_docstring(tree)


@pytest.mark.parametrize("module", MODULES)
def test_stub_and_solution_share_names_signatures_and_docstrings(module):
    stub, stub_doc = definitions(EXERCISES / f"{module}.py")
    solution, solution_doc = definitions(SOLUTIONS / f"{module}.py")
    assert stub_doc == solution_doc, f"{module}: module docstrings differ"
    assert sorted(stub) == sorted(solution), f"{module}: defined names differ"
    for name in solution:
        assert stub[name][0] == solution[name][0], f"{module}.{name}: signatures differ"
        assert stub[name][1] == solution[name][1], f"{module}.{name}: docstrings differ"


@pytest.mark.parametrize("module", MODULES)
def test_both_packages_follow_the_contract(module):
    for package in (EXERCISES, SOLUTIONS):
        found, _ = definitions(package / f"{module}.py")
        for name, parameters in CONTRACT[module].items():
            assert name in found, f"{package.name}/{module}.py lacks {name}"
            assert found[name][0] == parameters.replace('"', "'"), (
                f"{package.name}/{module}.py: {name}({found[name][0]})"
            )


@pytest.mark.parametrize("module", MODULES)
def test_public_functions_have_the_documented_sections(module):
    found, module_doc = definitions(SOLUTIONS / f"{module}.py")
    assert module_doc, f"{module}: no module docstring"
    for name in CONTRACT[module]:
        docstring = found[name.split(".")[0] if name.endswith("__init__") else name][1] or ""
        if "." in name:
            continue  # methods are documented on their class
        for section in ("Args:", "Returns:", "Example:"):
            if name in ("seed_everything",) and section == "Returns:":
                continue
            assert section in docstring, f"{module}.{name}: docstring lacks {section!r}"


def stub_functions(module):
    tree = ast.parse((EXERCISES / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.FunctionDef)
            and node.name != "__init__"
            or (isinstance(node, ast.FunctionDef) and node.name == "__init__")
        ):
            yield node


@pytest.mark.parametrize("module", MODULES)
def test_stubs_raise_not_implemented_and_never_pass(module):
    for node in stub_functions(module):
        if node.name.startswith("_"):
            if node.name != "__init__":
                continue
        raises = [statement for statement in ast.walk(node) if isinstance(statement, ast.Raise)]
        assert raises, f"exercises/{module}.py: {node.name} has no raise"
        text = ast.unparse(raises[-1])
        assert "NotImplementedError" in text and ":" in text, f"{node.name}: {text}"
        assert not any(isinstance(statement, ast.Pass) for statement in node.body), f"{node.name} uses pass"


@pytest.mark.parametrize("package", ["exercises", "solutions"])
def test_packages_import_cleanly(package):
    code = f"import {package}; " + "; ".join(f"import {package}.{module}" for module in MODULES)
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=EXERCISES.parent)
    assert completed.returncode == 0, completed.stderr
