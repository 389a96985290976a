"""The local stack's state across restarts.

The embedded emulator (moto) keeps its tables and queues in memory. A
snapshot of them - the items of every table, every queue's messages, in
flight or not - is written under the storage root every few seconds and when
the stack stops, and restored when it starts again, into a freshly
provisioned emulator. A snapshot rather than a replay of recorded calls:
replaying SQS receives and deletes cannot reproduce receipt handles, while a
snapshot restores exactly what is stored, and a crash loses at most the last
few seconds. What a restart changes, on purpose:

- messages that were in flight come back visible: what a stop interrupted is
  delivered again (as SQS does once a visibility timeout ends);
- the claims of running steps are dropped: nothing runs across a restart,
  and a redelivered step must be able to run at once.

Media stays in the storage folder. The event bus, rules and queues come from
template.yaml on every start. With ``STORAGE_BACKEND=s3`` the emulator's
bucket is not kept, and an external endpoint (``AWS_ENDPOINT_URL``) keeps its
own state.
"""

from __future__ import annotations

import fcntl
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from moto.sqs.models import sqs_backends

from talkavocado.domain.jobs import STEP_CLAIM_ATTRIBUTE, job_sort_key
from talkavocado.support.observability import logger
from talkavocado_local.template import ACCOUNT_ID, Template

SNAPSHOT_EVERY_SECONDS = 5.0
_BATCH = 10  # SQS SendMessageBatch; DynamoDB BatchWriteItem takes 25


def _unclaimed(row: dict[str, Any]) -> dict[str, Any]:
    """A job record's row without the claims of its running steps."""
    for state in row.get("steps", {}).get("M", {}).values():
        for claim in (STEP_CLAIM_ATTRIBUTE, "claimedUntil"):  # as stored now, and earlier
            state.get("M", {}).pop(claim, None)
    return row


@dataclass(frozen=True)
class Restored:
    items: int
    messages: int


class StateFile:
    """One env's snapshot, held by one local stack at a time (a lock file)."""

    def __init__(self, storage_root: Path, env: str) -> None:
        folder = storage_root / ".state"
        self.path = folder / f"{env}.json"
        self._lock_path = folder / f"{env}.lock"
        self._lock: IO[str] | None = None

    def acquire(self) -> bool:
        """False when another running stack holds it."""
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._lock_path.open("w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock = handle
        return True

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def read(self) -> dict[str, Any] | None:
        try:
            document: dict[str, Any] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            logger.error("the local state snapshot is unreadable; starting empty")
            return None
        return document

    def write(self, document: dict[str, Any]) -> None:
        text = json.dumps(document)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(self.path)

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


class StateKeeper:
    """Snapshots the emulator's tables and queues into a StateFile."""

    def __init__(self, state: StateFile, template: Template, session: Any, region: str) -> None:
        self._state = state
        self._dynamodb = session.client("dynamodb")
        self._sqs = session.client("sqs")
        self._region = region
        self._tables = [
            str(props["TableName"]) for props in template.of_type("AWS::DynamoDB::Table").values()
        ]
        self._queues = {
            template.physical_name(logical_id): template.runtime_refs[logical_id]
            for logical_id, resource in template.resources.items()
            if resource["Type"] == "AWS::SQS::Queue"
        }
        self._last: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._every, name="state-keeper", daemon=True)

    def restore(self) -> Restored:
        document = self._state.read() or {}
        items = messages = 0
        for table, rows in document.get("tables", {}).items():
            if table not in self._tables:
                continue
            kept = [_unclaimed(row) for row in rows]
            for start in range(0, len(kept), 25):
                requests = [{"PutRequest": {"Item": row}} for row in kept[start : start + 25]]
                self._dynamodb.batch_write_item(RequestItems={table: requests})
            items += len(kept)
        for queue, bodies in document.get("queues", {}).items():
            url = self._queues.get(queue)
            if url is None:
                continue
            for start in range(0, len(bodies), _BATCH):
                entries = [
                    {"Id": str(index), "MessageBody": body}
                    for index, body in enumerate(bodies[start : start + _BATCH])
                ]
                self._sqs.send_message_batch(QueueUrl=url, Entries=entries)
            messages += len(bodies)
        self._last = document or None
        return Restored(items, messages)

    def snapshot(self) -> dict[str, Any]:
        tables = {}
        for table in self._tables:
            rows: list[dict[str, Any]] = []
            for page in self._dynamodb.get_paginator("scan").paginate(
                TableName=table, ConsistentRead=True
            ):
                rows.extend(page.get("Items", []))
            tables[table] = rows
        backend = sqs_backends[ACCOUNT_ID][self._region]
        queues = {}
        for name in self._queues:
            queue = backend.get_queue(name)
            with queue._messages_lock:  # every message, in flight or not
                queues[name] = [message.body for message in queue._messages]
        return {"tables": tables, "queues": queues}

    def save(self) -> None:
        document = self.snapshot()
        if document != self._last:
            self._state.write(document)
            self._last = document

    def start(self) -> StateKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the periodic snapshots and take a last one."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        self.save()

    def _every(self) -> None:
        while not self._stop.wait(SNAPSHOT_EVERY_SECONDS):
            try:
                self.save()
            except Exception:
                logger.exception("could not snapshot the local state; will try again")


@dataclass(frozen=True)
class Mismatch:
    """Jobs whose record and manifest disagree about existing."""

    manifests_without_record: list[str]
    records_without_manifest: list[str]


def reconcile(storage_root: Path, env: str, jobs_table: str, session: Any) -> Mismatch:
    """Compare the job records with the manifests on disk; report, never adopt."""
    records = set()
    for page in (
        session.client("dynamodb")
        .get_paginator("scan")
        .paginate(
            TableName=jobs_table,
            ProjectionExpression="tenantId, jobSort",
            FilterExpression="begins_with(jobSort, :record)",  # not the history items
            ExpressionAttributeValues={":record": {"S": "JOB#"}},
        )
    ):
        records |= {
            f"{row['tenantId']['S']}/{row['jobSort']['S'].removeprefix(job_sort_key(''))}"
            for row in page["Items"]
        }
    manifests = {
        f"{path.parent.parent.name}/{path.parent.name}"
        for path in (storage_root / env).glob("*/*/manifest.json")
    }
    mismatch = Mismatch(sorted(manifests - records), sorted(records - manifests))
    if mismatch.manifests_without_record or mismatch.records_without_manifest:
        logger.warning(
            "storage and job records disagree; nothing was adopted",
            extra={
                "manifestsWithoutRecord": mismatch.manifests_without_record[:100],
                "recordsWithoutManifest": mismatch.records_without_manifest[:100],
            },
        )
    return mismatch
