"""The jobs table: partition ``tenantId``, sort ``jobSort``: a job's record
(``JOB#{jobId}``) and its history (``HIST#{jobId}#{version}#{n}``) share the
tenant's partition.

A change is one conditional put of the record, which carries the
transitions of that change (``journal``): the change and its history are
written together, and a change that loses its race writes neither. The next
change, before it replaces the record, copies the journal it read into
history items (puts keyed by the version that wrote them, so repeating
them changes nothing): a crash between the two leaves the journal on the
record for whichever change comes next. A history read is the history
items and then the journal of the record, which no item holds yet.

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from talkavocado.adapters.dynamodb_support import attributes, condition_failed, plain, query_page
from talkavocado.domain.jobs import (
    OPEN_SHARDS,
    HistoryEntry,
    JobRecord,
    history_prefix,
    history_sort_key,
    job_sort_key,
    journal_of,
    stored_journal,
)
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.ports import HistoryPage, JobPage, JobQuery
from talkavocado.support.clock import now_iso

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"
BY_OPEN_INDEX = "byOpen"
JOURNAL = "journal"  # the record's attribute: the transitions of its version
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


def _record(item: dict[str, Any]) -> JobRecord:
    return JobRecord.model_validate(plain(item))


def _journal(item: dict[str, Any]) -> list[HistoryEntry]:
    """The journal a record's item holds (projected with its error)."""
    record = plain({name: item[name] for name in (JOURNAL, "error") if name in item})
    return journal_of(record.get(JOURNAL, []), record.get("error"))


class DynamoJobRepository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")
        self._journals: dict[tuple[str, str, int], list[HistoryEntry]] = {}
        self._lock = threading.Lock()

    def _key(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        return attributes({"tenantId": tenant_id, "jobSort": job_sort_key(job_id)})

    def _put(self, record: JobRecord, condition: dict[str, Any]) -> None:
        """The record under ``condition``, with its journal."""
        item = attributes(
            {**record.to_item(), JOURNAL: stored_journal(record.journal, record.error)}
        )
        self._client.put_item(TableName=self._table, Item=item, **condition)
        self._remember(record.tenant_id, record.job_id, record.version, record.journal)

    def _remember(
        self, tenant_id: str, job_id: str, version: int, journal: list[HistoryEntry]
    ) -> None:
        """The journal version ``version`` of the record holds (once written,
        a version never changes): what the change from it copies to history."""
        with self._lock:
            self._journals[(tenant_id, job_id, version)] = journal
            while len(self._journals) > _JOURNALS_KEPT:
                self._journals.pop(next(iter(self._journals)))

    def _stored_journal(self, tenant_id: str, job_id: str, version: int) -> list[HistoryEntry]:
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
            ProjectionExpression="#version, #journal, #error",
            ExpressionAttributeNames={
                "#version": "version",
                "#journal": JOURNAL,
                "#error": "error",
            },
        ).get("Item")
        return item

    def _copy_to_history(
        self, tenant_id: str, job_id: str, version: int, journal: list[HistoryEntry]
    ) -> None:
        """Version ``version``'s journal as history items: the same items
        whoever writes them, however often."""
        for n, entry in enumerate(journal):
            self._client.put_item(
                TableName=self._table,
                Item=attributes(
                    {
                        "tenantId": tenant_id,
                        "jobSort": history_sort_key(job_id, version, n),
                        **entry.to_item(),
                    }
                ),
            )

    def create(self, record: JobRecord) -> None:
        try:
            self._put(record, {"ConditionExpression": "attribute_not_exists(jobSort)"})
        except ClientError as error:
            if condition_failed(error):
                raise JobAlreadyExists("job already exists", job=record.pointer) from None
            raise

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
        saved = record.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        journal = self._stored_journal(record.tenant_id, record.job_id, expected_version)
        self._copy_to_history(record.tenant_id, record.job_id, expected_version, journal)
        condition = {
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": attributes({":expected": expected_version}),
        }
        try:
            self._put(saved, condition)
        except ClientError as error:
            if condition_failed(error):
                raise ConcurrentUpdate(f"job {record.job_id} changed meanwhile") from None
            raise
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
        """The history items, then the record's journal: read first, so the
        items the query finds cover every version before the record's."""
        record = self._read_journal(tenant_id, job_id)
        arguments: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "tenantId = :tenant AND begins_with(jobSort, :prefix)",
            "ExpressionAttributeValues": attributes(
                {":tenant": tenant_id, ":prefix": history_prefix(job_id)}
            ),
            "ConsistentRead": True,
            "Limit": limit,
        }
        items, following = query_page(self._client, arguments, tenant_id, cursor, _START_KEYS[None])
        if following is None and record is not None:  # the items end here: the journal follows
            version = int(record["version"]["N"])
            after = str(cursor["jobSort"]["S"]) if cursor is not None else ""
            stored = {item["jobSort"]["S"] for item in items}
            for n, entry in enumerate(_journal(record)):
                sort_key = history_sort_key(job_id, version, n)
                if sort_key > after and sort_key not in stored:
                    items.append(attributes({"jobSort": sort_key, **entry.to_item()}))
            if len(items) > limit:
                items = items[:limit]
                following = {"tenantId": {"S": tenant_id}, "jobSort": items[-1]["jobSort"]}
        entries = [HistoryEntry.model_validate(plain(item)) for item in items]
        return HistoryPage(entries, following)

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
