"""Delays a failed message's next delivery (retry backoff) by changing its
visibility timeout."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from talkavocado.observability import logger


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
