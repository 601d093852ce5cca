"""`python -m bot.rasa_server run ...`: Rasa's own command line, with two fixes applied first.

Rasa 3.6 checks every action-server response with ``jsonschema.validate(result, schema)``.
That function first validates the *schema* against the JSON Schema meta-schema, on every call:
about 60 ms of a 70 ms custom-action turn on 2 cores (found with cProfile around
``Agent.handle_message``; the action server itself answers in 5-13 ms). Here the response is
checked against the same schema by a validator built once, raising the same error with the
same message; nothing else changes. `bot.runtime` starts the Rasa server through this module.

Start-up: loading the LogisticRegressionClassifier imports ``skops.io``, whose import looks up
the module of ~765 types by scanning every loaded module; once TensorFlow is loaded that scan
takes about 7 s instead of 0.5 s. Importing ``skops.io`` here, before Rasa (and TensorFlow),
makes the server answer that much sooner.
"""

from __future__ import annotations

import skops.io  # noqa: F401 - first, see above (isort: skip)

from functools import cache
from typing import Any

from jsonschema import ValidationError, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@cache
def _response_validator() -> Any:  # noqa: ANN401 - a jsonschema Validator instance
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, at the first response
    return cls(schema)


def validate_action_result(_self: RemoteAction, result: dict[str, Any]) -> bool:
    try:
        _response_validator().validate(result)
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def apply_fixes() -> None:
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    apply_fixes()
    rasa_main()


if __name__ == "__main__":
    main()
