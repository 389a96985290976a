from talkavocado.domain.jobs import ALLOWED_TRANSITIONS, TERMINAL_STATUSES


def reachable_from(target: str) -> list[str]:
    return sorted(s for s, targets in ALLOWED_TRANSITIONS.items() if target in targets)


def test_terminal_statuses_allow_no_transition_except_a_new_run() -> None:
    # A retry of a failed job, or an edited plan of a finished one rendered.
    assert ALLOWED_TRANSITIONS["cancelled"] == frozenset()
    assert ALLOWED_TRANSITIONS["failed"] == frozenset({"processing"})
    assert ALLOWED_TRANSITIONS["completed"] == frozenset({"processing"})
    assert {"completed", "failed", "cancelled"} == TERMINAL_STATUSES


def test_status_never_moves_back_to_pending() -> None:
    assert reachable_from("pending") == []


def test_processing_is_reached_from_pending_a_review_or_a_new_run() -> None:
    assert reachable_from("processing") == ["awaiting-review", "completed", "failed", "pending"]


def test_a_review_is_awaited_only_after_processing() -> None:
    assert reachable_from("awaiting-review") == ["processing"]


def test_completed_is_reached_only_from_processing() -> None:
    assert reachable_from("completed") == ["processing"]
