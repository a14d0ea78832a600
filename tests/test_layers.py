"""The package's layers: imports between subpackages of `tf_esgan` only go downwards.

`LAYERS` lists them bottom first (README, "Layout"). A module may import its own
subpackage and any lower layer; modules of one layer do not import each other (they are
independent: `metrics` never needs `viz`). Every import statement counts, also one inside
a function or under `TYPE_CHECKING`: a lazy import hides a dependency, it does not remove
it. A new subpackage or top-level module must be placed in `LAYERS`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "tf_esgan"
#: The checkout's source (an installed copy may be older).
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

#: Bottom first. Each entry is one layer: subpackages / top-level modules of `tf_esgan`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors",),
    ("io_utils", "console", "run_lock", "config_fields"),  # helpers shared by everything
    ("data",),                              # files, label maps, conditioning maps, pipelines
    ("losses", "metrics", "viz"),           # pure functions: losses, scores, figures
    ("models",),                            # networks, the GAN, configs of models
    ("runs",),                              # run folders: layout, config.json, owner
    ("training",),                          # the step loop, checkpoints, the GAN trainer
    ("pretrained",),                        # shipped models; loading any --model argument
    ("segmentation",),                      # SegNet: data, training, watershed, scoring
    ("evaluation", "synthesis", "serving"),  # Table 1, synthetic datasets, export
    ("reproduce",),                         # the whole paper: Tables 1 and 2
    ("demo",),
    ("cli",),                               # the esgan-* entry points
)


def layer_of(component: str) -> int:
    for index, layer in enumerate(LAYERS):
        if component in layer:
            return index
    raise KeyError(component)


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str, root: Path) -> bool:
    relative = Path(*name.split(".")[1:])
    return (root / relative).with_suffix(".py").is_file() or (root / relative / "__init__.py").is_file()


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """The `tf_esgan` modules `path` imports (`from tf_esgan import synthesis` -> tf_esgan.synthesis)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate, root) else base)
    return {module for module in found if module == PACKAGE or module.startswith(PACKAGE + ".")}


def import_graph() -> dict[str, set[str]]:
    return {_module_name(path, ROOT): imported_modules(path) for path in sorted(ROOT.rglob("*.py"))}


def _component(module: str) -> str | None:
    """`tf_esgan.models.gan` -> "models"; the package's own `__init__` -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def violations(graph: dict[str, set[str]]) -> list[str]:
    """One line per import that goes up a layer or sideways within one."""
    found = []
    for module, targets in sorted(graph.items()):
        source = _component(module)
        if source is None:
            continue
        for target in sorted(targets):
            destination = _component(target)
            if destination is None or destination == source:
                continue
            if layer_of(destination) > layer_of(source):
                found.append(f"{module} imports {target}: {destination!r} is above {source!r}")
            elif layer_of(destination) == layer_of(source):
                found.append(f"{module} imports {target}: {destination!r} and {source!r} are one layer "
                             "and independent")
    return found


def test_every_subpackage_and_top_level_module_has_a_layer():
    components = {path.stem for path in ROOT.glob("*.py") if path.name != "__init__.py"}
    components |= {path.parent.name for path in ROOT.glob("*/__init__.py")}
    placed = {component for layer in LAYERS for component in layer}
    assert components - placed == set(), "place these in tests/test_layers.py's LAYERS"
    assert placed - components == set(), "LAYERS names what no longer exists"


def test_imports_only_go_down_the_layers():
    assert violations(import_graph()) == []


def test_an_upward_or_sideways_import_is_caught():
    graph = {"tf_esgan.data.labels": {"tf_esgan.models.segnet", "tf_esgan.errors"},
             "tf_esgan.metrics.segmentation": {"tf_esgan.viz.panel_grid", "tf_esgan.data.labels"},
             "tf_esgan.runs.run_dir": {"tf_esgan.runs.run_owner", "tf_esgan"}}
    assert violations(graph) == [
        "tf_esgan.data.labels imports tf_esgan.models.segnet: 'models' is above 'data'",
        "tf_esgan.metrics.segmentation imports tf_esgan.viz.panel_grid: 'viz' and 'metrics' are one layer "
        "and independent"]


def test_lazy_and_relative_imports_are_read(tmp_path):
    root = tmp_path / "tf_esgan"
    for name in ("__init__.py", "data/__init__.py", "data/labels.py", "training/__init__.py", "training/loop.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    module = root / "data" / "example.py"
    module.write_text("from . import labels\n\n\ndef late():\n    from tf_esgan.training import loop\n")
    assert imported_modules(module, root) == {"tf_esgan.data.labels", "tf_esgan.training.loop"}
