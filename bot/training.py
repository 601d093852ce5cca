"""`dash train`: the catalog snapshot, the spaCy pipeline built from it, and the Rasa model.

Rasa reuses the trained model when data and config have not changed (it fingerprints them);
the snapshot and the spaCy pipeline are read by path at server start, so a changed catalog
needs no retraining, only `dash train` (which rewrites both) and a restart or a few seconds
for the matcher to notice the new snapshot.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shop.config import PROJECT_ROOT
from shop.mentions import CatalogSnapshot, inflections, normalize

CATALOG_DIR = Path("models") / "catalog"
SNAPSHOT = CATALOG_DIR / "catalog.json"
SPACY_DIR = CATALOG_DIR / "spacy"


def spacy_patterns(snapshot: CatalogSnapshot) -> list[dict]:
    """Entity-ruler phrase patterns: category names, synonyms and plurals as ``product``,
    product aliases as ``product``, brands as ``brand``."""
    seen: set[tuple[str, str]] = set()
    patterns = []

    def add(label: str, text: str) -> None:
        text = normalize(text) if label == "brand" else text.lower().strip()
        if text and (label, text) not in seen:
            seen.add((label, text))
            patterns.append({"label": label, "pattern": text})

    for c in snapshot.categories:
        for name in {c.name, *c.spoken_names}:
            for form in inflections(name.lower()):
                add("product", form)
    for p in snapshot.products:
        for alias in p.aliases:
            add("product", alias)
        add("brand", p.brand)
        add("brand", p.brand.lower())
    return patterns


def build_spacy_pipeline(snapshot: CatalogSnapshot, out_dir: Path) -> int:
    """A blank English pipeline with an entity ruler over the catalog, saved to ``out_dir``."""
    import spacy

    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER"})
    patterns = spacy_patterns(snapshot)
    ruler.add_patterns(patterns)
    nlp.meta["name"] = "dash_catalog"
    nlp.meta["description"] = "Dash catalog entity ruler (built by `dash train`)"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return len(patterns)


def export_catalog(session, root: Path = PROJECT_ROOT) -> tuple[int, int]:  # noqa: ANN001
    snapshot = CatalogSnapshot.from_session(session)
    snapshot.to_json(root / SNAPSHOT)
    n_patterns = build_spacy_pipeline(snapshot, root / SPACY_DIR)
    return len(snapshot.products), n_patterns


def train_rasa(
    root: Path = PROJECT_ROOT,
    *,
    config: str = "config.yml",
    out: str = "models",
    fixed_name: str | None = None,
    force: bool = False,
) -> Path:
    """Run `rasa train` (it skips training when nothing changed) and return the model path."""
    cmd = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        config,
        "--domain",
        "domain.yml",
        "--data",
        "bot/data",
        "--out",
        out,
    ]
    if fixed_name:
        cmd += ["--fixed-model-name", fixed_name]
    if force:
        cmd.append("--force")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run(cmd, cwd=root, check=True, env=env)
    return latest_model(root / out)


def latest_model(directory: Path) -> Path:
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {directory}; run `dash train`")
    return models[-1]
