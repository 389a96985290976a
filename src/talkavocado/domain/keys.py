"""Identifiers and storage keys: the one place where keys are built and checked.

Every key has the shape ``{env}/{tenantId}/{jobId}/...``. Other modules never
format a key themselves; they ask a :class:`JobKeys`.
"""

from __future__ import annotations

import posixpath
import re
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from talkavocado.errors import InvalidKey, ValidationFailed

Env = Literal["dev", "stage", "prod", "test"]
ENVS: tuple[str, ...] = get_args(Env)

TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$"
JOB_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_TENANT_RE = re.compile(TENANT_ID_PATTERN)
_JOB_RE = re.compile(JOB_ID_PATTERN)
_UNSAFE_FILENAME_CHARS = re.compile(r"[^A-Za-z0-9._-]+")
MAX_FILENAME_LENGTH = 255


def parse_env(value: str | None) -> Env:
    """Return the deployment env; an unknown value is an error, never silently dev."""
    env = "dev" if value is None or value == "" else value
    if env not in ENVS:
        raise ValidationFailed(
            f"TALKAVOCADO_ENV must be one of {', '.join(ENVS)}; got {value!r}",
            field="TALKAVOCADO_ENV",
        )
    return env  # type: ignore[return-value]


def parse_tenant_id(value: object) -> str:
    if not isinstance(value, str) or not _TENANT_RE.fullmatch(value):
        raise ValidationFailed(
            "tenantId must be 1-64 lowercase letters, digits, '-' or '_', "
            "starting and ending with a letter or digit",
            field="tenantId",
        )
    return value


def parse_job_id(value: object) -> str:
    """Accept only the canonical lowercase UUID form, so one job has one key."""
    if not isinstance(value, str) or not _JOB_RE.fullmatch(value):
        raise ValidationFailed("jobId must be a canonical lowercase UUID", field="jobId")
    return value


def new_job_id() -> str:
    return str(uuid.uuid4())


def safe_filename(value: str) -> str:
    """Reduce a client-supplied filename to a safe base name (no directories,
    no control or shell characters, no leading dot)."""
    normalized = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    base = normalized.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_FILENAME_CHARS.sub("_", base).lstrip("._")
    if len(base) > MAX_FILENAME_LENGTH:
        stem, ext = posixpath.splitext(base)
        ext = ext if len(ext) <= 16 else ""
        base = stem[: MAX_FILENAME_LENGTH - len(ext)] + ext
    if not base.strip("_"):
        raise ValidationFailed(
            "originalFilename has no usable characters", field="input.originalFilename"
        )
    return base


class Writer(Protocol):
    """A pipeline step, as far as its keys go (domain/pipeline.py)."""

    @property
    def writes(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class JobKeys:
    """The storage keys of one job. Construction validates every part."""

    env: Env
    tenant_id: str
    job_id: str

    def __post_init__(self) -> None:
        parse_env(self.env)
        parse_tenant_id(self.tenant_id)
        parse_job_id(self.job_id)

    @classmethod
    def owning(cls, key: str) -> JobKeys:
        """The job a storage key belongs to; ``InvalidKey`` for a key that
        names no job or leaves its prefix."""
        try:
            env, tenant_id, job_id, *_ = key.split("/")
            keys = cls(env, tenant_id, job_id)  # type: ignore[arg-type]
        except (ValueError, ValidationFailed):
            raise InvalidKey(f"key {key[:300]!r} names no job") from None
        keys.check(key)
        return keys

    @property
    def prefix(self) -> str:
        return f"{self.env}/{self.tenant_id}/{self.job_id}/"

    @property
    def manifest(self) -> str:
        return self.prefix + "manifest.json"

    @property
    def input(self) -> str:
        """The stored input, under a name the service chooses: the client's
        filename is metadata only, never part of a path or an ffmpeg argument
        (no extension for ffmpeg to guess a playlist or script format from)."""
        return self.prefix + "input/source"

    @property
    def audio(self) -> str:
        return self.prefix + f"audio/{self.job_id}.mp3"

    @property
    def peaks(self) -> str:
        """The waveform of the extracted audio (media/peaks.py)."""
        return self.prefix + "audio/peaks.json"

    @property
    def audio_pcm(self) -> str:
        """The same audio as the recogniser reads it: 16 kHz mono 16-bit PCM
        in a WAV file (the transcription step needs no decoder)."""
        return self.prefix + f"audio/{self.job_id}.wav"

    @property
    def transcript_json(self) -> str:
        return self.prefix + "transcripts/transcript.json"

    @property
    def captions_srt(self) -> str:
        return self.prefix + "transcripts/captions.source.srt"

    @property
    def cut_captions_srt(self) -> str:
        return self.prefix + "captions/captions.srt"

    @property
    def cut_captions_vtt(self) -> str:
        return self.prefix + "captions/captions.vtt"

    @property
    def cut_transcript(self) -> str:
        """The transcript of the cut video, on its timeline."""
        return self.prefix + "captions/transcript.json"

    @property
    def cut_plan(self) -> str:
        return self.prefix + "plan/cut_plan.json"

    def edited_plan(self, version: int, edit_id: str) -> str:
        """An edit of the plan (version 2 and on), kept beside the planner's
        own; ``edit_id`` makes each edit's key its own, so that an edit a
        crash left unrecorded is never taken for a later one."""
        if version < 2 or not re.fullmatch(r"[0-9a-f]{1,32}", edit_id):
            raise ValidationFailed("an edited plan has version 2 or more and a hex id")
        return self.prefix + f"plan/cut_plan.v{version}-{edit_id}.json"

    @property
    def base_cuts_render(self) -> str:
        return self.prefix + "renders/base_cuts.mp4"

    @property
    def preview_render(self) -> str:
        return self.prefix + "renders/preview.mp4"

    def outputs_of(self, step: Writer) -> list[str]:
        """What a pipeline step always writes (its declared ``writes``: key
        properties of this class, or paths under the prefix), which a later
        run may reuse."""
        return [
            self.check(self.prefix + name) if "/" in name else getattr(self, name)
            for name in step.writes
        ]

    def check(self, key: str) -> str:
        """Return ``key`` if it is a normalised key strictly inside this job's
        prefix; raise :class:`InvalidKey` otherwise (``..``, ``//``, absolute,
        another job or tenant)."""
        if (
            not isinstance(key, str)
            or "\\" in key
            or "\x00" in key
            or posixpath.normpath(key) != key
            or not key.startswith(self.prefix)
            or key == self.prefix
        ):
            raise InvalidKey(f"key {key!r} is outside job prefix {self.prefix!r}")
        return key
