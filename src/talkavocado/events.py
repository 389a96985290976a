"""Pipeline events. The EventBridge detail-type is the class name; the detail
carries the full job context so that no consumer depends on earlier state."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from talkavocado.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, Env

EVENT_SOURCE = "talkavocado.pipeline"
DETAIL_VERSION = 1


class PipelineEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)

    detail_type: ClassVar[str]

    detail_version: int = DETAIL_VERSION
    env: Env
    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    job_id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    correlation_id: str
    run: Annotated[int, Field(ge=1)] = 1
    manifest_key: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.detail_type = cls.__name__

    def detail_json(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)


class JobCreated(PipelineEvent):
    source_key: str | None = None
