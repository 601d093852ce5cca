"""Spoken requests, offline: Festival voices -> pocketsphinx with the bot's language model ->
the trained Rasa model. Reports word error rate, intent accuracy (on what was heard, and on the
clean text to tell speech errors from NLU errors) and recognition time, per voice."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from shop.catalog import demo_snapshot
from voice.speech import (
    VOICES,
    Recognizer,
    build_model,
    synthesize,
    training_sentences,
    word_errors,
)

#: (what is said, the intent it must be, the category it must add or None). Shared with
#: tests/test_speech.py. Out-of-scope requests must never become an order.
REQUESTS: list[tuple[str, str, str | None]] = [
    ("order ketchup", "order_product", "ketchup"),
    ("add milk", "order_product", "milk"),
    ("we need paper towels", "order_product", "paper-towels"),
    ("add eggs", "order_product", "eggs"),
    ("get toothpaste", "order_product", "toothpaste"),
    ("buy coffee", "order_product", "coffee"),
    ("what's in my cart", "read_cart", None),
    ("check out", "checkout", None),
    ("what am i running low on", "running_low", None),
    ("when did i last buy coffee", "last_bought", None),
    ("any deals for me", "ask_deals", None),
    ("remove the milk", "remove_product", None),
    ("yes please", "affirm", None),
    ("no thanks", "deny", None),
    ("hello", "greet", None),
    ("reorder my last order", "reorder_usual", None),
    ("cancel my order", "cancel_order", None),
    ("where is my order", "order_status", None),
    ("how much is coffee", "ask_product", None),
    ("stop reminding me about milk", "stop_reminding", None),
    ("my pin is one two three four", "give_pin", None),
    ("play some jazz", "out_of_scope", None),
    ("what's the weather like", "out_of_scope", None),
    ("tell me a joke", "out_of_scope", None),
]


def catalog_names() -> list[str]:
    """Every spoken name and brand of the demo catalog (what the language model must know)."""
    snapshot = demo_snapshot()
    names = []
    for category in snapshot.categories:
        names += [category.name, *category.spoken_names]
    names += sorted({p.brand for p in snapshot.products})
    return names


def heard(out_dir: Path) -> dict[str, list[dict]]:
    """Synthesize and recognize every request in every voice."""
    model = build_model(training_sentences(catalog_names()), out_dir / "lm")
    recognizer = Recognizer(model)
    results: dict[str, list[dict]] = {}
    for voice in VOICES:
        rows = results.setdefault(voice, [])
        for i, (text, intent, category) in enumerate(REQUESTS):
            wav = synthesize(text, voice, out_dir / f"{voice}-{i}.wav")
            start = time.perf_counter()
            hypothesis = recognizer.recognize(wav)
            ms = (time.perf_counter() - start) * 1000
            errors, words = word_errors(text, hypothesis)
            rows.append(
                {
                    "said": text,
                    "heard": hypothesis,
                    "intent": intent,
                    "category": category,
                    "errors": errors,
                    "words": words,
                    "ms": ms,
                }  # fmt: skip
            )
    return results


def parse(model_path: Path, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent

    async def go() -> list[str]:
        agent = Agent.load(str(model_path))
        return [(await agent.parse_message(t))["intent"]["name"] for t in texts]

    return asyncio.run(go())


def trained_model() -> Path:
    """The Rasa model for the demo catalog (trained only if data or config changed)."""
    from bot.training import export_catalog, train_rasa
    from shop.catalog import load_catalog_file
    from shop.config import Settings
    from shop.migrate import upgrade
    from shop.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/catalog.db")
        upgrade(settings)
        store = Store(settings)
        with store.session() as s:
            load_catalog_file(s)
            export_catalog(s)
        store.dispose()
    return train_rasa()


def run() -> dict:
    model_path = trained_model()
    with tempfile.TemporaryDirectory() as tmp:
        results = heard(Path(tmp))
    report: dict = {
        "workload": f"{len(REQUESTS)} requests x {len(VOICES)} Festival voices "
        f"({', '.join(VOICES)}), 16 kHz; pocketsphinx 5 en-us acoustic model with a trigram "
        "model and dictionary built from bot/data/nlu and the demo catalog; intents from the "
        "trained Rasa model",
        "voices": {},
    }
    total_right = total = 0
    ordered_out_of_scope = 0
    for voice, rows in results.items():
        intents = parse(model_path, [r["heard"] for r in rows])
        clean = parse(model_path, [r["said"] for r in rows])
        right = sum(got == r["intent"] for got, r in zip(intents, rows, strict=True))
        ordered_out_of_scope += sum(
            got == "order_product" and r["intent"] == "out_of_scope"
            for got, r in zip(intents, rows, strict=True)
        )
        total_right += right
        total += len(rows)
        report["voices"][voice] = {
            "wer": round(sum(r["errors"] for r in rows) / sum(r["words"] for r in rows), 4),
            "intent_accuracy": round(right / len(rows), 4),
            "intent_accuracy_clean_text": round(
                sum(got == r["intent"] for got, r in zip(clean, rows, strict=True)) / len(rows), 4
            ),
            "recognize_ms_p50": round(statistics.median(r["ms"] for r in rows), 1),
            "recognize_ms_max": round(max(r["ms"] for r in rows), 1),
            "misheard": [
                {"said": r["said"], "heard": r["heard"], "intent": got}
                for got, r in zip(intents, rows, strict=True)
                if r["errors"] or got != r["intent"]
            ],
        }
    report["intent_accuracy"] = round(total_right / total, 4)
    report["out_of_scope_turned_into_orders"] = ordered_out_of_scope
    return report
