from talkavocado.domain.jobs import ALLOWED_TRANSITIONS, TERMINAL_STATUSES


def reachable_from(target: str) -> list[str]:
    return sorted(s for s, targets in ALLOWED_TRANSITIONS.items() if target in targets)


def test_terminal_statuses_allow_no_transition_except_retry_of_failed() -> None:
    for status in TERMINAL_STATUSES - {"failed"}:
        assert ALLOWED_TRANSITIONS[status] == frozenset()
    assert ALLOWED_TRANSITIONS["failed"] == frozenset({"processing"})


def test_status_never_moves_back_to_pending() -> None:
    assert reachable_from("pending") == []


def test_processing_is_reached_from_pending_or_by_retry() -> None:
    assert reachable_from("processing") == ["failed", "pending"]


def test_completed_is_reached_only_from_processing() -> None:
    assert reachable_from("completed") == ["processing"]
