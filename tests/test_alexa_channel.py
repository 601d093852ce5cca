"""The Alexa channel's translation both ways, and the committed interaction model."""

from __future__ import annotations

import json

from bot.alexa_model import MODEL_PATH, SKILL_DIR, interaction_model
from bot.channels.alexa import INTENTS, asks_question, request_text, speech


def intent(name: str, **slots) -> dict:
    return {
        "type": "IntentRequest",
        "intent": {"name": name, "slots": {k: {"name": k, "value": v} for k, v in slots.items()}},
    }


def test_requests_become_sentences():
    assert request_text({"type": "LaunchRequest"}) == "hello"
    assert request_text(intent("OrderIntent", product="ketchup")) == "order ketchup"
    assert request_text(intent("OrderIntent", product="milk", quantity="2")) == "order 2 milk"
    assert request_text(intent("VoicePinIntent", pin="1234")) == "my pin is 1234"
    assert request_text(intent("UtteranceIntent", utterance="reorder my last order")) == (
        "reorder my last order"
    )
    assert request_text(intent("AMAZON.YesIntent")) == "yes"
    assert request_text(intent("SomethingNew")) is None
    assert request_text({"type": "SessionEndedRequest"}) is None
    assert request_text(intent("UtteranceIntent")) is None  # an empty slot says nothing


def test_answers_are_ssml_and_questions_keep_the_session_open():
    done = speech(["Added Heinz & Hunt's <ketchup>."], end=True)
    assert done["response"]["outputSpeech"]["ssml"] == (
        "<speak>Added Heinz &amp; Hunt's &lt;ketchup&gt;.</speak>"
    )
    assert done["response"]["shouldEndSession"] is True and "reprompt" not in done["response"]
    texts = ["That's 2 milk, for 5 dollars.", "Shall I place the order?"]
    question = asks_question(texts)
    ask = speech(texts, end=question is None, reprompt=question)
    assert ask["response"]["shouldEndSession"] is False
    assert ask["response"]["reprompt"]["outputSpeech"]["ssml"] == (
        "<speak>Shall I place the order?</speak>"
    )


def test_the_committed_interaction_model_is_current(sqlite_demo_store):
    with sqlite_demo_store.session() as s:
        model = interaction_model(s)
    committed = json.loads((SKILL_DIR / MODEL_PATH).read_text())
    assert committed == model, "run `dash alexa-model` on the demo catalog and commit the result"
    language = model["interactionModel"]["languageModel"]
    names = {i["name"] for i in language["intents"]}
    assert set(INTENTS) <= names and {"AMAZON.StopIntent", "AMAZON.YesIntent"} <= names
    values = {
        v["name"]["value"]: v["name"].get("synonyms", []) for v in language["types"][0]["values"]
    }
    assert "catsup" in values["ketchup"] and "heinz" in values
    for spec in language["intents"]:
        for sample in spec["samples"]:  # every slot a sample names is declared
            for slot in [w[1:-1] for w in sample.split() if w.startswith("{")]:
                assert slot in {x["name"] for x in spec["slots"]}, (spec["name"], sample)
