"""One page of a DynamoDB Query in a tenant's partition, resumed from a
client's cursor only if that cursor points into the same partition."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from talkavocado.domain.errors import ValidationFailed

Item = dict[str, Any]


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
        code = error.response.get("Error", {}).get("Code")
        if cursor is not None and code == "ValidationException":
            raise ValidationFailed("nextToken is not valid", field="nextToken") from None
        raise
    return response.get("Items", []), response.get("LastEvaluatedKey")
