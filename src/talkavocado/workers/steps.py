"""The body of each pipeline step: the real media work.

Each body reads its inputs through the storage port, works in a private
temporary directory, uploads finished files (atomically) and returns how the
manifest records them. A body that cannot do its work raises ``StepFailed``
with a type from the taxonomy and a message a user understands; it never
writes a placeholder.
"""

from __future__ import annotations

import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from talkavocado.domain.manifest import (
    AudioSection,
    CaptionsSection,
    Manifest,
    PlanSection,
    RenderEntry,
    SubtitleEntry,
    TranscriptSection,
    VideoSection,
)
from talkavocado.domain.pipeline import FINALIZER
from talkavocado.errors import ErrorType, StepFailed, StorageObjectMissing
from talkavocado.media import captions
from talkavocado.media.commands import (
    AUDIO_BITRATE_KBPS,
    AUDIO_SAMPLE_RATE,
    PREVIEW_MAX_HEIGHT,
    align_to_frames,
    audio_extraction_args,
    cut_render_args,
    preview_args,
)
from talkavocado.media.info import MediaInfo
from talkavocado.media.limits import (
    PictureLimits,
    decode_cap_seconds,
    decoded_past_limit,
    input_limit_minutes,
)
from talkavocado.media.peaks import PEAKS_SAMPLE_RATE, PeaksBuilder, samples_per_pixel
from talkavocado.media.peaks import to_json as peaks_json
from talkavocado.media.planner import (
    PLAN_SCHEMA_VERSION,
    QUIET_POINT_SECONDS,
    CutPlan,
    PlannerParameters,
    Ties,
    plan_cuts,
    real_word_there,
    short_sounds,
    sounds_of,
)
from talkavocado.media.transcript import Transcript, to_srt
from talkavocado.ports import FillerSpotter, MediaTool, TranscriptionEngine
from talkavocado.support.clock import now_iso
from talkavocado.support.observability import logger
from talkavocado.workers.context import StepBody, StepContext, StepOutcome

MAX_DRIFT_SECONDS = 0.05
AAC_FRAME_SAMPLES = 1024
# Less audio and picture than this share of the container's stated duration:
# a cut-off file.
TRUNCATION_RATIO = 0.95
# Without a Lambda deadline (the local runtime), no ffmpeg run may take longer.
LOCAL_TIME_LIMIT = 3600.0
DEADLINE_MARGIN = 5.0
# What the planner keeps for the rest of its work (reading the audio to its
# end, the plan, its upload) when it cuts its second look short.
SECOND_LOOK_RESERVE = 30.0
PCM_CHUNK = 64 * 1024


def _time_left(context: StepContext) -> float:
    remaining = context.remaining_seconds()
    budget = min(remaining, LOCAL_TIME_LIMIT) - DEADLINE_MARGIN
    if budget <= 0:
        raise StepFailed(ErrorType.TIMEOUT, "not enough time left in this invocation")
    return budget


def _fetch(context: StepContext, key: str | None, what: str, version: str | None = None) -> Path:
    if key is None:
        raise StepFailed(ErrorType.INPUT_MISSING, f"the job has no {what}")
    try:
        return context.storage.fetch(context.keys, key, context.scratch, version)
    except StorageObjectMissing as missing:
        raise StepFailed(ErrorType.INPUT_MISSING, f"the {what}: {missing.message}") from None


def _source(context: StepContext) -> Path:
    """The input as it was stored when the job started."""
    return _fetch(
        context,
        context.manifest.source_video_key,
        "input video (upload it to the job's upload target)",
        context.job.source_version,
    )


def _pcm_of(wav: Path, sample_rate: int) -> Iterator[bytes]:
    """The 16-bit mono samples of the WAV file that audio extraction wrote,
    in chunks; its header is checked before the recogniser starts: one at
    another rate or layout is not the recogniser's input."""
    again = "extract the audio again (retry the job)"
    try:
        with wave.open(str(wav), "rb") as reader:
            layout = (reader.getnchannels(), reader.getsampwidth(), reader.getframerate())
    except (wave.Error, EOFError) as error:
        raise StepFailed(
            ErrorType.INPUT_MISSING, f"the extracted PCM is not a WAV file ({error}): {again}"
        ) from None
    if layout != (1, 2, sample_rate):
        raise StepFailed(
            ErrorType.INPUT_MISSING,
            f"the extracted PCM is {layout[0]} channel(s) of {8 * layout[1]}-bit samples at "
            f"{layout[2]} Hz, not mono 16-bit at {sample_rate} Hz: {again}",
        )

    def chunks() -> Iterator[bytes]:
        with wave.open(str(wav), "rb") as reader:
            while chunk := reader.readframes(PCM_CHUNK // 2):
                yield chunk

    return chunks()


@dataclass(frozen=True)
class StepSettings:
    """What the media steps are configured by (the composition root reads them)."""

    max_input_minutes: int
    pictures: PictureLimits
    planner: PlannerParameters


class MediaSteps:
    def __init__(
        self,
        settings: StepSettings,
        media: MediaTool,
        engine: Callable[[], TranscriptionEngine],
        spotter: Callable[[], FillerSpotter] | None = None,
    ) -> None:
        """``media`` does the work on files; ``engine`` gives the recogniser
        the composition root chose, loaded only by the step that transcribes
        (a cold start's cost), then reused; ``spotter`` the planner's second
        look at short sounds (none: no second look)."""
        self._settings = settings
        self._media = media
        self._engine = engine
        self._spotter = spotter

    @property
    def engine(self) -> TranscriptionEngine:
        return self._engine()

    def bodies(self) -> dict[str, StepBody]:
        return {
            "audio-extraction": self.extract_audio,
            "transcription": self.transcribe,
            "smart-cut-planner": self.plan,
            "video-render": self.render,
            FINALIZER.name: finalize,
        }

    def _probe(self, context: StepContext, source: Path) -> MediaInfo:
        """The source's streams, a picture over the limits not decoded."""
        return self._media.probe(
            source, _time_left(context), self._settings.pictures.decoder_ceiling
        )

    def _admit(self, info: MediaInfo) -> float:
        """The input's length limit in minutes at its picture size, once its
        picture is known to be one the render takes (README, "Input length
        limit" and "Picture limits"): more pixels a frame or a second would
        outgrow the render's memory or timeout."""
        if info.has_video:
            refusal = self._settings.pictures.refusal(info.width, info.height, info.fps)
            if refusal is not None:
                raise StepFailed(ErrorType.PICTURE_TOO_LARGE, refusal)
        return input_limit_minutes(
            self._settings.max_input_minutes, info.width, info.height, info.fps
        )

    def extract_audio(self, context: StepContext) -> StepOutcome:
        source = _source(context)
        info = self._probe(context, source)
        if not info.has_audio:
            raise StepFailed(
                ErrorType.CODEC_UNSUPPORTED, "the file has no audio track: there is nothing to cut"
            )
        limit = self._admit(info)
        if info.duration > limit * 60:
            # Longer inputs would outlast the later steps' Lambda timeouts (README).
            raise _too_long(f"the input lasts {info.duration / 60:.1f} minutes", limit, info)
        audio = context.scratch / f"{context.keys.job_id}.mp3"
        pcm = context.scratch / f"{context.keys.job_id}.wav"
        # The stated duration is the container's word: the extraction stops
        # a little past the limit whatever it said, and sound that reaches
        # that far is too long (timestamps that restart, gaps filled with
        # silence).
        report = self._media.run(
            audio_extraction_args(source, audio, pcm, decode_cap_seconds(limit)),
            _time_left(context),
        )
        extracted = self._media.reported_duration(report)
        if decoded_past_limit(extracted, limit):
            raise _too_long(
                f"the input's sound goes on past {limit:.1f} minutes (its container "
                f"states {info.duration / 60:.1f})",
                limit,
                info,
            )
        declared = info.duration * TRUNCATION_RATIO - 0.5
        # Sound that ends before the picture does is not damage: the picture
        # must come short of the stated duration too.
        if extracted < declared and not (
            info.has_video
            and self._media.stream_duration(source, "v", None, _time_left(context)) >= declared
        ):
            raise StepFailed(
                ErrorType.CODEC_UNSUPPORTED,
                f"the file is truncated or damaged: only {extracted:.1f} s of its "
                f"{info.duration:.1f} s could be read",
            )
        context.storage.upload(context.keys, context.keys.audio, audio)
        context.storage.upload(context.keys, context.keys.audio_pcm, pcm)
        context.storage.put(context.keys, context.keys.peaks, self._peaks(audio, extracted))
        section = AudioSection(
            key=context.keys.audio,
            codec="mp3",
            duration_sec=round(extracted, 3),
            bitrate_kbps=AUDIO_BITRATE_KBPS,
            sample_rate=AUDIO_SAMPLE_RATE,
            extracted_at=now_iso(),
            peaks_key=context.keys.peaks,
            pcm_key=context.keys.audio_pcm,
        )

        # The frame grid the render cuts on: plans and exports are shown on it.
        video = (
            VideoSection(frame_rate=info.fps, width=info.width, height=info.height)
            if info.has_video and info.fps
            else None
        )

        def record(manifest: Manifest) -> None:
            manifest.audio = section
            manifest.video = video

        summary = f"{section.duration_sec:.1f} s of {info.audio_codec} audio"
        return StepOutcome("completed", summary, record)

    def transcribe(self, context: StepContext) -> StepOutcome:
        # The PCM that audio extraction wrote beside the MP3: this step runs
        # no decoder (its Lambda package holds no ffmpeg). A job whose PCM is
        # gone (or was extracted before it was written) fails here, and a
        # retry starts again at audio extraction (JobKeys.outputs_of).
        audio = _fetch(
            context, context.keys.audio_pcm, "extracted audio (16 kHz PCM for the recogniser)"
        )
        engine = self.engine
        segments = engine.transcribe(_pcm_of(audio, engine.sample_rate))
        duration = context.manifest.audio.duration_sec if context.manifest.audio else 0.0
        transcript = Transcript(
            language=engine.language,
            engine=engine.name,
            model=engine.model,
            duration=duration,
            segments=segments,
        )
        keys = context.keys
        context.storage.put(keys, keys.transcript_json, transcript.to_json())
        context.storage.put(keys, keys.captions_srt, to_srt(segments).encode())
        section = TranscriptSection(
            json_key=keys.transcript_json,
            srt_key=keys.captions_srt,
            language=engine.language,
            model=f"{engine.name}:{engine.model}",
            confidence=transcript.confidence,
            transcribed_at=now_iso(),
        )
        captions = SubtitleEntry(key=keys.captions_srt, format="srt", language=engine.language)

        def record(manifest: Manifest) -> None:
            manifest.transcript = section
            manifest.subtitles = [captions]

        words = sum(len(segment.words) for segment in segments)
        return StepOutcome("completed", f"{words} words in {len(segments)} segments", record)

    def plan(self, context: StepContext) -> StepOutcome:
        # The lossless 16 kHz PCM the recogniser heard, not the MP3: the
        # second look tells a lone "erm" from a word by a few formants.
        audio = _fetch(
            context, context.keys.audio_pcm, "extracted audio (16 kHz PCM for the recogniser)"
        )
        try:
            document = context.storage.get(context.keys, context.keys.transcript_json).data
        except StorageObjectMissing:
            raise StepFailed(ErrorType.INPUT_MISSING, "the transcript is missing") from None
        transcript = Transcript.model_validate_json(document)
        # The deployment's defaults, with what the job asked for instead.
        settings = context.job.settings
        parameters = (
            settings.parameters(self._settings.planner) if settings else self._settings.planner
        )
        if context.manifest.audio is None:
            raise StepFailed(ErrorType.INPUT_MISSING, "the extracted audio is not recorded")
        duration = context.manifest.audio.duration_sec
        # Short quiet stretches too: a filler's cut reaches into the ones beside it.
        quiet = self._media.silences(
            audio,
            parameters.silence_threshold_db,
            min(parameters.min_pause, QUIET_POINT_SECONDS),
            _time_left(context),
        )
        words = list(transcript.words())
        looked: list[tuple[float, float, str]] = []
        if parameters.fillers:  # none asked for: no filler is cut, spotted or heard
            # A sound in which the transcript holds a real word is never a
            # filler: it needs no second look.
            ties = Ties(words, sounds_of(duration, quiet))
            sounds = [
                sound
                for sound in short_sounds(duration, quiet)
                if real_word_there(sound, ties, parameters.fillers) is None
            ]
            looked = self._second_look(audio, sounds, context.remaining_seconds)
        plan = plan_cuts(duration, quiet, words, parameters, looked)
        if plan.kept_duration <= 0:
            raise StepFailed(
                ErrorType.VALIDATION_FAILED, "no speech found: everything would be cut"
            )
        context.storage.put(context.keys, context.keys.cut_plan, plan.to_json())
        section = PlanSection(
            key=context.keys.cut_plan,
            schema_version=PLAN_SCHEMA_VERSION,
            algorithm=plan.algorithm,
            total_cuts=plan.total_cuts,
            planned_at=now_iso(),
            version=1,
        )

        def record(manifest: Manifest) -> None:
            manifest.plan = section  # a new plan: an earlier edit no longer applies

        summary = f"{plan.total_cuts} cuts removing {plan.cut_duration:.1f} s of {duration:.1f} s"
        return StepOutcome("completed", summary, record)

    def _second_look(
        self, audio: Path, sounds: list[tuple[float, float]], remaining: Callable[[], float]
    ) -> list[tuple[float, float, str]]:
        """The fillers the spotter finds in ``sounds`` (sorted, apart), each
        heard with a little of the quiet around it. Optional work: a recording
        of thousands of clicks must not time the step out, so once less than
        SECOND_LOOK_RESERVE seconds are left the sounds not yet looked at are
        kept, as sounds the look found no filler in are."""
        if self._spotter is None or not sounds:
            return []
        spotter = self._spotter()
        margin = 0.08  # the spotter hears it trimmed as well

        def byte_at(seconds: float) -> int:  # 16-bit samples
            return max(0, round(seconds * spotter.sample_rate)) * 2

        found = []
        with self._media.pcm_stream(audio, spotter.sample_rate) as pcm:
            position = 0
            for looked, (start, end) in enumerate(sounds):
                if remaining() < SECOND_LOOK_RESERVE:
                    logger.warning(
                        "second look cut short", extra={"looked": looked, "sounds": len(sounds)}
                    )
                    break
                first, last = byte_at(start - margin), byte_at(end + margin)
                position += _skip(pcm, first - position)
                clip = pcm.read(max(0, last - position))
                position += len(clip)
                if (word := spotter.spot(clip)) is not None:
                    found.append((start, end, word))
            _skip(pcm, None)  # to the end: ffmpeg finishes, its status is checked
        return found

    def render(self, context: StepContext) -> StepOutcome:
        source = _source(context)
        # The plan as approved or edited: the planner's own, or an edit of it.
        version = context.job.plan_version
        plan_key = context.job.plan_key or context.keys.cut_plan
        try:
            document = context.storage.get(context.keys, plan_key).data
        except StorageObjectMissing:
            raise StepFailed(ErrorType.INPUT_MISSING, "the cut plan is missing") from None
        plan = CutPlan.model_validate_json(document)
        try:
            heard = context.storage.get(context.keys, context.keys.transcript_json).data
        except StorageObjectMissing:
            raise StepFailed(ErrorType.INPUT_MISSING, "the transcript is missing") from None
        transcript = Transcript.model_validate_json(heard)
        info = self._probe(context, source)
        limit = self._admit(info)
        keeps = align_to_frames(plan.keeps(), info.fps if info.has_video else None)
        if not keeps:
            raise StepFailed(ErrorType.VALIDATION_FAILED, "the cut plan keeps less than a frame")
        if keeps[-1][1] > decode_cap_seconds(limit):
            # The plan covers the extracted audio, which stops at the limit.
            raise _too_long(f"the cut plan reaches {keeps[-1][1] / 60:.1f} minutes", limit, info)
        expected = sum(end - start for start, end in keeps)
        # "Within one frame": a video frame, or for sound alone an AAC frame
        # (plus the 10 ms resolution of ffmpeg's time report).
        frame = (
            1 / info.fps
            if info.has_video and info.fps
            else AAC_FRAME_SAMPLES / (info.sample_rate or 48000) + 0.01
        )
        keys = context.keys
        base = context.scratch / "base_cuts.mp4"
        self._media.run(
            cut_render_args(
                source,
                keeps,
                info.has_video,
                info.fps,
                base,
                info.sample_rate,
                self._settings.pictures.decoder_ceiling,
            ),
            _time_left(context),
        )
        rendered = self._check_render(base, info, expected, frame, _time_left(context))
        size = self._media.probe(base, _time_left(context))
        entries = [
            RenderEntry(
                key=keys.base_cuts_render,
                type="final",
                codec="h264" if info.has_video else "aac",
                duration_sec=round(rendered, 3),
                resolution=_resolution(size),
                notes=f"plan version {version or 1}: {plan.total_cuts} cuts, "
                f"{plan.cut_duration:.1f} s removed",
                rendered_at=now_iso(),
            )
        ]
        if info.has_video:
            # A render no taller than a preview is its own preview: encoding
            # it again at the same size would double the step's time.
            preview = base
            if (size.height or 0) > PREVIEW_MAX_HEIGHT:
                preview = context.scratch / "preview.mp4"
                self._media.run(preview_args(base, preview), _time_left(context))
            entries.append(
                RenderEntry(
                    key=keys.preview_render,
                    type="preview",
                    codec="h264",
                    duration_sec=round(rendered, 3),
                    resolution=_resolution(self._media.probe(preview, _time_left(context))),
                    rendered_at=now_iso(),
                )
            )
            context.storage.upload(keys, keys.preview_render, preview)
        context.storage.upload(keys, keys.base_cuts_render, base)
        # Captions from the segments as the render cut them (frame-aligned).
        cues = captions.cues(list(transcript.words()), keeps)
        cut = Transcript(
            language=transcript.language,
            engine=transcript.engine,
            model=transcript.model,
            duration=round(rendered, 3),
            segments=captions.cut_segments(cues),
        )
        context.storage.put(keys, keys.cut_captions_srt, captions.to_srt(cues).encode())
        context.storage.put(keys, keys.cut_captions_vtt, captions.to_vtt(cues).encode())
        context.storage.put(keys, keys.cut_transcript, cut.to_json())
        section = CaptionsSection(
            srt_key=keys.cut_captions_srt,
            vtt_key=keys.cut_captions_vtt,
            transcript_key=keys.cut_transcript,
            language=transcript.language,
            cues=len(cues),
            created_at=now_iso(),
        )

        def record(manifest: Manifest) -> None:
            manifest.renders = entries  # replaced, never appended
            manifest.captions = section

        summary = f"{info.duration:.1f} s -> {rendered:.1f} s"
        return StepOutcome("completed", summary, record)

    def _peaks(self, audio: Path, duration: float) -> bytes:
        """The waveform of the extracted audio, decoded again at PEAKS_SAMPLE_RATE
        (an hour's MP3 in a few seconds), so that the review page never decodes it."""
        builder = PeaksBuilder(samples_per_pixel(duration))
        with self._media.pcm_stream(audio, PEAKS_SAMPLE_RATE) as pcm:
            for chunk in iter(lambda: pcm.read(PCM_CHUNK), b""):
                builder.feed(chunk)
        return peaks_json(builder.document())

    def _check_render(
        self, render: Path, source: MediaInfo, expected: float, frame: float, timeout: float
    ) -> float:
        """The render lasts the sum of the kept segments (within one frame), and
        its sound stays with its picture (within MAX_DRIFT_SECONDS)."""
        audio = self._media.stream_duration(render, "a", None, timeout)
        duration = audio
        if source.has_video:
            video = self._media.stream_duration(render, "v", source.fps, timeout)
            drift = abs(video - audio)
            if drift > MAX_DRIFT_SECONDS:
                raise StepFailed(
                    ErrorType.UNKNOWN,
                    f"render check failed: audio and video differ by {drift * 1000:.0f} ms",
                )
            duration = video
        if abs(duration - expected) > frame + 1e-6:
            raise StepFailed(
                ErrorType.UNKNOWN,
                f"render check failed: {duration:.3f} s rendered, {expected:.3f} s planned",
            )
        return duration


def _too_long(what: str, limit: float, info: MediaInfo) -> StepFailed:
    picture = f" at {info.width}x{info.height}, {info.fps:g} fps" if info.fps else ""
    return StepFailed(
        ErrorType.INPUT_TOO_LONG,
        f"{what}; this deployment processes at most {limit:.1f} minutes{picture} (MaxInputMinutes)",
    )


def _skip(stream: IO[bytes], size: int | None) -> int:
    """Read past ``size`` bytes (or everything left); how many there were."""
    skipped = 0
    while size is None or skipped < size:
        chunk = stream.read(PCM_CHUNK if size is None else min(PCM_CHUNK, size - skipped))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped


def _resolution(info: MediaInfo) -> str | None:
    return f"{info.width}x{info.height}" if info.width and info.height else None


def finalize(context: StepContext) -> StepOutcome:
    return StepOutcome(status="completed", summary="job completed")


def media_steps(
    settings: StepSettings,
    media: MediaTool,
    engine: Callable[[], TranscriptionEngine],
    spotter: Callable[[], FillerSpotter] | None = None,
) -> dict[str, StepBody]:
    return MediaSteps(settings, media, engine, spotter).bodies()
