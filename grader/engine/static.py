"""Static checks of how a function is built: what it runs, followed through the submission's own code.

The contract allows helpers, so "has a loop", "has no loop" and "uses no
library tanh" are questions about everything a function reaches, not its own
body: the module-level functions and classes (every method of a class, for
an instance such as `tanh = Tanh()` too) it calls or passes on (`map(helper, ...)`),
through module-level aliases (`_impl = helper`, `_t = np.tanh`, `from numpy
import tanh as _t`), and under its own name when that is an alias itself
(`softmax_loss_vectorized = _impl`). The source is parsed, never imported.

What cannot be followed for certain (`getattr(np, "tan" + "h")`, code built
at run time) is not reported: a static check only withholds points for what
it sees, and the value, stability and timing checks stay in force beside it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from grader.engine.feedback import fail

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
LOOPS = {
    ast.For: "a for loop",
    ast.AsyncFor: "a for loop",
    ast.While: "a while loop",
    ast.ListComp: "a list comprehension",
    ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension",
    ast.GeneratorExp: "a generator expression",
}
# Library calls that run a Python function once per element: a loop in all but name.
LOOPING_CALLS = {"map", "vectorize", "apply_along_axis", "frompyfunc", "fromiter"}


@dataclass
class Reached:
    """A function a check reaches: its name in the module and its definition."""

    name: str
    node: ast.AST


class ModuleSource:
    """One module of the submission, as source: its functions and module-level names."""

    def __init__(self, source: str, filename: str):
        try:
            self.tree = ast.parse(source)
        except (SyntaxError, ValueError) as error:
            fail(f"{filename} does not parse: line {getattr(error, 'lineno', '?')}: {getattr(error, 'msg', error)}")
        self.filename = filename
        self.names: dict[str, ast.AST] = {}  # module-level name -> its definition or assigned value
        for statement in self.tree.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.names[statement.name] = statement
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        self.names[target.id] = statement.value
            elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)) and isinstance(statement.target, ast.Name):
                if statement.value is not None:
                    self.names[statement.target.id] = statement.value
            elif isinstance(statement, (ast.Import, ast.ImportFrom)):
                for alias in statement.names:
                    module = statement.module if isinstance(statement, ast.ImportFrom) else None
                    dotted = f"{module}.{alias.name}" if module else alias.name
                    bound = alias.asname or alias.name.split(".")[0]
                    self.names[bound] = ast.Constant(value=f"import:{dotted if alias.asname or module else bound}")

    def _bound(self, name: str) -> ast.AST | None:
        """What module-level `name` is bound to, following aliases (`name = other`)."""
        seen = set()
        value = self.names.get(name)
        while isinstance(value, ast.Name) and value.id not in seen:
            seen.add(value.id)
            value = self.names.get(value.id)
        return value

    def _instance_class(self, value: ast.AST | None) -> ast.ClassDef | None:
        """The module's class of which `value` (`Tanh()`) makes an instance, if it is such a call."""
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
            cls = self._bound(value.func.id)
            return cls if isinstance(cls, ast.ClassDef) else None
        return None

    def definition(self, name: str) -> ast.AST | None:
        """The function `name` is, following module-level aliases (`name = other`); None if not one.

        An instance of one of the module's classes (`tanh = Tanh()`) is the function its `__call__` is.
        """
        value = self._bound(name)
        cls = self._instance_class(value)
        if cls is not None:
            return next(
                (item for item in cls.body if isinstance(item, FUNCTIONS[:2]) and item.name == "__call__"), None
            )
        return value if isinstance(value, FUNCTIONS) else None

    def defines(self, name: str) -> bool:
        return self.definition(name) is not None

    def reached(self, name: str) -> list[Reached]:
        """`name` and every module-level function it calls or refers to, directly or through others."""
        found: dict[int, Reached] = {}
        pending = [name]
        while pending:
            current = pending.pop()
            # A class the code uses, or an instance of one, is reached whole: its methods call each other.
            node = self._instance_class(self._bound(current)) or self.definition(current)
            if node is None and isinstance(self._bound(current), ast.ClassDef):
                node = self._bound(current)
            if node is None or id(node) in found:
                continue
            found[id(node)] = Reached(getattr(node, "name", current), node)  # a def's own name, not an alias
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Load) and inner.id in self.names:
                    pending.append(inner.id)
        return list(found.values())

    def loops(self, name: str) -> list[str]:
        """'a for loop in helper, line 12' for every Python loop `name` may run."""
        loops = []
        for function in self.reached(name):
            for node in ast.walk(function.node):
                if type(node) in LOOPS:
                    loops.append(f"{LOOPS[type(node)]} in {function.name}, line {node.lineno}")
                elif isinstance(node, ast.Call):
                    callee = self.dotted(node.func) or getattr(node.func, "id", None) or getattr(node.func, "attr", "")
                    if callee.rpartition(".")[2] in LOOPING_CALLS:
                        loops.append(
                            f"a call of {callee} (a Python loop inside) in {function.name}, line {node.lineno}"
                        )
        return list(dict.fromkeys(loops))  # nested comprehensions on one line are named once

    def dotted(self, node: ast.AST, depth: int = 0) -> str | None:
        """`np.tanh` as 'numpy.tanh', a module-level alias of it as the same; None unless rooted in an import."""
        if depth > 20:
            return None
        if isinstance(node, ast.Attribute):
            base = self.dotted(node.value, depth + 1)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Name):
            value = self.names.get(node.id)
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value.startswith("import:"):
                return value.value.removeprefix("import:")
            if isinstance(value, (ast.Attribute, ast.Name)):
                return self.dotted(value, depth + 1)
            return None  # a local name, a parameter, one of the module's own functions: not another module's
        return None

    def library_uses(self, name: str, attribute: str) -> list[str]:
        """Uses of another module's `attribute` (`np.tanh`, an alias of it) in what `name` reaches."""
        itself = self.dotted(ast.Name(id=name, ctx=ast.Load())) if name in self.names else None
        uses = [f"`{name}` is {itself} itself"] if itself and itself.rpartition(".")[2] == attribute else []
        for function in self.reached(name):
            for node in ast.walk(function.node):
                if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(node.ctx, ast.Load):
                    dotted = self.dotted(node)
                    if dotted and "." in dotted and dotted.rpartition(".")[2] == attribute:
                        uses.append(f"`{ast.unparse(node)}` ({dotted}, in {function.name}, line {node.lineno})")
        return list(dict.fromkeys(uses))
