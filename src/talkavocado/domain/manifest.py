"""The job manifest: one pydantic model, the JSON Schema file generated from it,
and the versioned read-modify-write every writer goes through.

``schemas/manifest.schema.json`` is generated from :class:`Manifest`
(``talkavocado schema``); a test fails when the two drift apart. Every write is
validated against the schema file, and every write is a compare-and-swap on
the stored object's version, so a concurrent update is retried, never lost.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from talkavocado.domain.keys import JOB_ID_PATTERN, TENANT_ID_PATTERN, Env, JobKeys
from talkavocado.support import schema_files
from talkavocado.support.camel import CamelModel
from talkavocado.support.clock import TIMESTAMP_PATTERN, now_iso

# 1.1.0 (additive; every 1.0.0 document is valid): renders[].codec may be
# "aac" (the audio-only render of an audio-only input); transcript.confidence
# is optional (absent when the engine reports no confidence).
# 1.2.0 (additive): audio.peaksKey, the waveform's peaks (audiowaveform's JSON).
# 1.3.0 (additive): status may be "awaiting-review" (a job whose plan waits
# for its review); ``video`` (the source's picture: frame rate and size);
# plan.version and plan.editedKey (the plan a review or an edit made).
# 1.4.0 (additive): captions, the cut video's SRT and WebVTT captions and its
# transcript, written by the render; audio.pcmKey, the 16 kHz mono 16-bit
# PCM (a WAV file) the recogniser reads.
SCHEMA_VERSION: Literal["1.4.0"] = "1.4.0"
SchemaVersion = Literal["1.0.0", "1.1.0", "1.2.0", "1.3.0", "1.4.0"]
SCHEMA_FILE = "manifest.schema.json"
MIME_PATTERN = r"^(video|audio)/[a-z0-9][a-z0-9.+-]*$"

JobStatus = Literal["pending", "processing", "awaiting-review", "completed", "failed", "cancelled"]
Timestamp = Annotated[str, Field(pattern=TIMESTAMP_PATTERN)]
Key = Annotated[str, Field(min_length=1, max_length=1024)]


class InputSection(CamelModel):
    source_key: Key
    original_filename: Annotated[str, Field(min_length=1, max_length=255)]
    bytes: Annotated[int, Field(ge=0)]
    mime_type: Annotated[str, Field(pattern=MIME_PATTERN)]
    checksum: str | None = None
    uploaded_at: Timestamp | None = None


class AudioSection(CamelModel):
    key: Key
    codec: Literal["mp3", "wav", "aac"]
    duration_sec: Annotated[float, Field(ge=0)]
    bitrate_kbps: Annotated[float, Field(ge=0)]
    sample_rate: Literal[16000, 22050, 44100, 48000]
    extracted_at: Timestamp
    # Absent for audio extracted before peaks were (schema 1.1.0).
    peaks_key: Key | None = None
    # The same audio as 16 kHz mono 16-bit PCM (WAV), which transcription
    # reads without a decoder. Absent in manifests before 1.4.0.
    pcm_key: Key | None = None


class VideoSection(CamelModel):
    """The source's picture, as the audio extraction probed it: the frame
    grid the render cuts on, which plans and exports are snapped to."""

    frame_rate: Annotated[float, Field(gt=0, le=1000)]
    width: Annotated[int, Field(ge=1)] | None = None
    height: Annotated[int, Field(ge=1)] | None = None


class TranscriptSection(CamelModel):
    json_key: Key
    srt_key: Key
    language: Annotated[str, Field(min_length=2, max_length=16)]
    model: Annotated[str, Field(min_length=1, max_length=128)]
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    transcribed_at: Timestamp


class PlanSection(CamelModel):
    key: Key
    schema_version: str
    algorithm: str
    total_cuts: Annotated[int, Field(ge=0)]
    planned_at: Timestamp
    # The plan the render reads: 1 the planner's own (``key``), above 1 an
    # edit (``editedKey``); the planner's stays beside it.
    version: Annotated[int, Field(ge=1)] | None = None
    edited_key: Key | None = None


class RenderEntry(CamelModel):
    key: Key
    type: Literal["preview", "final", "thumbnail"]
    codec: Literal["h264", "h265", "vp9", "aac"]
    duration_sec: Annotated[float, Field(ge=0)] | None = None
    resolution: Annotated[str, Field(pattern=r"^\d{1,5}x\d{1,5}$")] | None = None
    notes: str | None = None
    rendered_at: Timestamp | None = None


class SubtitleEntry(CamelModel):
    key: Key
    format: Literal["srt", "vtt"]
    language: str | None = None
    created_at: Timestamp | None = None


class CaptionsSection(CamelModel):
    """The cut video's captions, on the render's timeline."""

    srt_key: Key
    vtt_key: Key
    transcript_key: Key
    language: Annotated[str, Field(min_length=2, max_length=16)]
    cues: Annotated[int, Field(ge=0)]
    created_at: Timestamp


class LogEntry(CamelModel):
    type: Literal["pipeline", "error", "debug"]
    created_at: Timestamp
    key: Key | None = None
    step: str | None = None
    message: Annotated[str, Field(max_length=2000)] | None = None


class Metadata(CamelModel):
    client_version: str | None = None
    processing_time_ms: Annotated[int, Field(ge=0)] | None = None
    tags: list[str] = Field(default_factory=list)


class Manifest(CamelModel):
    """Manifest schema (see README, "Manifest"); SCHEMA_VERSION says which."""

    model_config = ConfigDict(title="TalkAvocado job manifest")

    schema_version: SchemaVersion = SCHEMA_VERSION
    env: Env
    tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    job_id: Annotated[str, Field(pattern=JOB_ID_PATTERN)]
    created_at: Timestamp
    updated_at: Timestamp
    status: JobStatus
    correlation_id: Annotated[str, Field(max_length=128)] | None = None
    source_video_key: Key | None = None
    input: InputSection | None = None
    audio: AudioSection | None = None
    video: VideoSection | None = None
    transcript: TranscriptSection | None = None
    plan: PlanSection | None = None
    renders: list[RenderEntry] = Field(default_factory=list)
    subtitles: list[SubtitleEntry] = Field(default_factory=list)
    captions: CaptionsSection | None = None
    logs: list[LogEntry] = Field(default_factory=list)
    metadata: Metadata | None = None

    @classmethod
    def for_job(
        cls,
        keys: JobKeys,
        *,
        status: JobStatus = "pending",
        now: str | None = None,
        **fields: Any,
    ) -> Manifest:
        """A new manifest of the job that ``keys`` names."""
        created = now or now_iso()
        return cls(
            env=keys.env,
            tenant_id=keys.tenant_id,
            job_id=keys.job_id,
            created_at=created,
            updated_at=created,
            status=status,
            **fields,
        )

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def put_log(self, entry: LogEntry) -> None:
        """Add ``entry``, replacing an earlier one of the same type and step,
        so that a step that runs again leaves no duplicate entries."""
        self.logs = [
            log for log in self.logs if (log.type, log.step) != (entry.type, entry.step)
        ] + [entry]


def generate_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`Manifest`, as shipped in ``schemas/``."""
    return schema_files.generate(Manifest, "manifest", SCHEMA_VERSION, ["schemaVersion"])


def validate_document(document: dict[str, Any]) -> None:
    """Validate a manifest document against the shipped JSON Schema file."""
    schema_files.validate(document, SCHEMA_FILE, "manifest")


def encode(manifest: Manifest) -> bytes:
    document = manifest.to_document()
    validate_document(document)
    return json.dumps(document, indent=2, sort_keys=True).encode()


def decode(data: bytes) -> Manifest:
    return Manifest.model_validate_json(data)
