"""The jobs table: partition ``tenantId``, sort ``jobSort``: a job's record
(``JOB#{jobId}``) and its history (``HIST#{jobId}#{version}#{n}``) share the
tenant's partition, and each change writes both in one transaction.

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

from talkavocado.adapters.dynamodb_support import attributes, condition_failed, plain, query_page
from talkavocado.domain.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.domain.jobs import (
    OPEN_SHARDS,
    HistoryEntry,
    JobRecord,
    history_prefix,
    history_sort_key,
    job_sort_key,
)
from talkavocado.ports import HistoryPage, JobPage, JobQuery
from talkavocado.support.clock import now_iso

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"
BY_OPEN_INDEX = "byOpen"
# The attributes of a page's start key: the table's keys, and an index's sort key.
_TABLE_KEYS = frozenset({"tenantId", "jobSort"})
_START_KEYS = {
    None: _TABLE_KEYS,
    BY_CREATED_AT_INDEX: _TABLE_KEYS | {"createdAt"},
    BY_STATUS_INDEX: _TABLE_KEYS | {"statusSort"},
}


def _record(item: dict[str, Any]) -> JobRecord:
    return JobRecord.model_validate(plain(item))


class DynamoJobRepository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def _key(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        return attributes({"tenantId": tenant_id, "jobSort": job_sort_key(job_id)})

    def _write(self, record: JobRecord, condition: dict[str, Any]) -> None:
        """The record under ``condition`` and its journal, all or nothing."""
        put = {"TableName": self._table, "Item": attributes(record.to_item()), **condition}
        history = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": attributes(
                        {
                            "tenantId": record.tenant_id,
                            "jobSort": history_sort_key(record.job_id, record.version, n),
                            **entry.model_dump(by_alias=True, exclude_none=True),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(jobSort)",
                }
            }
            for n, entry in enumerate(record.journal)
        ]
        if history:
            self._client.transact_write_items(TransactItems=[{"Put": put}, *history])
        else:
            self._client.put_item(**put)

    def create(self, record: JobRecord) -> None:
        try:
            self._write(record, {"ConditionExpression": "attribute_not_exists(jobSort)"})
        except ClientError as error:
            if condition_failed(error):
                raise JobAlreadyExists("job already exists", job=record.pointer) from None
            raise

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, job_id), ConsistentRead=True
        ).get("Item")
        return _record(item) if item else None

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        saved = record.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        condition = {
            "ConditionExpression": "#version = :expected",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": attributes({":expected": expected_version}),
        }
        try:
            self._write(saved, condition)
        except ClientError as error:
            if condition_failed(error):
                raise ConcurrentUpdate(f"job {record.job_id} changed meanwhile") from None
            raise
        return saved.without_journal()

    def open_jobs(self, updated_before: str) -> Iterator[tuple[str, str]]:
        """(tenant, job) of every open job last changed before the time, from
        the sparse ``byOpen`` index (keys only), shard by shard, page by page."""
        paginator = self._client.get_paginator("query")
        for shard in range(OPEN_SHARDS):
            pages = paginator.paginate(
                TableName=self._table,
                IndexName=BY_OPEN_INDEX,
                KeyConditionExpression="openShard = :shard AND updatedAt < :before",
                ExpressionAttributeValues=attributes(
                    {":shard": f"open#{shard}", ":before": updated_before}
                ),
            )
            for page in pages:
                for item in page.get("Items", []):
                    job_sort = item["jobSort"]["S"]
                    yield item["tenantId"]["S"], job_sort.removeprefix(job_sort_key(""))

    def history(
        self, tenant_id: str, job_id: str, limit: int, cursor: Mapping[str, Any] | None
    ) -> HistoryPage:
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
        entries = [HistoryEntry.model_validate(plain(item)) for item in items]
        return HistoryPage(entries, following)

    def list_jobs(self, tenant_id: str, query: JobQuery) -> JobPage:
        """One Query on an index of the tenant's partition: ``byCreatedAt``, or
        ``byStatus`` (``status#createdAt#jobId``) for one status. Creation time
        bounds go into the key condition; a filter drops the items exactly on
        a bound (DynamoDB's BETWEEN includes them), so a page may come short."""
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
        items, cursor = query_page(
            self._client, arguments, tenant_id, query.cursor, _START_KEYS[index]
        )
        return JobPage([_record(item) for item in items], cursor)
