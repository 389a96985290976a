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
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.jobs import JobRecord, job_sort_key

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


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

    def list_jobs(
        self, tenant_id: str, *, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        values = {":tenant": tenant_id}
        if status is None:
            index, condition = BY_CREATED_AT_INDEX, "tenantId = :tenant"
        else:
            index = BY_STATUS_INDEX
            condition = "tenantId = :tenant AND begins_with(statusSort, :status)"
            values[":status"] = f"{status}#"
        response = self._client.query(
            TableName=self._table,
            IndexName=index,
            KeyConditionExpression=condition,
            ExpressionAttributeValues=_to_attributes(values),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_record(item) for item in response.get("Items", [])]
