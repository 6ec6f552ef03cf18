"""EventBridge: put the engine's own events on the project's bus."""

from __future__ import annotations

import functools
from typing import Any


class EventNotPut(RuntimeError):
    """The bus answered but refused the event (PutEvents reports that per entry, not as an error)."""


class EventBus:
    def __init__(self, bus_name: str, client: Any = None) -> None:
        self._bus_name = bus_name
        if client is not None:
            self._client = client

    @functools.cached_property
    def _client(self) -> Any:
        # Made at the first event: a function that changes no status never imports boto3 for it.
        import boto3

        return boto3.client("events")

    def put(self, source: str, detail_type: str, detail: str) -> None:
        answer = self._client.put_events(
            Entries=[
                {
                    "EventBusName": self._bus_name,
                    "Source": source,
                    "DetailType": detail_type,
                    "Detail": detail,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            [entry] = answer["Entries"]
            raise EventNotPut(
                f"bus {self._bus_name} refused {detail_type}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
