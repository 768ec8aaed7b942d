"""The dependency rules of DEVELOPERS.md: inference/ is Qt-free, widgets/ is torch-free."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative import: stays inside the package
                    yield path, f"{folder}.{node.module or ''}"
                else:
                    yield path, node.module or ""


def offenders(folder: str, forbidden: tuple[str, ...]):
    return [f"{p.relative_to(ROOT)} imports {m}" for p, m in imported_modules(folder)
            if m.split(".")[0] in forbidden]


def test_inference_never_imports_qt():
    assert offenders("inference", ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "app", "widgets")) == []


def test_widgets_never_import_torch_or_inference():
    assert offenders("widgets", ("torch", "torchvision", "inference", "app")) == []


def test_checker_catches_a_violation(tmp_path, monkeypatch):
    """The rule is not vacuous: a planted import is found."""
    bad = tmp_path / "widgets"
    bad.mkdir()
    (bad / "x.py").write_text("import torch\nfrom inference.model import load_model\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    assert len(offenders("widgets", ("torch", "inference"))) == 2
