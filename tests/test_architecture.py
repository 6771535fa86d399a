"""The layout rules of DESIGN.md, checked on the source: imports run one way, no cycles, no private module
of one package imported from another, theory never imports nets, infra imports neither, and inside nets the
layers data / models / runtime <- measures <- plots <- runs / results <- training / analysis <- measuring <- experiments
<- report <- cli.

An import inside an ``if __name__ == "__main__":`` block is an entry point's, not a dependency of the library:
it is not counted. Commands have one front door (``infra.commands``): no other module has a main guard."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("infra", "theory", "nets", "benchmarks")


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).rglob("*.py"):
            parts = f.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


def _is_main_guard(node) -> bool:
    t = node.test if isinstance(node, ast.If) else None
    return (isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in t.comparators))


def _nodes(tree):
    """Every node of ``tree`` except those under an ``if __name__ == "__main__":`` block."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        todo += [c for c in ast.iter_child_nodes(node) if not _is_main_guard(c)]


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of this repo that ``name`` imports (any scope but a main guard), resolved to the longest known
    module name."""
    found = set()
    for node in _nodes(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for t in targets:
            parts = t.split(".")
            for k in range(len(parts), 0, -1):
                cand = ".".join(parts[:k])
                if cand in known and cand != name:
                    found.add(cand)
                    break
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(m, p, set(mods)) for m, p in mods.items()}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(g.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                c = visit(v)
                if c:
                    return c
        state[u] = 2
        stack.pop()
        return None

    for u in sorted(g):
        if u not in state:
            c = visit(u)
            if c:
                return c
    return None


def test_no_import_cycle():
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle)


def test_imports_run_one_way():
    """infra imports no package of the repo; theory imports only infra; nets never reaches benchmarks."""
    allowed = {"infra": {"infra"}, "theory": {"infra", "theory"}, "nets": {"infra", "theory", "nets"},
               "benchmarks": set(PACKAGES)}
    bad = [(m, d) for m, deps in graph().items() for d in deps if d.split(".")[0] not in allowed[m.split(".")[0]]]
    assert not bad, bad


def test_no_private_module_across_packages():
    bad = [(m, d) for m, deps in graph().items() for d in deps
           if d.split(".")[0] != m.split(".")[0] and any(part.startswith("_") for part in d.split(".")[1:])]
    assert not bad, bad


@pytest.mark.parametrize("limit", [420])
def test_no_module_over_limit(limit):
    long = {m: n for m, p in modules().items() if (n := len(p.read_text().splitlines())) > limit}
    assert not long, long


#: nets' layers: a module may import its own group or a group of a lower layer, nothing else
NETS_LAYERS = {"nets.data": 0, "nets.models": 0, "nets.runtime": 0, "nets.measures": 1, "nets.plots": 2,
               "nets.runs": 3, "nets.results": 3, "nets.usermodel": 3, "nets.training": 4, "nets.analysis": 4,
               "nets.measuring": 5, "nets.experiments": 6, "nets.report": 7, "nets.cli": 8, "nets.__main__": 8}


def nets_group(module: str) -> str | None:
    """The layer group of a nets module (``nets.experiments.sweep`` -> ``nets.experiments``); None for others."""
    return next((g for g in sorted(NETS_LAYERS, key=len, reverse=True) if module == g or module.startswith(g + ".")),
                None)


def back_arrows(g: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports between nets groups that do not run downwards (same layer, other group, counts as wrong too)."""
    bad = []
    for m, deps in g.items():
        a = nets_group(m)
        for d in deps:
            b = nets_group(d)
            if a and b and a != b and NETS_LAYERS[a] <= NETS_LAYERS[b]:
                bad.append((m, d))
    return bad


def test_every_nets_module_has_a_layer():
    loose = [m for m in modules() if m.startswith("nets.") and nets_group(m) is None]
    assert not loose, f"modules outside the layers of NETS_LAYERS: {loose}"


def test_nets_layers_run_one_way():
    bad = back_arrows(graph())
    assert not bad, bad


def test_the_layer_checker_sees_a_planted_back_arrow(tmp_path):
    """A measure that imports an experiment, and a dataset that imports a model, are caught; the real graph plus
    the planted edge fails, the real graph alone passes."""
    g = graph()
    assert back_arrows({**g, "nets.measures.gradient": g["nets.measures.gradient"] | {"nets.experiments.sweep"}}) == \
        [("nets.measures.gradient", "nets.experiments.sweep")]
    assert back_arrows({"nets.data.base": {"nets.models.layers"}}) == [("nets.data.base", "nets.models.layers")]
    assert back_arrows({"nets.cli.train": {"nets.training"}}) == []
    planted = tmp_path / "m.py"
    planted.write_text("import nets.experiments\nif __name__ == '__main__':\n    import nets.cli.train\n")
    assert imports("nets.measures.x", planted, {"nets.experiments", "nets.cli.train"}) == {"nets.experiments"}


def test_the_checker_sees_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(g) == ["a", "b", "c", "a"] and find_cycle({"a": {"b"}, "b": set()}) is None


def test_one_front_door():
    """Every command of ``infra.commands.COMMANDS`` is a module in its package's ``cli/`` with ``main(argv,
    prog)``; no library module carries its own main guard (one door per command, no forwarders)."""
    import importlib
    import inspect

    from infra.commands import COMMANDS
    for name, (module, _) in COMMANDS.items():
        assert module.split(".")[1] == "cli", (name, module)
        params = inspect.signature(importlib.import_module(module).main).parameters
        assert list(params)[:2] == ["argv", "prog"], (name, list(params))
    guarded = [m for m, p in modules().items() if 'if __name__ == "__main__":' in p.read_text()]
    assert guarded == ["benchmarks.readme"], guarded
