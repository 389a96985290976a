"""The jobs table: partition ``tenantId``, sort ``jobSort`` (``JOB#{jobId}``).

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks).
"""

from __future__ import annotations

from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from talkavocado.clock import now_iso
from talkavocado.errors import ConcurrentUpdate, JobAlreadyExists
from talkavocado.jobs import JobRecord, job_sort_key

BY_STATUS_INDEX = "byStatus"
BY_CREATED_AT_INDEX = "byCreatedAt"


def _condition_failed(error: ClientError) -> bool:
    return bool(error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


class DynamoJobRepository:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def create(self, record: JobRecord) -> None:
        try:
            self._table.put_item(
                Item=record.to_item(), ConditionExpression="attribute_not_exists(jobSort)"
            )
        except ClientError as error:
            if _condition_failed(error):
                raise JobAlreadyExists("job already exists", job=record.pointer) from None
            raise

    def get(self, tenant_id: str, job_id: str) -> JobRecord | None:
        item = self._table.get_item(
            Key={"tenantId": tenant_id, "jobSort": job_sort_key(job_id)}, ConsistentRead=True
        ).get("Item")
        return JobRecord.model_validate(item) if item else None

    def save(self, record: JobRecord, *, expected_version: int) -> JobRecord:
        saved = record.model_copy(update={"version": expected_version + 1, "updated_at": now_iso()})
        try:
            self._table.put_item(
                Item=saved.to_item(),
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":expected": expected_version},
            )
        except ClientError as error:
            if _condition_failed(error):
                raise ConcurrentUpdate(f"job {record.job_id} changed meanwhile") from None
            raise
        return saved

    def list_jobs(
        self, tenant_id: str, *, status: str | None = None, limit: int = 50
    ) -> list[JobRecord]:
        if status is None:
            index, condition = BY_CREATED_AT_INDEX, Key("tenantId").eq(tenant_id)
        else:
            index = BY_STATUS_INDEX
            condition = Key("tenantId").eq(tenant_id) & Key("statusSort").begins_with(f"{status}#")
        response = self._table.query(
            IndexName=index, KeyConditionExpression=condition, ScanIndexForward=False, Limit=limit
        )
        return [JobRecord.model_validate(item) for item in response.get("Items", [])]
