"""The deadline sweep against the template's table and queues (moto): the
sparse index finds open jobs of every tenant, the step budgets are the
queues' own settings, and an overdue job ends failed in record and manifest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from talkavocado import wiring
from talkavocado.adapters.sqs import QueueLimits
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import Manifest
from talkavocado.domain.pipeline import STEP_NAMES
from talkavocado.services.manifest_store import ManifestStore
from talkavocado.services.transitions import mutate_job
from talkavocado.support.clock import iso
from talkavocado_local.template import Template
from tests.fakes import run_every_step


def created(tenant: str) -> JobKeys:
    keys = JobKeys("test", tenant, str(uuid.uuid4()))
    ManifestStore(wiring.storage()).create(keys, Manifest.for_job(keys))
    wiring.jobs().create(JobRecord.for_job(keys, correlation_id="c"))
    return keys


def test_the_open_index_lists_open_jobs_of_every_tenant_and_no_finished_one(
    aws: Template,
) -> None:
    open_jobs = {created(f"tenant-{n % 3}") for n in range(12)}
    finished = created("tenant-0")
    mutate_job(wiring.jobs(), finished.tenant_id, finished.job_id, run_every_step)
    later = iso(datetime.now(UTC) + timedelta(minutes=1))

    listed = set(wiring.jobs().open_jobs(later))

    assert listed == {(k.tenant_id, k.job_id) for k in open_jobs}
    assert set(wiring.jobs().open_jobs("2000-01-01T00:00:00.000Z")) == set()


def test_a_steps_budget_is_its_queues_visibility_times_its_receives(aws: Template) -> None:
    queue = aws.resources["AudioExtractionQueue"]["Properties"]
    expected = queue["VisibilityTimeout"] * queue["RedrivePolicy"]["maxReceiveCount"]
    limits = QueueLimits()
    assert limits.longest_delivery("talkavocado-test-audio-extraction") == timedelta(
        seconds=expected
    )


def test_the_sweep_expires_a_job_never_uploaded_and_leaves_a_fresh_one(aws: Template) -> None:
    old, fresh = created("tenant-a"), created("tenant-b")
    sweep = wiring.deadline_sweep()
    window = timedelta(
        seconds=wiring.settings().upload_window_seconds + wiring.settings().upload_grace_seconds
    )
    # Seen from after the old one's window; the fresh one was made then.
    later = datetime.now(UTC) + window + timedelta(seconds=5)
    made_later = iso(later)
    mutate_job(
        wiring.jobs(), fresh.tenant_id, fresh.job_id, lambda j: setattr(j, "created_at", made_later)
    )

    report = sweep.sweep(later, lambda: 600_000)

    assert report.failed == 1
    expired = wiring.jobs().get(old.tenant_id, old.job_id)
    assert expired is not None and expired.status == "failed"
    assert expired.error is not None and expired.error.type == "UPLOAD_EXPIRED"
    assert ManifestStore(wiring.storage()).load(old)[0].status == "failed"
    still = wiring.jobs().get(fresh.tenant_id, fresh.job_id)
    assert still is not None and still.status == "pending"
    assert set(STEP_NAMES) <= set(expired.steps)
