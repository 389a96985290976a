"""The webhooks table: partition ``tenantId``, sort ``itemKey``:
``WEBHOOK#{id}`` (a registration), ``COUNT`` (how many the tenant has, kept
in the same transaction as each add and remove, so the limit holds under
concurrency), ``NOTICE#{id}#{eventId}`` (the claim that makes one
notification per event) and ``DELIVERY#{id}#{at}#{eventId}#{attempt}`` (one
attempt). Claims and delivery records expire (``expiresAt``, the table's TTL)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import boto3
from botocore.exceptions import ClientError

from talkavocado.adapters.dynamodb_support import attributes, condition_failed, plain, query_page
from talkavocado.domain.errors import WebhookLimitReached
from talkavocado.domain.webhooks import Delivery, Webhook, WebhookState
from talkavocado.ports import DeliveryPage

RECORDS_KEPT_SECONDS = 30 * 24 * 3600
_COUNT_ONE_MORE = "SET webhooks = if_not_exists(webhooks, :zero) + :one"
_UNDER_LIMIT = "attribute_not_exists(webhooks) OR webhooks < :limit"
Items = list[dict[str, Any]]


class DynamoWebhookRepository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def _key(self, tenant_id: str, item_key: str) -> dict[str, Any]:
        return attributes({"tenantId": tenant_id, "itemKey": item_key})

    def add(self, webhook: Webhook, limit: int) -> None:
        item = {"itemKey": f"WEBHOOK#{webhook.webhook_id}", **webhook.model_dump(by_alias=True)}
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": self._key(webhook.tenant_id, "COUNT"),
                            "UpdateExpression": _COUNT_ONE_MORE,
                            "ConditionExpression": _UNDER_LIMIT,
                            "ExpressionAttributeValues": attributes(
                                {":zero": 0, ":one": 1, ":limit": limit}
                            ),
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": attributes(item),
                            "ConditionExpression": "attribute_not_exists(itemKey)",
                        }
                    },
                ]
            )
        except ClientError as error:
            if condition_failed(error):
                raise WebhookLimitReached(
                    f"a tenant may register at most {limit} webhooks", limit=limit
                ) from None
            raise

    def get(self, tenant_id: str, webhook_id: str) -> Webhook | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=self._key(tenant_id, f"WEBHOOK#{webhook_id}"),
            ConsistentRead=True,
        ).get("Item")
        return _webhook(item) if item else None

    def of_tenant(self, tenant_id: str) -> list[Webhook]:
        return [_webhook(item) for item in self._query(tenant_id, "WEBHOOK#")]

    def _query(self, tenant_id: str, prefix: str) -> Items:
        items: Items = []
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="tenantId = :tenant AND begins_with(itemKey, :prefix)",
            ExpressionAttributeValues=attributes({":tenant": tenant_id, ":prefix": prefix}),
            ConsistentRead=True,
        )
        for page in pages:
            items += page.get("Items", [])
        return items

    def remove(self, tenant_id: str, webhook_id: str) -> bool:
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": self._key(tenant_id, f"WEBHOOK#{webhook_id}"),
                            "ConditionExpression": "attribute_exists(itemKey)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": self._key(tenant_id, "COUNT"),
                            "UpdateExpression": "SET webhooks = webhooks - :one",
                            "ConditionExpression": "webhooks > :zero",
                            "ExpressionAttributeValues": attributes({":zero": 0, ":one": 1}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def set_state(
        self, tenant_id: str, webhook_id: str, state: WebhookState, reason: str | None
    ) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant_id, f"WEBHOOK#{webhook_id}"),
                UpdateExpression="SET #state = :state, reason = :reason",
                ConditionExpression="attribute_exists(itemKey)",  # never re-create a removed one
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues=attributes({":state": state, ":reason": reason}),
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def claim(self, tenant_id: str, webhook_id: str, event_id: str, owner: str) -> bool:
        item = {
            "tenantId": tenant_id,
            "itemKey": f"NOTICE#{webhook_id}#{event_id}",
            "owner": owner,
            "expiresAt": int(time.time()) + RECORDS_KEPT_SECONDS,
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=attributes(item),
                ConditionExpression="attribute_not_exists(itemKey) OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues=attributes({":owner": owner}),
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def record(self, tenant_id: str, delivery: Delivery) -> None:
        key = f"DELIVERY#{delivery.webhook_id}#{delivery.at}#{delivery.event_id}#{delivery.attempt}"
        item = {
            "tenantId": tenant_id,
            "itemKey": key,
            "expiresAt": int(time.time()) + RECORDS_KEPT_SECONDS,
            # DynamoDB numbers are decimals, never floats.
            **json.loads(
                delivery.model_dump_json(by_alias=True, exclude_none=True), parse_float=Decimal
            ),
        }
        self._client.put_item(TableName=self._table, Item=attributes(item))

    def deliveries(
        self, tenant_id: str, webhook_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> DeliveryPage:
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "tenantId = :tenant AND begins_with(itemKey, :prefix)",
            "ExpressionAttributeValues": attributes(
                {":tenant": tenant_id, ":prefix": f"DELIVERY#{webhook_id}#"}
            ),
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit,
        }
        items, following = query_page(
            self._client, arguments, tenant_id, cursor, frozenset({"tenantId", "itemKey"})
        )
        bookkeeping = ("tenantId", "itemKey", "expiresAt")
        found = [
            Delivery.model_validate({k: v for k, v in plain(item).items() if k not in bookkeeping})
            for item in items
        ]
        return DeliveryPage(found, following)


def _webhook(item: Mapping[str, Any]) -> Webhook:
    values = {k: v for k, v in plain(item).items() if k != "itemKey"}
    return Webhook.model_validate(values)
