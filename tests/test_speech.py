"""Offline speech end to end: requests synthesized with Debian's Festival voices, recognized
with pocketsphinx using a language model built from the bot's own sentences and catalog, then
sent to the real assistant as voice messages. Asserts the intent, the product and the cart;
out-of-scope speech never becomes an order. (`make bench` reports the same set's WER.)

Needs Festival (`make services` installs festival, festvox-kallpc16k, festvox-us-slt-hts);
DASH_TEST_SPEECH=skip skips it where they cannot be had."""

from __future__ import annotations

import json
import os
import shutil
import urllib.request

import pytest

from bench.speech import REQUESTS, catalog_names
from shop import carts
from voice.speech import VOICES, Recognizer, build_model, synthesize, training_sentences

if os.environ.get("DASH_TEST_SPEECH") == "skip":
    pytest.skip("DASH_TEST_SPEECH=skip", allow_module_level=True)
if shutil.which("text2wave") is None:
    pytest.fail(
        "the speech tests need Festival's text2wave: run `make services`, or set "
        "DASH_TEST_SPEECH=skip",
        pytrace=False,
    )

pytestmark = pytest.mark.slow
#: One household per voice: a second "order ketchup" would rightly be asked about, not added.
HOUSEHOLDS = {"kal": 5, "slt": 6}


@pytest.fixture(scope="module")
def recognizer(tmp_path_factory):
    model = build_model(
        training_sentences(catalog_names()), tmp_path_factory.mktemp("speech") / "lm"
    )
    assert model.vocabulary > 300
    return Recognizer(model)


def post(url: str, body: dict) -> list | dict:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as res:
        return json.load(res)


def categories(doors, household: int) -> dict[str, int]:
    with doors["store"].session() as s:
        lines = carts.get_cart(s, household).lines
        return {x.product.category_id: x.quantity for x in lines}


def test_spoken_requests_reach_the_right_intent_and_cart(doors, recognizer, tmp_path):
    parse = f"{doors['rasa']}/model/parse?token={doors['rasa_token']}"
    webhook = f"{doors['rasa']}/webhooks/rest/webhook"
    wrong, results = [], []
    for voice in VOICES:
        for i, (said, intent, category) in enumerate(REQUESTS):
            heard = recognizer.recognize(synthesize(said, voice, tmp_path / f"{voice}{i}.wav"))
            got = post(parse, {"text": heard})["intent"]["name"]
            results.append(got == intent)
            if got != intent:
                wrong.append((voice, said, heard, got))
            if category is None and intent != "out_of_scope":
                continue  # questions and confirmations: intent only (no checkout by accident)
            household = HOUSEHOLDS[voice]
            before = categories(doors, household)
            metadata = {"household_id": household, "voice": True}
            sender = f"speech-{voice}"
            post(webhook, {"sender": sender, "message": heard, "metadata": metadata})
            after = categories(doors, household)
            if category is None:
                assert after == before, f"{voice}: {said!r} (heard {heard!r}) changed the cart"
            else:
                assert after.get(category, 0) > before.get(category, 0), (voice, said, heard)
    accuracy = sum(results) / len(results)
    assert accuracy >= 0.95, f"intent accuracy {accuracy:.3f}; wrong: {wrong}"
