"""Publishes pipeline events to the EventBridge bus."""

from __future__ import annotations

from typing import Any

import boto3

from talkavocado.domain.events import EVENT_SOURCE, PipelineEvent
from talkavocado.errors import DependencyUnavailable


class EventBridgePublisher:
    def __init__(self, bus_name: str, client: Any | None = None) -> None:
        self._bus_name = bus_name
        self._client = client or boto3.client("events")

    def publish(self, event: PipelineEvent) -> None:
        response = self._client.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": event.detail_json(),
                    "EventBusName": self._bus_name,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            entry = response["Entries"][0]
            raise DependencyUnavailable(
                f"EventBridge refused {event.detail_type}: "
                f"{entry.get('ErrorCode')} {entry.get('ErrorMessage')}"
            )
