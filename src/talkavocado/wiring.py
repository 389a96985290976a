"""Builds the domain services from settings, once per process (cold start).
The only module that chooses adapters."""

from __future__ import annotations

from functools import cache

from talkavocado.adapters.dynamodb_jobs import DynamoJobRepository
from talkavocado.adapters.eventbridge import EventBridgePublisher
from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.config import Settings
from talkavocado.job_service import JobService
from talkavocado.manifest import ManifestStore


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def job_service() -> JobService:
    config = settings()
    return JobService(
        config,
        DynamoJobRepository(config.jobs_table),
        ManifestStore(LocalStorage(config.storage_path)),
        EventBridgePublisher(config.event_bus),
    )


def reset() -> None:
    """Forget built services, e.g. after the environment changed (tests)."""
    settings.cache_clear()
    job_service.cache_clear()
