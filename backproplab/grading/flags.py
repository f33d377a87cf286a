"""A static read of a hand-in's own cells, before anything runs: shortcuts to flag.

Answer cells and the cells a student added are parsed (after IPython's own rewriting of
magics) and walked. What is flagged, each with the line it is on:

- using the library code the assignment's checks compare against (``REFERENCES`` of its
  module in :mod:`.course`), through a name the setup cells bound or an import;
- importing anything but the plain numeric modules an answer needs (``ALLOWED_IMPORTS``):
  this covers files, ``os``, ``sys``, ``subprocess``, threads, sockets, ``importlib``,
  ``inspect``, ``gc``, ``ctypes``, ...;
- calling ``exec``, ``eval``, ``compile``, ``__import__``, ``open``, ``globals``,
  ``locals``, ``vars``, ``breakpoint``, ``input``, ``get_ipython``, ``setattr``,
  ``delattr``, or ``getattr``/``hasattr`` with a name that is not written out;
- dunder attributes (``__code__``, ``__globals__``, ``__class__``, ...) and frame or
  traceback attributes (``f_back``, ``tb_frame``, ...); names such as ``__builtins__``;
- rebinding a name that a setup or check cell defines (``check``, ``np``, a helper), and
  assigning to an attribute of something the student did not make (``np.isclose = ...``).

A flag is a reason for a teacher to read the code, not a proof of cheating; the grader
gives a flagged exercise 0 points unless ``--allow-flagged`` is given.
"""

import ast
import threading
from dataclasses import dataclass

ALLOWED_IMPORTS = frozenset({
    "numpy", "math", "cmath", "itertools", "functools", "collections", "operator",
    "typing", "dataclasses", "statistics", "random", "fractions", "decimal", "heapq",
    "bisect", "copy", "warnings", "string", "re", "enum", "abc", "numbers", "time", "pprint",
})
FORBIDDEN_CALLS = frozenset({
    "exec", "eval", "compile", "__import__", "open", "globals", "locals", "vars",
    "breakpoint", "input", "get_ipython", "memoryview", "help", "exit", "quit",
    "setattr", "delattr",
})
DYNAMIC_ATTRIBUTE_CALLS = frozenset({"getattr", "hasattr"})
ALLOWED_DUNDERS = frozenset({"__init__", "__name__", "__doc__", "__len__", "__repr__"})
FRAME_ATTRIBUTES = frozenset({
    "f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace", "tb_frame",
    "tb_next", "gi_frame", "cr_frame", "ag_frame", "gi_code", "co_code", "co_consts",
})

# CPython 3.11's AST constructor is not safe to run in two threads at once (gh-106905,
# "SystemError: AST constructor recursion depth mismatch"); hand-ins are read in threads.
AST_LOCK = threading.Lock()


@dataclass(frozen=True)
class Flag:
    line: int
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.reason}"


def parse(source):
    """The AST of a cell's source after IPython's rewriting of magics, or raises
    SyntaxError (also for sources the parser cannot hold: too deep, too large)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or the rewriter failed: parse the text as it is
        pass
    try:
        with AST_LOCK:
            return ast.parse(source)
    except (MemoryError, RecursionError, ValueError, OverflowError) as exc:
        raise SyntaxError(f"the grader cannot read this cell ({type(exc).__name__})") from None


def bound_names(tree):
    """Names a cell binds at its top level (assignments, defs, classes, imports)."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                    names.add(sub.id)
    return names


def module_aliases(tree):
    """``{name: dotted module or object}`` for the imports of a (setup) cell."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    aliases[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def flag_cell(source, protected, aliases, references):
    """Flags of one student cell.

    protected:  names the setup and check cells define (never to be rebound);
    aliases:    ``{name: dotted name}`` the setup cells imported;
    references: dotted prefixes the checks compare against (e.g. ``backproplab.manual``).
    """
    try:
        tree = parse(source)
    except SyntaxError:
        return []  # it will fail when it runs, and earns nothing: no flag needed
    return _Walker(protected, aliases, references).run(tree)


class _Walker(ast.NodeVisitor):
    def __init__(self, protected, aliases, references):
        self.protected, self.aliases, self.references = protected, aliases, references
        self.flags = []
        self.local_names = set()

    def run(self, tree):
        self.local_names = bound_names(tree) - set(self.protected)
        for node in tree.body:
            self._top_level_binding(node)
        self.visit(tree)
        return sorted(set(self.flags), key=lambda f: (f.line, f.reason))

    def flag(self, node, reason):
        self.flags.append(Flag(getattr(node, "lineno", 0), reason))

    def _top_level_binding(self, node):
        names = set()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names = {node.name}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.For,
                               ast.With)):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, (ast.Store, ast.Del))}
        for name in sorted(names & set(self.protected)):
            self.flag(node, f"rebinds {name}, which a setup or check cell defines")

    # ---- imports ----
    def visit_Import(self, node):
        for a in node.names:
            self._import(node, a.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        if node.level:
            self.flag(node, "a relative import")
        elif module.split(".")[0] == "backproplab":
            for a in node.names:
                self._import(node, f"{module}.{a.name}")
        else:
            self._import(node, module)
        self.generic_visit(node)

    def _import(self, node, dotted):
        if self._reference(dotted):
            self.flag(node, f"uses {dotted}, which the checks compare against")
        elif dotted.split(".")[0] not in ALLOWED_IMPORTS:
            self.flag(node, f"imports {dotted}; answers may import only "
                            f"{', '.join(sorted(ALLOWED_IMPORTS - {'abc', 'numbers'}))}")

    def _reference(self, dotted):
        return any(dotted == ref or dotted.startswith(ref + ".") for ref in self.references)

    # ---- names, attributes, calls ----
    def visit_Name(self, node):
        if node.id.startswith("__") and node.id.endswith("__") and node.id != "__name__":
            self.flag(node, f"uses {node.id}")
        elif node.id in self.aliases and node.id not in self.local_names and self._reference(
                self.aliases[node.id]):
            self.flag(node, f"uses {node.id} ({self.aliases[node.id]}), which the checks "
                            f"compare against")
        self.generic_visit(node)

    def visit_Attribute(self, node):
        attr = node.attr
        if attr.startswith("__") and attr.endswith("__") and attr not in ALLOWED_DUNDERS:
            self.flag(node, f"uses the attribute {attr}")
        elif attr in FRAME_ATTRIBUTES:
            self.flag(node, f"uses the frame attribute {attr}")
        dotted = self._dotted(node)
        if dotted and self._reference(dotted):
            self.flag(node, f"uses {dotted}, which the checks compare against")
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id not in self.local_names and (
                    root.id in self.aliases or root.id in self.protected):
                self.flag(node, f"changes {ast.unparse(node)}, which belongs to a module or "
                                f"a setup cell")
        self.generic_visit(node)

    def _dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases or (
                node.id in self.local_names):
            return None
        return ".".join([self.aliases[node.id], *reversed(parts)])

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in FORBIDDEN_CALLS:
                self.flag(node, f"calls {func.id}()")
            elif func.id in DYNAMIC_ATTRIBUTE_CALLS and (
                    len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)):
                self.flag(node, f"calls {func.id}() with a name that is not written out")
            elif func.id in DYNAMIC_ATTRIBUTE_CALLS and isinstance(node.args[1].value, str) and (
                    node.args[1].value.startswith("__")
                    or node.args[1].value in FRAME_ATTRIBUTES):
                self.flag(node, f"calls {func.id}() on {node.args[1].value}")
        self.generic_visit(node)

    def visit_Global(self, node):
        for name in node.names:
            if name in self.protected:
                self.flag(node, f"rebinds {name}, which a setup or check cell defines")
        self.generic_visit(node)
