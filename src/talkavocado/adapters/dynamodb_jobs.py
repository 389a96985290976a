"""The jobs table: partition ``tenantId``, sort ``jobSort``: a job's record
(``JOB#{jobId}``) and its history items (``HIST#{jobId}#{version}``) share
the tenant's partition.

A change is one conditional put of the record, which carries the
transitions made since the last history item (``journal``, begun by the
version ``journalFrom``): the change and its history are written together,
and a change that loses its race writes neither. The journal grows with
each change while the record stays within a write unit (1 KB); a change
whose record would not first writes the journal it read to one history item,
keyed by the version that began it, and starts a new journal with its own
transitions. A crash between the two leaves the journal on the record as
well: the item is written again, the same, by whichever change comes next,
and a read takes the record's journal over an item of the same key. An
item is only ever replaced by a longer one (a condition on ``through``, the
last version it holds), so a late change cannot shorten one.

A history read is the items before the record's journal, then the journal;
a page's cursor is an entry's place: the key of the item or journal that
holds it, and its index there.

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

import boto3
from botocore.exceptions import ClientError

from talkavocado.adapters.dynamodb_support import (
    attributes,
    condition_failed,
    item_bytes,
    plain,
    query_page,
    start_key,
)
from talkavocado.domain.jobs import (
    OPEN_SHARDS,
    HistoryEntry,
    JobRecord,
    history_key,
    history_prefix,
    job_sort_key,
    journal_of,
    stored_journal,
)
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists, ValidationFailed
from talkavocado.ports import HistoryPage, JobPage, JobQuery
from talkavocado.support.clock import now_iso

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"
BY_OPEN_INDEX = "byOpen"
JOURNAL = "journal"  # the record's attribute: its transitions no history item holds
JOURNAL_FROM = "journalFrom"  # the version whose change began the journal
ENTRIES = "entries"  # a history item's transitions, oldest first
THROUGH = "through"  # the last version whose transitions a history item holds
# A write unit is 1 KB; the margin covers the size rule's approximation of numbers.
RECORD_BYTES = 1000
_JOURNALS_KEPT = 4096  # versions whose journal this process wrote or read
_BATCH_GET = 100  # keys in one BatchGetItem
_BATCH_ATTEMPTS = 8
# The attributes of a page's start key: the table's keys, and an index's sort key.
_TABLE_KEYS = frozenset({"tenantId", "jobSort"})
_START_KEYS = {
    None: _TABLE_KEYS,
    BY_CREATED_AT_INDEX: _TABLE_KEYS | {"createdAt"},
    BY_STATUS_INDEX: _TABLE_KEYS | {"statusSort"},
}
# A history item's key after the job's prefix: the version that began it;
# earlier code wrote one item per transition, with its index after it.
_HISTORY_KEY = re.compile(r"\d{10}(#\d{3})?")


@dataclass(frozen=True)
class Journal:
    """A record's journal: the version that began it, and its transitions."""

    start: int
    entries: list[HistoryEntry]


def _record(item: dict[str, Any]) -> JobRecord:
    return JobRecord.model_validate(plain(item))


def _journal(item: dict[str, Any]) -> Journal:
    """The journal a record's item holds (projected with its version and
    error). A record of earlier code holds only its own version's."""
    record = plain({name: item[name] for name in (JOURNAL, JOURNAL_FROM, "error") if name in item})
    start = int(record.get(JOURNAL_FROM, item["version"]["N"]))
    return Journal(start, journal_of(record.get(JOURNAL, []), record.get("error")))


def _place(
    cursor: Mapping[str, Any] | None, tenant_id: str, job_id: str, last: str
) -> tuple[str, int] | None:
    """The place of the entry a history page ended with: the key of the item
    (or journal) that holds it, and its index there; ``ValidationFailed``
    for a cursor that no history page of this job gave."""
    if cursor is None:
        return None
    place = start_key(cursor, _TABLE_KEYS, tenant_id)["jobSort"]["S"]
    key, _, n = place.rpartition("#")
    prefix = history_prefix(job_id)
    if (
        not key.startswith(prefix)
        or not _HISTORY_KEY.fullmatch(key.removeprefix(prefix))
        or not re.fullmatch(r"\d{1,6}", n)
        or key > last
    ):
        raise ValidationFailed("nextToken is not valid", field="nextToken")
    return key, int(n)


def _entries(item: dict[str, Any]) -> list[HistoryEntry]:
    """A history item's transitions (earlier code's items are one each)."""
    if ENTRIES not in item:
        return [HistoryEntry.model_validate(plain(item))]
    return [HistoryEntry.model_validate(entry) for entry in plain(item)[ENTRIES]]


class DynamoJobRepository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._journals: dict[tuple[str, str, int], Journal] = {}
        self._lock = threading.Lock()

    def _key(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        return attributes({"tenantId": tenant_id, "jobSort": job_sort_key(job_id)})

    def _item(self, record: JobRecord, journal: Journal) -> dict[str, Any]:
        return attributes(
            {
                **record.to_item(),
                JOURNAL: stored_journal(journal.entries, record.error),
                JOURNAL_FROM: journal.start,
            }
        )

    def _remember(self, tenant_id: str, job_id: str, version: int, journal: Journal) -> None:
        """The journal version ``version`` of the record holds (once written,
        a version never changes): what the change from it goes on with."""
        with self._lock:
            self._journals[(tenant_id, job_id, version)] = journal
            while len(self._journals) > _JOURNALS_KEPT:
                self._journals.pop(next(iter(self._journals)))

    def _stored_journal(self, tenant_id: str, job_id: str, version: int) -> Journal:
        with self._lock:
            journal = self._journals.get((tenant_id, job_id, version))
        if journal is not None:
            return journal
        item = self._read_journal(tenant_id, job_id)
        if item is None or int(item["version"]["N"]) != version:
            raise ConcurrentUpdate(f"job {job_id} changed meanwhile")
        return _journal(item)

    def _read_journal(self, tenant_id: str, job_id: str) -> dict[str, Any] | None:
        """The record's version and journal, with its error (its journal's
        failure leaves it out)."""
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table,
            Key=self._key(tenant_id, job_id),
            ConsistentRead=True,
            ProjectionExpression="#version, #journal, #from, #error",
            ExpressionAttributeNames={
                "#version": "version",
                "#journal": JOURNAL,
                "#from": JOURNAL_FROM,
                "#error": "error",
            },
        ).get("Item")
        return item

    def _write_history(self, tenant_id: str, job_id: str, journal: Journal, through: int) -> None:
        """``journal``, as version ``through`` of the record holds it, as one
        history item: the same item whoever writes it, however often; never
        in place of a longer one (then the record has moved on)."""
        item = {
            "tenantId": tenant_id,
            "jobSort": history_key(job_id, journal.start),
            THROUGH: through,
            ENTRIES: [entry.to_item() for entry in journal.entries],
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=attributes(item),
                ConditionExpression="attribute_not_exists(jobSort) OR #through <= :through",
                ExpressionAttributeNames={"#through": THROUGH},
                ExpressionAttributeValues=attributes({":through": through}),
            )
        except ClientError as error:
            if condition_failed(error):
                raise ConcurrentUpdate(f"job {job_id} changed meanwhile") from None
            raise

    def create(self, record: JobRecord) -> None:
        journal = Journal(record.version, record.journal)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._item(record, journal),
                ConditionExpression="attribute_not_exists(jobSort)",
            )
        except ClientError as error:
            if condition_failed(error):
                raise JobAlreadyExists("job already exists", job=record.pointer) from None
            raise
        self._remember(record.tenant_id, record.job_id, record.version, journal)

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, job_id), ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        record = _record(item)
        self._remember(tenant_id, job_id, record.version, _journal(item))
        return record

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        """The record as version ``expected_version + 1``, its transitions
        added to the journal it read; that journal first goes to a history
        item if the record would not fit a write unit with it."""
        tenant_id, job_id = record.tenant_id, record.job_id
        saved = record.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        read = self._stored_journal(tenant_id, job_id, expected_version)
        journal = Journal(read.start, read.entries + saved.journal)
        item = self._item(saved, journal)
        if read.entries and item_bytes(item) > RECORD_BYTES:
            self._write_history(tenant_id, job_id, read, expected_version)
            journal = Journal(saved.version, saved.journal)
            item = self._item(saved, journal)
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=attributes({":expected": expected_version}),
            )
        except ClientError as error:
            if condition_failed(error):
                raise ConcurrentUpdate(f"job {job_id} changed meanwhile") from None
            raise
        self._remember(tenant_id, job_id, saved.version, journal)
        return saved.without_journal()

    def open_jobs(self, created_before: str) -> Iterator[tuple[str, str]]:
        """(tenant, job) of every open job created before the time, from the
        sparse ``byOpen`` index (keys only), shard by shard, page by page."""
        paginator = self._client.get_paginator("query")
        for shard in range(OPEN_SHARDS):
            pages = paginator.paginate(
                TableName=self._table,
                IndexName=BY_OPEN_INDEX,
                KeyConditionExpression="openShard = :shard AND createdAt < :before",
                ExpressionAttributeValues=attributes(
                    {":shard": f"open#{shard}", ":before": created_before}
                ),
            )
            for page in pages:
                for item in page.get("Items", []):
                    job_sort = item["jobSort"]["S"]
                    yield item["tenantId"]["S"], job_sort.removeprefix(job_sort_key(""))

    def history(
        self, tenant_id: str, job_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> HistoryPage:
        """The history items before the record's journal, then the journal;
        the record read first, so that the items the query finds cover every
        version before its journal's. ``limit`` counts transitions."""
        record = self._read_journal(tenant_id, job_id)
        if record is None:
            return HistoryPage([], None)
        journal = _journal(record)
        last = history_key(job_id, journal.start)
        after = _place(cursor, tenant_id, job_id, last)
        found: list[tuple[str, int, HistoryEntry]] = []
        items = self._history_items(tenant_id, job_id, after, last, limit)
        for key, entries in chain(items, [(last, journal.entries)]):
            found += [
                (key, n, e) for n, e in enumerate(entries) if after is None or (key, n) > after
            ]
            if len(found) > limit:
                break
        page = found[:limit]
        following = None
        if len(found) > limit:
            key, n, _ = page[-1]
            following = {"tenantId": {"S": tenant_id}, "jobSort": {"S": f"{key}#{n}"}}
        return HistoryPage([entry for _, _, entry in page], following)

    def _history_items(
        self, tenant_id: str, job_id: str, after: tuple[str, int] | None, last: str, limit: int
    ) -> Iterator[tuple[str, list[HistoryEntry]]]:
        """(key, transitions) of the job's history items from the cursor's
        item to the record's journal, leaving out the item of the journal's
        own key (the journal holds as much, or more), and earlier code's
        items of a version whose item holds them again."""
        low = after[0] if after is not None else history_prefix(job_id)
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "tenantId = :tenant AND jobSort BETWEEN :low AND :high",
            "ExpressionAttributeValues": attributes(
                {":tenant": tenant_id, ":low": low, ":high": last}
            ),
            "ConsistentRead": True,
            "Limit": limit + 1,  # an item holds at least one transition
        }
        covered = ""  # the last item yielded that earlier code's items may repeat
        while True:
            page = self._client.query(**arguments)
            for item in page.get("Items", []):
                key = item["jobSort"]["S"]
                if key != last and not key.startswith(f"{covered}#"):
                    yield key, _entries(item)
                    covered = key
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def list_jobs(self, tenant_id: str, query: JobQuery) -> JobPage:
        """One Query on an index of the tenant's partition: ``byCreatedAt``, or
        ``byStatus`` (``status#createdAt#jobId``) for one status; the indexes
        hold keys only, so the page's records are then read by key
        (BatchGetItem). Creation time bounds go into the key condition; a
        filter drops the items exactly on a bound (DynamoDB's BETWEEN includes
        them), so a page may come short."""
        values: dict[str, Any] = {":tenant": tenant_id}
        filters = []
        if query.created_after is not None:
            values[":after"] = query.created_after
            filters.append("createdAt > :after")
        if query.created_before is not None:
            values[":before"] = query.created_before
            filters.append("createdAt < :before")
        if query.status is None:
            index, sort_key = BY_CREATED_AT_INDEX, "createdAt"
            low, high = query.created_after or "0", query.created_before or "~"
        else:
            index, sort_key = BY_STATUS_INDEX, "statusSort"
            low = f"{query.status}#{query.created_after or ''}"
            high = f"{query.status}#{query.created_before or '~'}"
        values.update({":low": low, ":high": high})
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": f"tenantId = :tenant AND {sort_key} BETWEEN :low AND :high",
            "ExpressionAttributeValues": attributes(values),
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(filters)
        keys, cursor = query_page(
            self._client, arguments, tenant_id, query.cursor, _START_KEYS[index]
        )
        return JobPage(self._records(tenant_id, keys), cursor)

    def _records(self, tenant_id: str, keys: list[dict[str, Any]]) -> list[JobRecord]:
        """The records of ``keys`` (of the tenant's partition), in their order."""
        wanted = [
            {"tenantId": {"S": tenant_id}, "jobSort": key["jobSort"]}
            for key in keys
            if key["tenantId"] == {"S": tenant_id}
        ]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), _BATCH_GET):
            pending: dict[str, Any] = {self._table: {"Keys": wanted[start : start + _BATCH_GET]}}
            for attempt in range(_BATCH_ATTEMPTS):
                answer = self._client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    found[item["jobSort"]["S"]] = item
                pending = answer.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError("the jobs table left a listing's records unread")
        # A job's record leaves no index while it exists; a missing one is skipped.
        return [
            _record(found[key["jobSort"]["S"]]) for key in wanted if key["jobSort"]["S"] in found
        ]
