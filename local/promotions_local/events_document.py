"""docs/events.md, written from the models of the status change events (promotions.release.status_events).

Run `python -m promotions_local.events_document` after changing a model; tests/test_events_document.py fails
while the page and the models disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promotions.release.status_events import EVENT_SOURCE, STATUS_EVENTS

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "events.md"

_INTRODUCTION = f"""# Status change events

<!-- Written by `python -m promotions_local.events_document` from promotions.release.status_events; edit the
models, not this page. -->

Every change of a release's status, and of each of its environments' statuses, is put on the stack's event bus
(the `EventBusName` output) as one event with `source: {EVENT_SOURCE}`. A new release is told too, with no
previous status. Send them anywhere with a rule of your own, for instance every failure:

```json
{{
  "source": ["{EVENT_SOURCE}"],
  "detail-type": ["Promotion Release Status Change", "Promotion Environment Status Change"],
  "detail": {{"status": ["Failed"]}}
}}
```

Each change is stored before it is published; publishing is tried once (with the AWS SDK's own retries), and
an event the bus refused is logged and counted in the `StatusEventsNotPublished` metric, never failing the
release. Events of one release may arrive out of order: each detail has the change's `time`.
"""


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(option) for option in schema["anyOf"])
    if schema.get("format") == "date-time":
        return "date-time"
    return str(schema.get("type", "any"))


def _section(model: Any) -> str:
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", ()))
    rows = [
        f"| `{name}` | {_type(field)} | {'yes' if name in required else 'no'} | {field.get('description', '')} |"
        for name, field in schema["properties"].items()
    ]
    enums = [
        f"- `{name}`: {', '.join(f'`{value}`' for value in definition['enum'])}"
        for name, definition in schema.get("$defs", {}).items()
    ]
    return "\n".join(
        [
            f"## {model.detail_type}",
            "",
            schema["description"],
            "",
            "| field | type | always present | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            *enums,
            "",
            "JSON Schema of the detail:",
            "",
            "```json",
            json.dumps(schema, indent=2),
            "```",
            "",
        ]
    )


def render() -> str:
    return "\n".join([_INTRODUCTION, *(_section(model) for model in STATUS_EVENTS)])


if __name__ == "__main__":
    DOCUMENT.write_text(render())
