"""The package's shape: no import cycles (function-level imports included), small files, a core that
never reaches into training-only or display code."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "echo_edu"
#: The model and its feature path: what transcribing a file needs. It must not import these.
CORE = ("model", "blocks", "dimensions", "checkpoint", "bundled", "decode", "speed_search", "transcribe", "tokenizer",
        "text", "rotary", "quaternion", "errors", "utils", "_version", "audio", "attention")
TRAINING_OR_DISPLAY = ("augmentation", "data", "train", "train_loop", "train_state", "evaluate", "distributed", "viz", "cli",
                       "experiments", "exercises")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every echo_edu module that ``name`` imports, anywhere in its file (inside functions too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("echo_edu")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("echo_edu"):
                continue
            for alias in node.names:   # `from . import checkpoint` names a module, not an attribute
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}   # 1 = on the current path, 2 = done

    def visit(name, path):
        state[name] = 1
        for nxt in sorted(GRAPH[name]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def test_model_and_checkpoint_depend_one_way():
    assert "echo_edu.checkpoint" in GRAPH["echo_edu.model"]       # model -> checkpoint is a real edge
    assert "echo_edu.model" not in GRAPH["echo_edu.checkpoint"]   # and the way back is gone


@pytest.mark.parametrize("core", CORE)
def test_the_core_never_imports_training_or_display_code(core):
    names = [n for n in GRAPH if n == f"echo_edu.{core}" or n.startswith(f"echo_edu.{core}.")]
    bad = {(n, m) for n in names for m in GRAPH[n]
           if any(m == f"echo_edu.{t}" or m.startswith(f"echo_edu.{t}.") for t in TRAINING_OR_DISPLAY)}
    assert not bad, bad


def test_no_file_is_over_400_lines():
    files = [*PACKAGE.rglob("*.py"), *(PACKAGE.parent / "tests").rglob("*.py")]
    long = {str(p.relative_to(PACKAGE.parent)): n for p in files if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_echo_edu_modules_are_imported_at_the_top_of_each_file():
    """Lazy imports only where they keep start-up fast: third-party libraries that cost seconds
    (transformers, datasets, pyarrow, piper, the plotting libraries). ``import echo_edu`` already loads
    the core and ``data/``, and no module of echo_edu is slow to import, so none is imported in a function."""
    inside = []
    for name, path in MODULES.items():
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inside += [f"{name}:{node.lineno} in {fn.name}" for node in ast.walk(fn)
                           if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("echo_edu"))
                           or isinstance(node, ast.Import) and any(a.name.startswith("echo_edu") for a in node.names)]
    assert not inside, inside
