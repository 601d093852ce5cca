"""The Alexa skill's interaction model, generated from the channel's intent table and the
catalog, in the layout the ASK CLI deploys (alexa/skill-package/...). `dash alexa-model`
rewrites it; tests/test_alexa_channel.py checks that the committed one is current."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.alexa import BUILT_IN, INTENTS, STOP_INTENTS
from shop.config import PROJECT_ROOT
from shop.models import Category, Product

SKILL_DIR = PROJECT_ROOT / "alexa" / "skill-package"
MODEL_PATH = Path("interactionModels") / "custom" / "en-US.json"
INVOCATION = "dash shop"
#: Intents every custom skill must define, beside the ones the channel maps.
REQUIRED = ["AMAZON.StopIntent", "AMAZON.CancelIntent", "AMAZON.HelpIntent"]


def product_values(session: Session) -> list[dict]:
    """Catalog categories (with their spoken names as synonyms) and brands, as slot values."""
    values: dict[str, set[str]] = {}
    for category in session.execute(select(Category).order_by(Category.id)).scalars():
        names = {n.lower() for n in (category.spoken_names or [])} - {category.name.lower()}
        values.setdefault(category.name.lower(), set()).update(names)
    brands = session.execute(select(Product.brand).distinct().order_by(Product.brand)).scalars()
    for brand in brands:
        values.setdefault(brand.lower(), set())
    return [
        {"name": {"value": value, **({"synonyms": sorted(syn)} if syn else {})}}
        for value, syn in sorted(values.items())
    ]


def interaction_model(session: Session) -> dict:
    intents = [
        {
            "name": name,
            "slots": [{"name": s, "type": t} for s, t in spec.get("slots", {}).items()],
            "samples": spec["samples"],
        }
        for name, spec in INTENTS.items()
    ]
    built_in = sorted(set(BUILT_IN) | STOP_INTENTS | set(REQUIRED))
    intents += [{"name": name, "samples": []} for name in built_in]
    return {
        "interactionModel": {
            "languageModel": {
                "invocationName": INVOCATION,
                "intents": intents,
                "types": [{"name": "PRODUCT", "values": product_values(session)}],
            }
        }
    }


def write_model(session: Session, skill_dir: Path = SKILL_DIR) -> Path:
    path = skill_dir / MODEL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(interaction_model(session), indent=2) + "\n", encoding="utf-8")
    return path
