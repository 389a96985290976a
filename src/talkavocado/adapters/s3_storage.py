"""S3 storage, with the same canonical keys as the local backend.

Conditional writes use S3's own preconditions (``If-None-Match: *`` to create
only, ``If-Match: <etag>`` to replace one version), so manifest writes stay
atomic and a concurrent update is refused, never lost."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from talkavocado.adapters.upload_policy import content_type_condition
from talkavocado.domain.keys import JobKeys
from talkavocado.errors import ConcurrentUpdate, DependencyUnavailable, StorageObjectMissing
from talkavocado.ports import StoredObject, UploadTarget

_CHUNK = 1024 * 1024
_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Storage:
    def __init__(self, bucket: str, client: Any | None = None) -> None:
        self._bucket = bucket
        self._client = client or boto3.client("s3")

    def get(self, job: JobKeys, key: str) -> StoredObject:
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=job.check(key))
        except ClientError as error:
            raise self._translate(error, key) from None
        return StoredObject(data=response["Body"].read(), version=response["ETag"])

    def put(
        self,
        job: JobKeys,
        key: str,
        data: bytes,
        *,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> str:
        conditions: dict[str, str] = {}
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        if if_match is not None:
            conditions["IfMatch"] = if_match
        try:
            response = self._client.put_object(
                Bucket=self._bucket, Key=job.check(key), Body=data, **conditions
            )
        except ClientError as error:
            raise self._translate(error, key) from None
        etag: str = response["ETag"]
        return etag

    def exists(self, job: JobKeys, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self._bucket, Key=job.check(key))
        except ClientError as error:
            if _code(error) in _MISSING:
                return False
            raise self._translate(error, key) from None
        return True

    def stored_version(self, job: JobKeys, key: str) -> str:
        try:
            head = self._client.head_object(Bucket=self._bucket, Key=job.check(key))
        except ClientError as error:
            raise self._translate(error, key) from None
        # A bucket without versioning has no version ids: the ETag then names the content.
        version: str = head.get("VersionId") or head["ETag"]
        return version

    def fetch(self, job: JobKeys, key: str, into: Path, version: str | None = None) -> Path:
        target = into / Path(key).name
        try:
            if version is not None and version.startswith('"'):  # an ETag: no versioning
                response = self._client.get_object(
                    Bucket=self._bucket, Key=job.check(key), IfMatch=version
                )
                with target.open("wb") as out:
                    shutil.copyfileobj(response["Body"], out, _CHUNK)
            else:
                pinned = {"VersionId": version} if version else None
                self._client.download_file(
                    self._bucket, job.check(key), str(target), ExtraArgs=pinned
                )
        except ClientError as error:
            if version is not None and _code(error) in _PRECONDITION:
                raise StorageObjectMissing(f"{key} was replaced after the job started") from None
            raise self._translate(error, key) from None
        return target

    def upload(self, job: JobKeys, key: str, source: Path) -> None:
        self._client.upload_file(str(source), self._bucket, job.check(key))

    def upload_target(
        self, job: JobKeys, key: str, content_type: str | None, max_bytes: int, expires_in: int
    ) -> UploadTarget:
        post = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=job.check(key),
            Fields={"Content-Type": content_type} if content_type else {},
            Conditions=[
                content_type_condition(content_type),
                ["content-length-range", 1, max_bytes],
            ],
            ExpiresIn=expires_in,
        )
        return UploadTarget(post["url"], "POST", dict(post["fields"]), expires_in)

    def download_url(self, job: JobKeys, key: str, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": job.check(key)},
            ExpiresIn=expires_in,
        )
        return url

    def download_origin(self) -> str:
        """Signed locally, as every presigned URL is: no request is made."""
        split = urlsplit(
            self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self._bucket, "Key": "origin"}, ExpiresIn=1
            )
        )
        return f"{split.scheme}://{split.netloc}"

    @staticmethod
    def _translate(error: ClientError, key: str) -> Exception:
        code = _code(error)
        if code in _MISSING:
            return StorageObjectMissing(f"{key} does not exist", key=key)
        if code in _PRECONDITION:
            return ConcurrentUpdate(f"{key} changed meanwhile", key=key)
        return DependencyUnavailable(f"S3 refused {key}: {code}")
