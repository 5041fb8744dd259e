"""Fail when two modules of the package import each other, directly or through others.

Imports inside functions count too: they defer the cost, not the dependency; imports for
type checkers only do not. Uses grimp, the import graph of import-linter. Run: ``python scripts/check_import_cycles.py``.
"""

from __future__ import annotations

import sys

import grimp

PACKAGE = "napari_unsup_seg"


def cycles(graph) -> list[tuple[str, ...]]:
    """One shortest import cycle through each pair of modules that depend on each other."""
    found = {}
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycle = (module, *back)
                found.setdefault(frozenset(cycle), cycle)
    return sorted(found.values())


def main() -> int:
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True)
    found = cycles(graph)
    for cycle in found:
        print("import cycle: " + " -> ".join(cycle))
    print(f"{len(graph.modules)} modules, {len(found)} import cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
