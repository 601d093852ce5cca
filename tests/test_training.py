"""`dash train` and `make demo` reuse the trained model when nothing it depends on changed:
the catalog pipeline comes out byte-identical, and a fingerprint spots any change."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.training import fingerprint
from shop.config import PROJECT_ROOT

BUILD = """
import sys
from pathlib import Path
from bot.training import build_spacy_pipeline
from shop.catalog import demo_snapshot
build_spacy_pipeline(demo_snapshot(), Path(sys.argv[1]))
"""


def test_the_spacy_pipeline_is_byte_identical_across_processes(tmp_path):
    """Set iteration order changes with the hash seed; the patterns must not."""
    for seed in ("1", "2"):
        subprocess.run(
            [sys.executable, "-c", BUILD, str(tmp_path / seed)],
            check=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
    for path in (tmp_path / "1").rglob("*"):
        other = tmp_path / "2" / path.relative_to(tmp_path / "1")
        if path.is_file():
            assert path.read_bytes() == other.read_bytes(), path


def _project(root: Path) -> Path:
    for name in ("config.yml", "domain.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    shutil.copytree(PROJECT_ROOT / "bot" / "data", root / "bot" / "data")
    shutil.copytree(PROJECT_ROOT / "bot" / "components", root / "bot" / "components")
    (root / "models" / "catalog").mkdir(parents=True)
    (root / "models" / "catalog" / "catalog.json").write_text("{}")
    return root


def test_the_fingerprint_changes_with_data_config_catalog_and_components(tmp_path):
    root = _project(tmp_path)
    first = fingerprint(root)
    assert fingerprint(root) == first
    (root / "bot" / "components" / "__pycache__").mkdir(exist_ok=True)
    (root / "bot" / "components" / "__pycache__" / "x.pyc").write_bytes(b"compiled")
    assert fingerprint(root) == first  # compiled files do not count
    seen = {first}
    for path in (
        root / "domain.yml",
        root / "config.yml",
        next((root / "bot" / "data").rglob("*.yml")),
        root / "models" / "catalog" / "catalog.json",
        next((root / "bot" / "components").glob("*.py")),
    ):
        path.write_text(path.read_text() + "\n# changed\n")
        now = fingerprint(root)
        assert now not in seen, path
        seen.add(now)
