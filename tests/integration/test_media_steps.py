"""Each media step alone, on real media, with the real ffmpeg and PocketSphinx."""

from __future__ import annotations

import json
import shutil
import tempfile
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.exactness import PCM_RATE, pcm_of

from talkavocado import wiring
from talkavocado.adapters import ffmpeg
from talkavocado.adapters.local_storage import LocalStorage
from talkavocado.config import Settings
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import InputSection, Manifest, validate_document
from talkavocado.domain.pipeline import step_named
from talkavocado.errors import ErrorType, StepFailed
from talkavocado.media.commands import align_to_frames
from talkavocado.media.planner import CutPlan, PlannerParameters, PlanSegment
from talkavocado.media.transcript import Transcript
from talkavocado.workers.context import StepContext
from talkavocado.workers.steps import MediaSteps
from tests.conftest import BROKEN_INPUTS, SAMPLE
from tests.conftest import ffmpeg as make_media
from tests.hostile_media import growing_picture, picture, restarting_ts

JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
MEDIA_STEPS = ("audio-extraction", "transcription", "smart-cut-planner", "video-render")


@dataclass
class MediaJob:
    """A job's storage and manifest, driven step by step."""

    root: Path
    steps: MediaSteps
    manifest: Manifest
    keys: JobKeys
    remaining: Callable[[], float] = lambda: 600.0

    @property
    def storage(self) -> LocalStorage:
        return LocalStorage(self.root)

    def file(self, key: str) -> Path:
        return self.root / key

    def run(self, step: str) -> str:
        record = JobRecord.for_job(self.keys, correlation_id="c", status="processing")
        with tempfile.TemporaryDirectory() as scratch:
            context = StepContext(
                step_named(step),
                self.keys,
                record,
                self.manifest,
                self.storage,
                self.remaining,
                Path(scratch),
            )
            outcome = self.steps.bodies()[step](context)
        outcome.apply(self.manifest)
        validate_document(self.manifest.to_document())
        return outcome.summary

    def run_all(self) -> None:
        for step in MEDIA_STEPS:
            self.run(step)

    def av_gap(self) -> float:
        """How far the render's sound and picture end apart, in seconds."""
        render = self.file(self.keys.base_cuts_render)
        fps = ffmpeg.probe(render, 30).fps
        video = ffmpeg.stream_duration(render, "v", fps, 60)
        return abs(video - ffmpeg.stream_duration(render, "a", None, 60))


def new_job(root: Path, source: Path) -> MediaJob:
    keys = JobKeys("test", "acme", JOB)
    manifest = Manifest.for_job(keys, status="processing")
    steps = wiring.media_steps(
        Settings.from_env(), wiring.transcription_engine, wiring.filler_spotter
    )
    job = MediaJob(root, steps, manifest, keys)
    key = keys.input
    job.storage.upload(keys, key, source)
    manifest.source_video_key = key
    manifest.input = InputSection(
        source_key=key,
        original_filename=source.name,
        bytes=source.stat().st_size,
        mime_type="video/mp4",
    )
    return job


@pytest.fixture(scope="module")
def sample_job(tmp_path_factory: pytest.TempPathFactory) -> MediaJob:
    """The sample through all four media steps, once for this module."""
    job = new_job(tmp_path_factory.mktemp("storage"), SAMPLE)
    job.run_all()
    return job


def test_audio_extraction_writes_an_mp3_and_records_it(sample_job: MediaJob) -> None:
    audio = sample_job.manifest.audio
    assert audio is not None
    assert (audio.codec, audio.sample_rate, audio.key) == ("mp3", 44100, sample_job.keys.audio)
    assert audio.duration_sec == pytest.approx(26.4, abs=0.3)
    info = ffmpeg.probe(sample_job.file(audio.key), 30)
    assert info.audio_codec == "mp3" and not info.has_video


def test_audio_extraction_writes_the_waveforms_peaks(sample_job: MediaJob) -> None:
    audio = sample_job.manifest.audio
    assert audio is not None and audio.peaks_key == sample_job.keys.peaks
    peaks = json.loads(sample_job.file(sample_job.keys.peaks).read_bytes())
    assert {k: peaks[k] for k in ("version", "channels", "bits", "sample_rate")} == {
        "version": 2,
        "channels": 1,
        "bits": 8,
        "sample_rate": 8000,
    }
    assert peaks["samples_per_pixel"] == 80  # 100 pixels a second
    seconds = peaks["length"] * peaks["samples_per_pixel"] / peaks["sample_rate"]
    assert seconds == pytest.approx(audio.duration_sec, abs=0.05)
    assert len(peaks["data"]) == 2 * peaks["length"]
    lows, highs = peaks["data"][0::2], peaks["data"][1::2]
    assert all(-128 <= low <= high <= 127 for low, high in zip(lows, highs, strict=True))
    # Speech and pauses: loud pixels and quiet ones.
    assert max(highs) > 40 and min(high - low for low, high in zip(lows, highs, strict=True)) < 4


def test_audio_extraction_writes_the_recognisers_pcm_beside_the_mp3(sample_job: MediaJob) -> None:
    audio = sample_job.manifest.audio
    assert audio is not None and audio.pcm_key == sample_job.keys.audio_pcm
    with wave.open(str(sample_job.file(audio.pcm_key)), "rb") as pcm:
        assert (pcm.getnchannels(), pcm.getsampwidth(), pcm.getframerate()) == (1, 2, 16000)
        assert pcm.getnframes() / 16000 == pytest.approx(audio.duration_sec, abs=0.05)


def test_transcription_reads_the_pcm_alone_and_fails_clearly_without_it(tmp_path: Path) -> None:
    job = new_job(tmp_path, SAMPLE)
    job.run("audio-extraction")
    job.file(job.keys.audio).unlink()  # the MP3 is not needed: no decoder runs
    assert "words" in job.run("transcription")
    job.file(job.keys.audio_pcm).unlink()
    with pytest.raises(StepFailed) as failed:
        job.run("transcription")
    assert failed.value.type == ErrorType.INPUT_MISSING
    assert "16 kHz PCM" in str(failed.value)


def test_pcm_at_another_rate_is_refused_before_the_recogniser_starts(tmp_path: Path) -> None:
    job = new_job(tmp_path, SAMPLE)
    job.run("audio-extraction")
    with wave.open(str(job.file(job.keys.audio_pcm)), "wb") as pcm:
        pcm.setnchannels(2)
        pcm.setsampwidth(2)
        pcm.setframerate(44100)
        pcm.writeframes(bytes(4 * 44100))
    with pytest.raises(StepFailed) as failed:
        job.run("transcription")
    assert failed.value.type == ErrorType.INPUT_MISSING
    assert "not mono 16-bit at 16000 Hz" in str(failed.value)
    job.file(job.keys.audio_pcm).write_bytes(b"not a wav file")
    with pytest.raises(StepFailed, match="not a WAV file"):
        job.run("transcription")


def test_transcription_writes_timed_words_and_valid_captions(sample_job: MediaJob) -> None:
    keys = sample_job.keys
    transcript = Transcript.model_validate_json(sample_job.file(keys.transcript_json).read_bytes())
    words = list(transcript.words())
    assert len(words) > 20
    assert transcript.engine == "faster-whisper" and transcript.language == "en"
    starts = [w.start for w in words]
    assert starts == sorted(starts)
    assert all(w.start < w.end for w in words)
    srt = sample_job.file(keys.captions_srt).read_text()
    assert srt.startswith("1\n00:00:")
    assert all(w.word in srt for w in words)
    section = sample_job.manifest.transcript
    assert section is not None and section.model == "faster-whisper:tiny.en"
    assert [s.key for s in sample_job.manifest.subtitles] == [keys.captions_srt]


def test_the_plan_cuts_the_pauses_and_keeps_the_short_sentence(sample_job: MediaJob) -> None:
    plan = CutPlan.model_validate_json(sample_job.file(sample_job.keys.cut_plan).read_bytes())
    assert plan.total_cuts >= 4
    assert any("pause" in cut.reason for cut in plan.cuts())
    assert any("filler" in cut.reason for cut in plan.cuts())
    # "Short sentence." is spoken at about 18.2-19.5 s, between two long pauses.
    assert any(start <= 18.4 and end >= 19.3 for start, end in plan.keeps())
    assert sample_job.manifest.plan is not None
    assert sample_job.manifest.plan.total_cuts == plan.total_cuts


def test_planning_twice_gives_a_byte_identical_plan(sample_job: MediaJob) -> None:
    first = sample_job.file(sample_job.keys.cut_plan).read_bytes()
    sample_job.run("smart-cut-planner")
    assert sample_job.file(sample_job.keys.cut_plan).read_bytes() == first


def test_a_second_look_short_of_time_keeps_the_sounds_it_did_not_look_at(
    sample_job: MediaJob, tmp_path: Path
) -> None:
    looked: list[bytes] = []

    class EverythingIsAFiller:
        sample_rate = 16000

        def spot(self, pcm: bytes) -> str:
            looked.append(pcm)
            return "um"

    shutil.copytree(sample_job.root, tmp_path, dirs_exist_ok=True)
    steps = wiring.media_steps(
        Settings.from_env(), wiring.transcription_engine, EverythingIsAFiller
    )
    manifest = sample_job.manifest.model_copy(deep=True)
    job = MediaJob(tmp_path, steps, manifest, sample_job.keys)
    job.run("smart-cut-planner")
    sounds = len(looked)
    assert sounds > 1
    looked.clear()
    # The invocation's time runs short once the first sound has been looked at.
    job.remaining = lambda: 600.0 - 590 * len(looked)
    job.run("smart-cut-planner")
    assert len(looked) == 1
    plan = CutPlan.model_validate_json(job.file(job.keys.cut_plan).read_bytes())
    assert plan.total_cuts > 0


def test_the_render_lasts_the_kept_time_and_keeps_sound_with_picture(sample_job: MediaJob) -> None:
    keys = sample_job.keys
    plan = CutPlan.model_validate_json(sample_job.file(keys.cut_plan).read_bytes())
    render = sample_job.file(keys.base_cuts_render)
    source = ffmpeg.probe(SAMPLE, 30)
    info = ffmpeg.probe(render, 30)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height, info.fps) == (source.width, source.height, source.fps)
    assert source.fps is not None
    expected = sum(end - start for start, end in align_to_frames(plan.keeps(), source.fps))
    video = ffmpeg.stream_duration(render, "v", source.fps, 60)
    audio = ffmpeg.stream_duration(render, "a", None, 60)
    assert abs(video - expected) <= 1 / source.fps + 1e-6
    assert abs(audio - video) <= 0.05
    assert video < source.duration - plan.cut_duration + 1 / source.fps + 1e-6


def test_each_caption_of_the_cut_video_is_heard_in_the_render_where_it_is_shown(
    sample_job: MediaJob,
) -> None:
    keys = sample_job.keys
    section = sample_job.manifest.captions
    assert section is not None and section.cues >= 4
    assert (section.srt_key, section.vtt_key) == (keys.cut_captions_srt, keys.cut_captions_vtt)
    cut = Transcript.model_validate_json(sample_job.file(keys.cut_transcript).read_bytes())
    srt = sample_job.file(keys.cut_captions_srt).read_text()
    vtt = sample_job.file(keys.cut_captions_vtt).read_text()
    assert srt.startswith("1\n00:00:") and vtt.startswith("WEBVTT")
    assert srt.count(" --> ") == vtt.count(" --> ") == section.cues == len(cut.segments)
    source = ffmpeg.probe(SAMPLE, 30)
    assert source.fps is not None
    frame = 1 / source.fps
    rendered = pcm_of(sample_job.file(keys.base_cuts_render))
    assert cut.duration == pytest.approx(len(rendered) / PCM_RATE, abs=0.05)

    def heard(start: float, end: float) -> bool:  # louder than -40 dBFS somewhere
        first, last = max(0, round(start * PCM_RATE)), round(end * PCM_RATE)
        return any(abs(s) > 328 for s in rendered[first:last])

    for cue in cut.segments:
        first, last = cue.words[0], cue.words[-1]
        # Shown from its first word to its last, within a frame, in the render.
        assert cue.start <= first.start + frame and cue.end >= last.end - frame, cue
        assert heard(first.start - frame, first.end + frame), (cue.text, first)
        assert heard(last.start - frame, last.end + frame), (cue.text, last)
        assert cue.end <= cut.duration + frame


def store_plan(job: MediaJob, plan: CutPlan) -> None:
    """A plan for the render, with the (empty) transcript it reads too for
    the cut video's captions."""
    job.storage.put(job.keys, job.keys.cut_plan, plan.to_json())
    heard = Transcript(
        language="en", engine="e", model="m", duration=plan.source_duration, segments=[]
    )
    job.storage.put(job.keys, job.keys.transcript_json, heard.to_json())


def test_a_plan_keeping_less_than_a_frame_fails_the_render_as_invalid(tmp_path: Path) -> None:
    job = new_job(tmp_path, SAMPLE)
    duration = ffmpeg.probe(SAMPLE, 30).duration
    plan = CutPlan(
        source_duration=duration,
        parameters=PlannerParameters(),
        segments=[
            PlanSegment(start=0.0, end=0.01, action="keep", reason="speech"),
            PlanSegment(start=0.01, end=duration, action="cut", reason="pause"),
        ],
        total_cuts=1,
        kept_duration=0.01,
        cut_duration=round(duration - 0.01, 3),
    )
    store_plan(job, plan)
    with pytest.raises(StepFailed) as failed:
        job.run("video-render")
    assert failed.value.type == ErrorType.VALIDATION_FAILED
    assert not job.file(job.keys.base_cuts_render).exists()


def test_a_render_no_taller_than_a_preview_is_its_own_preview_and_renders_are_replaced(
    sample_job: MediaJob,
) -> None:
    keys = sample_job.keys
    render = sample_job.file(keys.base_cuts_render)
    assert ffmpeg.probe(render, 30).height == 240
    assert sample_job.file(keys.preview_render).read_bytes() == render.read_bytes()
    sample_job.run("video-render")
    assert [(r.key, r.type) for r in sample_job.manifest.renders] == [
        (keys.base_cuts_render, "final"),
        (keys.preview_render, "preview"),
    ]


def test_the_preview_of_a_taller_render_is_a_smaller_copy(tmp_path: Path, media_dir: Path) -> None:
    job = new_job(tmp_path, media_dir / "tall.mp4")
    job.run_all()
    render = ffmpeg.probe(job.file(job.keys.base_cuts_render), 30)
    preview = ffmpeg.probe(job.file(job.keys.preview_render), 30)
    assert (render.width, render.height, preview.width, preview.height) == (640, 480, 480, 360)
    assert preview.duration == pytest.approx(render.duration, abs=0.05)
    [entry] = [r for r in job.manifest.renders if r.type == "preview"]
    assert entry.resolution == "480x360"


def test_an_audio_only_input_gives_an_audio_only_render(tmp_path: Path, media_dir: Path) -> None:
    job = new_job(tmp_path, media_dir / "speech.m4a")
    job.run_all()
    [render] = job.manifest.renders
    assert (render.type, render.codec) == ("final", "aac")
    info = ffmpeg.probe(job.file(job.keys.base_cuts_render), 30)
    assert info.has_audio and not info.has_video
    assert not job.file(job.keys.preview_render).exists()


def test_an_ntsc_phone_recording_renders_in_sync(tmp_path: Path, media_dir: Path) -> None:
    job = new_job(tmp_path, media_dir / "phone.mov")
    job.run_all()
    assert ffmpeg.probe(job.file(job.keys.base_cuts_render), 30).fps == pytest.approx(30000 / 1001)
    assert job.av_gap() <= 0.05


def test_a_late_starting_sound_keeps_its_place_on_the_timeline(
    tmp_path: Path, media_dir: Path, sample_job: MediaJob
) -> None:
    job = new_job(tmp_path, media_dir / "late_audio.mp4")
    job.run_all()
    assert job.manifest.audio is not None
    assert job.manifest.audio.duration_sec == pytest.approx(28.4, abs=0.3)  # 2 s + 26.4 s

    def pauses(of: MediaJob) -> list[tuple[float, float]]:
        plan = CutPlan.model_validate_json(of.file(of.keys.cut_plan).read_bytes())
        # Pauses alone: the signal's own (where a filler was found may differ).
        return [
            (c.start, c.end)
            for c in plan.cuts()
            if c.reason.startswith("pause ") and ";" not in c.reason
        ]

    # Every pause of the sample is cut 2 s later here, the silence before the sound too.
    late, sample = pauses(job), pauses(sample_job)
    assert late[0][0] == 0.0
    for start, end in sample:
        assert any(abs(s - start - 2) < 0.05 and abs(e - end - 2) < 0.05 for s, e in late)
    assert job.av_gap() <= 0.05


def test_a_late_starting_picture_renders_in_sync(tmp_path: Path, media_dir: Path) -> None:
    job = new_job(tmp_path, media_dir / "late_video.mp4")
    job.run_all()
    assert job.av_gap() <= 0.05


def test_odd_dimensions_render_one_pixel_smaller(tmp_path: Path, media_dir: Path) -> None:
    job = new_job(tmp_path, media_dir / "odd_size.mp4")
    job.run_all()
    info = ffmpeg.probe(job.file(job.keys.base_cuts_render), 30)
    assert (info.width, info.height) == (320, 240)
    assert job.manifest.renders[0].resolution == "320x240"


@pytest.mark.parametrize(("name", "message"), BROKEN_INPUTS)
def test_broken_inputs_fail_with_codec_unsupported_and_write_nothing(
    tmp_path: Path, media_dir: Path, name: str, message: str
) -> None:
    job = new_job(tmp_path, media_dir / name)
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.CODEC_UNSUPPORTED
    assert message in failed.value.message
    assert not job.file(job.keys.audio).exists()
    assert not job.file(job.keys.audio_pcm).exists()
    assert job.manifest.audio is None


def test_an_input_longer_than_the_limit_fails_at_once_with_input_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_clip = tmp_path / "long.mp4"
    make_media(
        *("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=5"),
        *("-f", "lavfi", "-i", "sine=frequency=300:sample_rate=8000"),
        *("-t", "61", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"),
        str(long_clip),
    )
    monkeypatch.setenv("MAX_INPUT_MINUTES", "1")
    job = new_job(tmp_path / "storage", long_clip)
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.INPUT_TOO_LONG
    assert not failed.value.type.retryable
    assert "at most 1.0 minutes at 64x48, 5 fps" in failed.value.message
    assert not job.file(job.keys.audio).exists()
    assert not job.file(job.keys.audio_pcm).exists()


def _decoded_lengths(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The length of every output ffmpeg.run writes from here on."""
    lengths: list[float] = []
    run = ffmpeg.run

    def measured(argv: list[str], timeout: float) -> str:
        report = run(argv, timeout)
        lengths.append(ffmpeg.reported_duration(report))
        return report

    monkeypatch.setattr(ffmpeg, "run", measured)
    return lengths


def test_sound_going_on_past_its_stated_length_is_decoded_only_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = restarting_ts(tmp_path)  # 10 x 18 s, stated as 17.7 s
    assert ffmpeg.probe(source, 30).duration < 18
    monkeypatch.setenv("MAX_INPUT_MINUTES", "1")
    decoded = _decoded_lengths(monkeypatch)
    job = new_job(tmp_path / "storage", source)
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.INPUT_TOO_LONG
    assert "sound goes on past 1.0 minutes (its container states 0.3)" in failed.value.message
    assert "at most 1.0 minutes (MaxInputMinutes)" in failed.value.message
    assert decoded and max(decoded) <= 61.05  # stopped a second past the limit, not at 180 s
    assert not job.file(job.keys.audio).exists()
    assert not job.file(job.keys.audio_pcm).exists()
    assert job.manifest.audio is None


def test_restarting_timestamps_within_the_limit_record_all_the_sound_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = restarting_ts(tmp_path, copies=3)  # 54 s, stated as 17.7 s
    monkeypatch.setenv("MAX_INPUT_MINUTES", "1")
    job = new_job(tmp_path / "storage", source)
    job.run("audio-extraction")
    assert job.manifest.audio is not None
    assert job.manifest.audio.duration_sec == pytest.approx(54, abs=1)


def test_a_frame_over_the_limit_is_refused_naming_it_before_any_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = picture(tmp_path, "1280x1280", 25)
    monkeypatch.setenv("MAX_FRAME_PIXELS", "1000000")
    decoded = _decoded_lengths(monkeypatch)
    job = new_job(tmp_path / "storage", source)
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.PICTURE_TOO_LARGE
    assert not failed.value.type.retryable
    assert "1280x1280 (1.6 megapixels per frame)" in failed.value.message
    assert "at most 1.0 megapixels per frame (MaxFramePixels)" in failed.value.message
    assert decoded == []  # refused from the probe alone
    assert not job.file(job.keys.audio).exists()
    assert not job.file(job.keys.audio_pcm).exists()


def test_more_pixels_a_second_than_the_limit_are_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = picture(tmp_path, "640x480", 120)
    monkeypatch.setenv("MAX_PIXEL_RATE", "20000000")
    job = new_job(tmp_path / "storage", source)
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.PICTURE_TOO_LARGE
    assert "640x480 at 120 fps (36.9 megapixels a second)" in failed.value.message
    assert "at most 20.0 megapixels a second (MaxPixelRate)" in failed.value.message


def test_a_picture_growing_past_the_limit_after_its_first_frames_fails_the_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = growing_picture(tmp_path, "320x240", "1280x1280")
    assert (ffmpeg.probe(source, 30).width, ffmpeg.probe(source, 30).height) == (320, 240)
    monkeypatch.setenv("MAX_FRAME_PIXELS", "1000000")
    job = new_job(tmp_path / "storage", source)
    for step in MEDIA_STEPS[:-1]:
        job.run(step)
    with pytest.raises(StepFailed) as failed:
        job.run("video-render")
    assert failed.value.type == ErrorType.PICTURE_TOO_LARGE
    assert "a frame of the picture is 1280x1280" in failed.value.message
    assert "(MaxFramePixels)" in failed.value.message
    assert not job.file(job.keys.base_cuts_render).exists()


def test_the_render_refuses_a_plan_reaching_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_INPUT_MINUTES", "1")
    job = new_job(tmp_path, restarting_ts(tmp_path))
    plan = CutPlan(
        source_duration=180.0,
        parameters=PlannerParameters(),
        segments=[PlanSegment(start=0.0, end=180.0, action="keep", reason="speech")],
        total_cuts=0,
        kept_duration=180.0,
        cut_duration=0.0,
    )
    store_plan(job, plan)
    decoded = _decoded_lengths(monkeypatch)
    with pytest.raises(StepFailed) as failed:
        job.run("video-render")
    assert failed.value.type == ErrorType.INPUT_TOO_LONG
    assert "the cut plan reaches 3.0 minutes" in failed.value.message
    assert decoded == []
    assert not job.file(job.keys.base_cuts_render).exists()


def test_a_missing_input_file_is_input_missing(tmp_path: Path) -> None:
    job = new_job(tmp_path, SAMPLE)
    shutil.rmtree(tmp_path / job.keys.prefix / "input")
    with pytest.raises(StepFailed) as failed:
        job.run("audio-extraction")
    assert failed.value.type == ErrorType.INPUT_MISSING


def test_the_sample_transcript_document_is_plain_json(sample_job: MediaJob) -> None:
    document = json.loads(sample_job.file(sample_job.keys.transcript_json).read_text())
    assert set(document) == {"language", "engine", "model", "duration", "segments"}
    word = document["segments"][0]["words"][0]
    assert set(word) == {"word", "start", "end", "confidence"}
