"""SQS as the workers use it beyond their event source: delaying a failed
message's next delivery (retry backoff), and reading how long a queue can
keep redelivering a message (the deadline sweep's step budgets)."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from talkavocado.support.observability import logger


class SqsVisibility:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("sqs")

    @cache  # noqa: B019 - one adapter per process; queue URLs never change
    def _queue_url(self, queue_arn: str) -> str:
        *_, account, name = queue_arn.split(":")
        url: str = self._client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
            "QueueUrl"
        ]
        return url

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Best effort: if it fails, the queue's own visibility timeout applies."""
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url(queue_arn),
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=seconds,
            )
        except (BotoCoreError, ClientError):
            logger.warning("could not delay the retry", exc_info=True)


class QueueLimits:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("sqs")

    def longest_delivery(self, queue_name: str) -> timedelta:
        """Visibility timeout times maxReceiveCount: after that long, the
        queue has moved a message it keeps failing to its dead-letter queue."""
        url = self._client.get_queue_url(QueueName=queue_name)["QueueUrl"]
        attributes = self._client.get_queue_attributes(
            QueueUrl=url, AttributeNames=["VisibilityTimeout", "RedrivePolicy"]
        )["Attributes"]
        receives = json.loads(attributes.get("RedrivePolicy", "{}")).get("maxReceiveCount", 1)
        return timedelta(seconds=int(attributes["VisibilityTimeout"]) * int(receives))


class SqsMessageQueue:
    """A queue this function sends to, and the dead-letter queue beside it."""

    def __init__(self, queue_url: str, dead_letter_url: str, client: Any | None = None) -> None:
        self._queue_url = queue_url
        self._dead_letter_url = dead_letter_url
        self._client = client or boto3.client("sqs")

    def send(self, body: str) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=body)

    def dead_letter(self, body: str) -> None:
        self._client.send_message(QueueUrl=self._dead_letter_url, MessageBody=body)
