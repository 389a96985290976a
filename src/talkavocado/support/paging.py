"""Page tokens: opaque to clients, bound to the tenant and the listing they
were made for (its filters, or the job or webhook it pages through), so a
token used elsewhere is refused, never followed into another listing."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from talkavocado.domain.errors import ValidationFailed

Scope = list[str | None]


def cursor_of(token: str, tenant_id: str, scope: Scope) -> dict[str, Any]:
    """The storage cursor ``token`` carries, if made for this tenant and scope."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token.encode(errors="replace")))
    # binascii.Error and UnicodeDecodeError are ValueErrors; RecursionError:
    # arrays nested thousands deep.
    except (ValueError, RecursionError):
        raise ValidationFailed("nextToken is not valid", field="nextToken") from None
    if (
        not isinstance(document, dict)
        or document.get("tenantId") != tenant_id
        or document.get("filters") != scope
        or not isinstance(document.get("cursor"), dict)
    ):
        raise ValidationFailed("nextToken belongs to another listing", field="nextToken")
    cursor: dict[str, Any] = document["cursor"]
    return cursor


def token_of(cursor: Mapping[str, Any] | None, tenant_id: str, scope: Scope) -> str | None:
    if cursor is None:
        return None
    document = {"tenantId": tenant_id, "filters": scope, "cursor": dict(cursor)}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()
