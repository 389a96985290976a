"""What the DynamoDB adapters share: items to and from DynamoDB's typed
attributes (the low-level client is thread-safe, unlike boto3 resources),
telling a failed condition from other errors, and one page of a query in a
tenant's partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from talkavocado.errors import ValidationFailed

Item = dict[str, Any]
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def attributes(values: Mapping[str, Any]) -> Item:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def item_bytes(item: Item) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    [(kind, inner)] = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_bytes(v) for k, v in inner.items())
    if kind == "L":
        return 3 + sum(1 + _value_bytes(v) for v in inner)
    return len(str(inner))  # binary and sets: not written by this code


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def condition_failed(error: ClientError) -> bool:
    """A write's condition failed: alone, or as part of a transaction."""
    if error_code(error) == "ConditionalCheckFailedException":
        return True
    reasons = error.response.get("CancellationReasons") or []
    return error_code(error) == "TransactionCanceledException" and any(
        reason.get("Code") == "ConditionalCheckFailed" for reason in reasons
    )


# DynamoDB's longest sort key, in bytes (a partition key may take 2048).
MAX_KEY_BYTES = 1024


def start_key(
    cursor: Mapping[str, Any], key_names: frozenset[str], tenant_id: str
) -> dict[str, Any]:
    """``cursor`` as the query's ``ExclusiveStartKey``, if it is one that the
    query could have answered: exactly the index's and the table's key
    attributes, each a string (every key of ours is), the first the tenant's.
    A page token is the client's to send back, so anything else is refused
    here, before botocore or DynamoDB would refuse it less politely."""
    if not isinstance(cursor, Mapping) or set(cursor) != key_names:
        raise ValidationFailed("nextToken is not valid", field="nextToken")
    for value in cursor.values():
        if (
            not isinstance(value, Mapping)
            or set(value) != {"S"}
            or not isinstance(value["S"], str)
            or not 0 < len(value["S"].encode(errors="replace")) <= MAX_KEY_BYTES
        ):
            raise ValidationFailed("nextToken is not valid", field="nextToken")
    if cursor["tenantId"] != {"S": tenant_id}:
        raise ValidationFailed("nextToken belongs to another listing", field="nextToken")
    return {name: {"S": value["S"]} for name, value in cursor.items()}


def query_page(
    client: Any,
    arguments: Mapping[str, Any],
    tenant_id: str,
    cursor: Mapping[str, Any] | None,
    key_names: frozenset[str],
) -> tuple[list[Item], Mapping[str, Any] | None]:
    """The page's items and where the next page starts (None: the last).
    ``key_names``: the attributes of a start key of this query (the index's
    keys and the table's)."""
    query = dict(arguments)
    if cursor is not None:
        query["ExclusiveStartKey"] = start_key(cursor, key_names, tenant_id)
    try:
        response = client.query(**query)
    except ClientError as error:
        # Still possible: a start key outside the key condition's range.
        if cursor is not None and error_code(error) == "ValidationException":
            raise ValidationFailed("nextToken is not valid", field="nextToken") from None
        raise
    return response.get("Items", []), response.get("LastEvaluatedKey")
