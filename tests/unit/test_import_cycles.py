"""No import cycle anywhere in the service's package: each module of
`controlplane` can be read, and changed, knowing only what it imports.
Imports made for type checking and inside functions count too: they tie
the modules together just the same."""

from __future__ import annotations

import grimp


def _components(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other (directly or round
    about), each sorted: Tarjan's strongly connected components."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return sorted(groups)


def test_the_cycle_finder_finds_a_cycle_and_nothing_else() -> None:
    """The check itself: a graph with one cycle of three and a tail."""
    graph = grimp.ImportGraph()
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=importer, imported=imported)
    assert _components(graph) == [["p.a", "p.b", "p.c"]]


def test_controlplane_has_no_import_cycle() -> None:
    assert _components(grimp.build_graph("controlplane")) == []
