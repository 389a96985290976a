"""What the DynamoDB adapters share: items to and from DynamoDB's typed
attributes (the low-level client is thread-safe, unlike boto3 resources),
telling a failed condition from other errors, and one page of a query in a
tenant's partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from talkavocado.domain.errors import ValidationFailed

Item = dict[str, Any]
_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def attributes(values: Mapping[str, Any]) -> Item:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


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


def query_page(
    client: Any, arguments: Mapping[str, Any], tenant_id: str, cursor: Mapping[str, Any] | None
) -> tuple[list[Item], Mapping[str, Any] | None]:
    """The page's items and where the next page starts (None: the last)."""
    query = dict(arguments)
    if cursor is not None:
        if cursor.get("tenantId") != {"S": tenant_id}:
            raise ValidationFailed("nextToken belongs to another listing", field="nextToken")
        query["ExclusiveStartKey"] = dict(cursor)
    try:
        response = client.query(**query)
    except ClientError as error:
        if cursor is not None and error_code(error) == "ValidationException":
            raise ValidationFailed("nextToken is not valid", field="nextToken") from None
        raise
    return response.get("Items", []), response.get("LastEvaluatedKey")
