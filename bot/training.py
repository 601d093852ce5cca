"""`dash train`: the catalog snapshot, the spaCy pipeline built from it, and the Rasa model.

Rasa reuses the trained model when data and config have not changed (it fingerprints them);
the snapshot and the spaCy pipeline are read by path at server start, so a changed catalog
needs no retraining, only `dash train` (which rewrites both) and a restart or a few seconds
for the matcher to notice the new snapshot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shop.catalog_snapshot import CatalogSnapshot
from shop.config import PROJECT_ROOT
from shop.mentions import inflections, normalize

CATALOG_DIR = Path("models") / "catalog"
SNAPSHOT = CATALOG_DIR / "catalog.json"
SPACY_DIR = CATALOG_DIR / "spacy"
FINGERPRINT = ".dash-fingerprint.json"
#: The hash of the snapshot the spaCy pipeline was last built from.
SPACY_STAMP = CATALOG_DIR / "spacy.sha256"


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
        # Sorted: the files must come out byte-identical for the same catalog, or Rasa sees a
        # changed pipeline and retrains at every start.
        for name in sorted({c.name, *c.spoken_names}):
            for form in sorted(inflections(name.lower())):
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
    """Write the catalog snapshot and build the spaCy pipeline from it; both are left alone
    when the catalog has not changed (building the pipeline costs about 6 s of every
    `make demo` start, and an untouched snapshot is not reloaded by running matchers)."""
    import hashlib

    snapshot = CatalogSnapshot.from_session(session)
    text = snapshot.to_json_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    path, stamp = root / SNAPSHOT, root / SPACY_STAMP
    patterns = root / SPACY_DIR / "entity_ruler" / "patterns.jsonl"
    if (
        path.exists()
        and stamp.exists()
        and patterns.exists()
        and stamp.read_text(encoding="utf-8") == digest
        and path.read_text(encoding="utf-8") == text
    ):
        with patterns.open(encoding="utf-8") as lines:
            return len(snapshot.products), sum(1 for _ in lines)
    snapshot.to_json(path)
    n_patterns = build_spacy_pipeline(snapshot, root / SPACY_DIR)
    stamp.write_text(digest, encoding="utf-8")
    return len(snapshot.products), n_patterns


def train_rasa(
    root: Path = PROJECT_ROOT,
    *,
    config: str = "config.yml",
    out: str = "models",
    fixed_name: str | None = None,
    force: bool = False,
) -> Path:
    """Run `rasa train` (it skips training when nothing changed) and return the model path.

    Even with nothing to do, `rasa train` takes about 13 s to start and fingerprint the
    project; the demo's start-up skips it when the files it reads are unchanged since the
    last training (``fingerprint``)."""
    marker = root / out / FINGERPRINT
    current = fingerprint(root, config)
    if not force and not fixed_name and marker.exists():
        known = json.loads(marker.read_text(encoding="utf-8"))
        model = root / out / known.get("model", "")
        if known.get("fingerprint") == current and model.is_file():
            return model
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
    model = latest_model(root / out)
    if not fixed_name:
        marker.write_text(
            json.dumps({"fingerprint": current, "model": model.name}), encoding="utf-8"
        )
    return model


def fingerprint(root: Path, config: str = "config.yml") -> str:
    """A hash of everything a trained model depends on: config, domain, training data, the
    catalog snapshot and spaCy pipeline, the custom components' code and Rasa's version."""
    import hashlib

    import rasa

    digest = hashlib.sha256(rasa.__version__.encode())
    files = [root / config, root / "domain.yml"]
    for directory in (root / "bot" / "data", root / CATALOG_DIR, root / "bot" / "components"):
        files += sorted(
            p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()


def latest_model(directory: Path) -> Path:
    models = sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise FileNotFoundError(f"no trained model in {directory}; run `dash train`")
    return models[-1]
