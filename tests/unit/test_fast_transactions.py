"""The emulator's TransactWriteItems without whole-table copies: still all or
nothing, however the transaction fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from talkavocado_local import fast_transactions


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    fast_transactions.install()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "p", "KeyType": "HASH"},
                {"AttributeName": "s", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "p", "AttributeType": "S"},
                {"AttributeName": "s", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def key(sort: str) -> dict[str, Any]:
    return {"p": {"S": "a"}, "s": {"S": sort}}


def items(client: Any) -> dict[str, Any]:
    found = client.scan(TableName="t")["Items"]
    return {item["s"]["S"]: item.get("n", {}).get("N") for item in found}


def test_a_failed_transaction_changes_nothing(dynamodb: Any) -> None:
    dynamodb.put_item(TableName="t", Item={**key("count"), "n": {"N": "1"}})
    dynamodb.put_item(TableName="t", Item={**key("taken")})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key("count"),
                        "UpdateExpression": "SET n = n + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Put": {"TableName": "t", "Item": key("new")}},
                {
                    "Put": {
                        "TableName": "t",
                        "Item": key("taken"),
                        "ConditionExpression": "attribute_not_exists(s)",
                    }
                },
            ]
        )
    assert items(dynamodb) == {"count": "1", "taken": None}


def test_a_transaction_that_holds_writes_everything(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {**key("one"), "n": {"N": "1"}}}},
            {"Put": {"TableName": "t", "Item": key("two")}},
        ]
    )
    assert items(dynamodb) == {"one": "1", "two": None}
