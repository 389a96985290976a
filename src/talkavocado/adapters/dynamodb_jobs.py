"""The jobs table: partition ``tenantId``, sort ``jobSort`` (``JOB#{jobId}``).

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks). Uses the low-level
client (thread-safe, unlike boto3 resources) with boto3's type (de)serialiser.
"""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from talkavocado.clock import now_iso
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists, ValidationFailed
from talkavocado.jobs import JobRecord, job_sort_key
from talkavocado.ports import JobPage, JobQuery

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _condition_failed(error: ClientError) -> bool:
    return _code(error) == "ConditionalCheckFailedException"


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def _to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _SERIALIZER.serialize(value) for name, value in values.items()}


def _record(attributes: dict[str, Any]) -> JobRecord:
    return JobRecord.model_validate(
        {name: _DESERIALIZER.deserialize(value) for name, value in attributes.items()}
    )


class DynamoJobRepository:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self._table = table_name
        self._client = client or boto3.client("dynamodb")

    def _key(self, tenant_id: str, job_id: str) -> dict[str, Any]:
        return _to_attributes({"tenantId": tenant_id, "jobSort": job_sort_key(job_id)})

    def create(self, record: JobRecord) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_attributes(record.to_item()),
                ConditionExpression="attribute_not_exists(jobSort)",
            )
        except ClientError as error:
            if _condition_failed(error):
                raise JobAlreadyExists("job already exists", job=record.pointer) from None
            raise

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._key(tenant_id, job_id), ConsistentRead=True
        ).get("Item")
        return _record(item) if item else None

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        saved = record.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_attributes(saved.to_item()),
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues=_to_attributes({":expected": expected_version}),
            )
        except ClientError as error:
            if _condition_failed(error):
                raise ConcurrentUpdate(f"job {record.job_id} changed meanwhile") from None
            raise
        return saved

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
            "ExpressionAttributeValues": _to_attributes(values),
            "ScanIndexForward": False,
            "Limit": query.limit,
        }
        if filters:
            arguments["FilterExpression"] = " AND ".join(filters)
        if query.cursor is not None:
            if query.cursor.get("tenantId") != {"S": tenant_id}:
                raise ValidationFailed("nextToken belongs to another listing", field="nextToken")
            arguments["ExclusiveStartKey"] = dict(query.cursor)
        try:
            response = self._client.query(**arguments)
        except ClientError as error:
            if query.cursor is not None and _code(error) == "ValidationException":
                raise ValidationFailed("nextToken is not valid", field="nextToken") from None
            raise
        records = [_record(item) for item in response.get("Items", [])]
        return JobPage(records, response.get("LastEvaluatedKey"))
