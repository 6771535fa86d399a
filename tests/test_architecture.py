"""The layout rules of DESIGN.md, checked on the source: imports run one way, no cycles, no private module
of one package imported from another, theory never imports nets, infra imports neither."""
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


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of this repo that ``name`` imports (any scope), resolved to the longest known module name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
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


def test_the_checker_sees_a_planted_cycle():
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(g) == ["a", "b", "c", "a"] and find_cycle({"a": {"b"}, "b": set()}) is None
