"""The jobs table: partition ``tenantId``, sort ``jobSort`` (``JOB#{jobId}``).

Every read is keyed by tenant, so no query can reach another tenant's items.
Index names must match template.yaml (a test checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from talkavocado.clock import now_iso
from talkavocado.errors import InvalidTransition, JobAlreadyExists
from talkavocado.jobs import JobRecord, job_sort_key, status_sort_key

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

    def update(
        self,
        record: JobRecord,
        *,
        expected_statuses: Sequence[str] | None,
        changes: dict[str, Any],
    ) -> JobRecord:
        now = now_iso()
        values: dict[str, Any] = {":now": now, ":one": 1}
        names: dict[str, str] = {"#updatedAt": "updatedAt", "#version": "version"}
        sets = ["#updatedAt = :now", "#version = #version + :one"]
        for index, (name, value) in enumerate(changes.items()):
            names[f"#c{index}"] = name
            values[f":c{index}"] = value
            sets.append(f"#c{index} = :c{index}")
        if "status" in changes:
            names["#statusSort"] = "statusSort"
            values[":statusSort"] = status_sort_key(
                changes["status"], record.created_at, record.job_id
            )
            sets.append("#statusSort = :statusSort")
        condition = "attribute_exists(jobSort)"
        if expected_statuses is not None:
            names["#status"] = "status"
            placeholders = []
            for index, status in enumerate(expected_statuses):
                values[f":s{index}"] = status
                placeholders.append(f":s{index}")
            condition += f" AND #status IN ({', '.join(placeholders)})"
        try:
            response = self._table.update_item(
                Key={"tenantId": record.tenant_id, "jobSort": record.job_sort},
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _condition_failed(error):
                raise InvalidTransition(
                    f"job {record.job_id} is not in {expected_statuses}", job=record.pointer
                ) from None
            raise
        return JobRecord.model_validate(response["Attributes"])

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
