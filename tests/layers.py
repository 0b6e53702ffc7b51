#!/usr/bin/env python3
"""The layering rules of docs/ARCHITECTURE.md, checked on the sources.

Usage: layers.py SOURCE_ROOT. Exits 1, listing every violation, when a file includes
a header of a higher layer, a public header (include/jdc/) includes one that is not
installed (src/), or units (a header and its source, by name) include each other in
a circle. Reads include lines as text: nothing is compiled.

Unit circles are not checked in the format layer yet: its arena and dispatch units
share section helpers both ways (arena_verify <-> arena_sections, arena_verify <->
payload_codec, arena_builder <-> dispatch_sections), which the format v2 rewrite of
those files is to untangle; CIRCLES_CHECKED then takes "format" too.
"""
import re
import sys
from pathlib import Path

# Lower layers first. A file may include headers of its own layer and of lower ones.
RANKS = {"util": 0, "format": 1, "storage": 2, "cache": 3, "tools": 4, "janusc": 4}

# Public headers by layer (include/jdc/); jdc/detail/ is storage's.
PUBLIC = {
    "util": ["error", "export", "version"],
    "format": ["type_registry", "type_domain", "dispatch_table", "resolver", "optimization", "arena_format", "arena_builder",
               "arena_verify", "arena_view", "dispatch_matrix", "arena_optimizer", "cache_key", "payload_codec",
               "pack_format", "pack"],
    "storage": ["loaded_arena", "local_store", "arena_store", "remote_store", "compactor", "store_check"],
    "cache": ["cache_config", "cached_table", "dispatch_table_serializer", "build_cache_manager", "dependency_tracker",
              "table_inputs", "miss_reason", "cache_metrics", "cache_records"],
}
CIRCLES_CHECKED = {"util", "storage", "cache", "tools", "janusc"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(rel: str) -> str | None:
    parts = rel.split("/")
    if parts[0] == "src" and parts[1] in RANKS:
        return parts[1]
    if rel.startswith("include/jdc/detail/"):
        return "storage"
    if rel.startswith("include/jdc/"):
        name = Path(rel).stem
        for layer, names in PUBLIC.items():
            if name in names:
                return layer
    return None


def resolve(include: str) -> str | None:
    if include.startswith("jdc/"):
        return "include/" + include
    if include.split("/")[0] in RANKS:
        return "src/" + include
    return None


def main() -> int:
    root = Path(sys.argv[1])
    files = sorted(p for d in ("src", "include/jdc") for p in (root / d).rglob("*") if p.suffix in (".hpp", ".cpp"))
    problems = []
    units: dict[str, set[str]] = {}  # "src/cache/write_behind" -> units it includes
    for path in files:
        rel = path.relative_to(root).as_posix()
        layer = layer_of(rel)
        if layer is None:
            problems.append(f"{rel}: in no layer (add it to tests/layers.py and docs/ARCHITECTURE.md)")
            continue
        unit = rel.rsplit(".", 1)[0]
        for include in INCLUDE.findall(path.read_text()):
            target = resolve(include)
            if target is None:
                continue  # a header of the same directory (tools, janusc, bench) or a system one
            target_layer = layer_of(target)
            if target_layer is None:
                problems.append(f"{rel}: includes {include}, which is in no layer")
            elif RANKS[target_layer] > RANKS[layer]:
                problems.append(f"{rel} ({layer}) includes {include} ({target_layer}): a higher layer")
            if rel.startswith("include/") and target.startswith("src/"):
                problems.append(f"{rel} is public but includes {include}, which is not installed")
            target_unit = target.rsplit(".", 1)[0]
            if target_unit != unit:
                units.setdefault(unit, set()).add(target_unit)

    # A public header and its source in src/<layer>/ are one unit.
    def canonical(unit: str) -> str:
        if unit.startswith("include/jdc/"):
            name = unit.rsplit("/", 1)[1]
            for layer in RANKS:
                if (root / "src" / layer / (name + ".cpp")).exists():
                    return f"src/{layer}/{name}"
        return unit

    graph: dict[str, set[str]] = {}
    for unit, targets in units.items():
        if layer_of(unit + ".hpp") not in CIRCLES_CHECKED and layer_of(unit + ".cpp") not in CIRCLES_CHECKED:
            continue
        graph.setdefault(canonical(unit), set()).update(canonical(t) for t in targets if canonical(t) != canonical(unit))
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(u: str) -> None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                problems.append("include circle: " + " -> ".join(stack[stack.index(v):] + [v]))
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u)
    for p in problems:
        print(p)
    print(f"layers: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
