"""The Rasa server runs through bot.rasa_server: Rasa's command line with its action-response
check built once instead of per response (60 ms of every custom-action turn)."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_server import apply_fixes, validate_action_result
from bot.runtime import AssistantConfig, process_env, rasa_command


def test_valid_action_responses_pass():
    ok = {"events": [{"event": "slot", "name": "pending", "value": None}], "responses": []}
    assert validate_action_result(None, ok) is True
    assert validate_action_result(None, {"events": [], "responses": [{"text": "hi"}]}) is True


@pytest.mark.parametrize(
    "bad",
    [
        {"events": [{"event": "no_such_event"}]},
        {"events": "not a list"},
        {"responses": [1, 2]},
    ],
)
def test_invalid_action_responses_fail_with_rasas_message(bad):
    with pytest.raises(ValidationError) as err:
        validate_action_result(None, bad)
    assert "Failed to validate Action server response from API" in err.value.message


def test_the_fix_replaces_rasas_check_and_the_runtime_uses_it(tmp_path):
    apply_fixes()
    assert RemoteAction._validate_action_result is validate_action_result
    cfg = AssistantConfig(model=tmp_path / "m.tar.gz", database_url="sqlite://")
    assert rasa_command(cfg, tmp_path / "e.yml")[1:4] == ["-m", "bot.rasa_server", "run"]
    assert process_env(cfg)["RASA_TELEMETRY_ENABLED"] == "false"
