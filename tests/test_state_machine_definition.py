"""The committed release.asl.json is what statemachines/release_asl.py builds, and its shape holds."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def builder():
    spec = importlib.util.spec_from_file_location("release_asl", REPO / "statemachines" / "release_asl.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_definition_is_the_built_one():
    module = builder()
    assert (REPO / "statemachines" / "release.asl.json").read_text() == module.render(), (
        "statemachines/release.asl.json is stale: run `python statemachines/release_asl.py`"
    )


def test_every_state_reaches_only_defined_states():
    definition = json.loads(builder().render())

    def targets(state):
        yield state.get("Next")
        yield state.get("Default")
        for choice in state.get("Choices", []):
            yield choice["Next"]
        for catch in state.get("Catch", []):
            yield catch["Next"]

    def check(states):
        for name, state in states.items():
            for target in filter(None, targets(state)):
                assert target in states, f"{name} goes to undefined {target}"
            if state["Type"] == "Map":
                check(state["ItemProcessor"]["States"])

    check(definition["States"])


def test_lambda_tasks_name_functions_the_template_substitutes():
    text = builder().render()
    template = (REPO / "template.yaml").read_text()
    for placeholder in {part.split("}")[0] for part in text.split("${")[1:]}:
        assert f"{placeholder}: !GetAtt" in template, f"template.yaml does not substitute {placeholder}"
