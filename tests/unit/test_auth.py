"""Who is calling: the bearer token's tenant claim, or (with no issuer
configured) nobody in particular."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from talkavocado.errors import TenantMismatch, Unauthenticated
from talkavocado.services.auth import ANONYMOUS, Caller, authenticate

CLAIM = "custom:tenant_id"


class FakeVerifier:
    """Accepts exactly the tokens it was given, with their claims."""

    def __init__(self, tokens: dict[str, dict[str, Any]]) -> None:
        self.tokens = tokens

    def verify(self, token: str) -> Mapping[str, Any]:
        if token not in self.tokens:
            raise Unauthenticated("unknown token")
        return self.tokens[token]


VERIFIER = FakeVerifier(
    {
        "good": {"sub": "user-1", CLAIM: "tenant-a"},
        "no-tenant": {"sub": "user-2"},
        "bad-tenant": {"sub": "user-3", CLAIM: "../tenant-b"},
        "list-tenant": {"sub": "user-4", CLAIM: ["tenant-a", "tenant-b"]},
        "no-subject": {CLAIM: "tenant-c"},
    }
)


def test_a_valid_token_names_the_caller_and_its_tenant() -> None:
    assert authenticate("Bearer good", VERIFIER, CLAIM, allow_anonymous=False) == Caller(
        "user-1", "tenant-a"
    )


def test_the_scheme_is_case_insensitive_and_spaces_are_tolerated() -> None:
    assert (
        authenticate("  bearer   good ", VERIFIER, CLAIM, allow_anonymous=False).tenant_id
        == "tenant-a"
    )


def test_a_token_without_subject_is_known_by_its_tenant() -> None:
    assert authenticate("Bearer no-subject", VERIFIER, CLAIM, allow_anonymous=False) == Caller(
        "tenant-c", "tenant-c"
    )


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwdw==", "good"])
def test_a_request_without_a_bearer_token_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        authenticate(header, VERIFIER, CLAIM, allow_anonymous=False)


def test_a_token_the_verifier_rejects_is_unauthenticated() -> None:
    with pytest.raises(Unauthenticated):
        authenticate("Bearer forged", VERIFIER, CLAIM, allow_anonymous=False)


@pytest.mark.parametrize("token", ["no-tenant", "bad-tenant", "list-tenant"])
def test_a_valid_token_that_names_no_valid_tenant_is_refused(token: str) -> None:
    with pytest.raises(TenantMismatch):
        authenticate(f"Bearer {token}", VERIFIER, CLAIM, allow_anonymous=False)


def test_the_tenant_claim_name_is_configurable() -> None:
    verifier = FakeVerifier({"t": {"sub": "u", "org": "tenant-z", CLAIM: "tenant-a"}})
    assert authenticate("Bearer t", verifier, "org", allow_anonymous=False).tenant_id == "tenant-z"


def test_without_an_issuer_every_request_passes_and_names_its_own_tenant() -> None:
    assert authenticate(None, None, CLAIM, allow_anonymous=True) == Caller(ANONYMOUS, None)
    assert authenticate("Bearer x", None, CLAIM, allow_anonymous=True) == Caller(ANONYMOUS, None)


@pytest.mark.parametrize("header", [None, "Bearer anything"])
def test_without_an_issuer_callers_are_refused_unless_explicitly_allowed(
    header: str | None,
) -> None:
    with pytest.raises(Unauthenticated, match="does not allow anonymous"):
        authenticate(header, None, CLAIM, allow_anonymous=False)
