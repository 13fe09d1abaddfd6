"""Import every module of the installed distribution; exit 1 naming each one that fails.

Run by ``scripts/import_check.sh`` with the interpreter of a fresh virtualenv that holds the package
without extras, from outside the source tree, so a module that needs a package declared only in an
extra (or not at all) fails here. The packages are those of pyproject's ``[tool.setuptools.packages.find]``.

Two kinds of file are not imported as modules. ``migrations/env.py`` runs a migration when imported:
it exists only inside an Alembic command, which provides ``alembic.context.config``; the modules it
imports are imported instead. ``migrations/versions/*.py`` are package data, not a package (no
``__init__``, names starting with digits): Alembic loads them by path, so they are loaded by path.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
import sys
import tomllib
import traceback
from pathlib import Path

RUN_BY_ALEMBIC = {"migrations.env"}


def top_packages(pyproject: Path) -> list[str]:
    find = tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"]["find"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in find["include"]})


def imports_of(path: Path) -> list[str]:
    """The absolute module names a file imports at its top level."""
    names = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            names.append(node.module)
    return names


def already_recorded(name: str) -> None:
    """walk_packages yields a package before importing it to look inside, so ``attempt`` has already
    recorded that package's failure."""


def main(pyproject: Path) -> int:
    source_root = pyproject.resolve().parent
    failures: list[str] = []
    imported = 0

    def attempt(label: str, load) -> None:
        nonlocal imported
        try:
            load()
            imported += 1
        except Exception:  # noqa: BLE001 - an ImportError, or anything else a module raises on import
            failures.append(f"{label}\n{traceback.format_exc()}")

    for top in top_packages(pyproject):
        attempt(top, lambda top=top: importlib.import_module(top))
        if top not in sys.modules:
            continue
        package = sys.modules[top]
        if Path(package.__file__).resolve().is_relative_to(source_root):
            sys.exit(f"import check: {top} was imported from the source tree ({package.__file__}), "
                     "not from the installed distribution; run it from outside the checkout")
        for info in pkgutil.walk_packages(package.__path__, f"{top}.", onerror=already_recorded):
            if info.name in RUN_BY_ALEMBIC:
                path = Path(info.module_finder.path) / f"{info.name.rsplit('.', 1)[1]}.py"
                for name in imports_of(path):
                    attempt(f"{name} (imported by {info.name})", lambda name=name: importlib.import_module(name))
            else:
                attempt(info.name, lambda name=info.name: importlib.import_module(name))
        if top == "migrations":
            for path in sorted(Path(package.__path__[0], "versions").glob("*.py")):
                def load(path=path) -> None:
                    spec = importlib.util.spec_from_file_location(f"migrations.versions.{path.stem}", path)
                    spec.loader.exec_module(importlib.util.module_from_spec(spec))
                attempt(f"migrations/versions/{path.name}", load)

    for failure in failures:
        print(f"import check: FAILED {failure}", file=sys.stderr)
    if failures:
        print(f"import check: {len(failures)} module(s) failed to import", file=sys.stderr)
        return 1
    print(f"import check: {imported} modules imported without extras")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
