"""Media steps, for the bundled sample and a generated 10-minute input: each
step's time beside the bare ffmpeg command doing the same work (ratio; target
at most 1.1), the transcription's real-time factor, each step's peak memory,
and the end-to-end time through the local runtime.

Each step runs in a fresh process, so its peak memory is its own.

``--quick`` (``make test``): the steps on the first 5 s of the sample only.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.quick import quick
from talkavocado.adapters import ffmpeg
from talkavocado.config import DEFAULT_MAX_INPUT_MINUTES, Settings
from talkavocado.domain.jobs import JobRecord
from talkavocado.domain.keys import JobKeys
from talkavocado.domain.manifest import InputSection, Manifest
from talkavocado.domain.pipeline import step_named
from talkavocado.media.commands import (
    PREVIEW_MAX_HEIGHT,
    align_to_frames,
    audio_extraction_args,
    cut_render_args,
    preview_args,
)
from talkavocado.media.limits import decode_cap_seconds
from talkavocado.media.planner import CutPlan
from talkavocado.workers.context import StepContext

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "tests" / "fixtures" / "sample_talk.mp4"
LONG_SECONDS = 600
QUICK_SECONDS = 5
TARGET_RATIO = 1.1
STEPS = ("audio-extraction", "transcription", "smart-cut-planner", "video-render")
JOB = "3f1c2a9e-8b7d-4c6e-9a5f-1e2d3c4b5a69"
KEYS = JobKeys("test", "bench", JOB)


def _manifest_path(root: Path) -> Path:
    return root / "bench-manifest.json"


def _prepare(root: Path, source: Path) -> None:
    from talkavocado.adapters.local_storage import LocalStorage

    key = KEYS.input
    LocalStorage(root).upload(KEYS, key, source)
    manifest = Manifest.for_job(
        KEYS,
        status="processing",
        source_video_key=key,
        input=InputSection(
            source_key=key,
            original_filename=source.name,
            bytes=source.stat().st_size,
            mime_type="video/mp4",
        ),
    )
    _manifest_path(root).write_text(manifest.model_dump_json(by_alias=True))


def _run_step(root: str, step: str, results: Any) -> None:
    """In a child process: one step body on the prepared storage."""
    from talkavocado.adapters.local_storage import LocalStorage

    os.environ["TALKAVOCADO_ENV"] = "test"
    path = _manifest_path(Path(root))
    manifest = Manifest.model_validate_json(path.read_text())
    record = JobRecord.for_job(KEYS, correlation_id="bench", status="processing")
    from talkavocado import wiring

    steps = wiring.media_steps(
        Settings.from_env(), wiring.transcription_engine, wiring.filler_spotter
    )
    if step == "transcription":
        _ = steps.engine  # model loading is a cold start, not per-job work
    with tempfile.TemporaryDirectory() as scratch:
        context = StepContext(
            step_named(step),
            KEYS,
            record,
            manifest,
            LocalStorage(Path(root)),
            lambda: 3600.0,
            Path(scratch),
        )
        start = time.perf_counter()
        outcome = steps.bodies()[step](context)
        elapsed = time.perf_counter() - start
    outcome.apply(manifest)
    path.write_text(manifest.model_dump_json(by_alias=True))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    results.put((elapsed, own, children))


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - an argument list built here
        [ffmpeg.executable(), "-hide_banner", "-nostdin", *argv],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def _floor(step: str, root: Path, source: Path, scratch: Path) -> float | None:
    """The bare ffmpeg work of a step (none for transcription)."""
    audio = root / KEYS.audio
    if step == "audio-extraction":
        cap = decode_cap_seconds(DEFAULT_MAX_INPUT_MINUTES)
        args = audio_extraction_args(source, scratch / "a.mp3", scratch / "a.wav", cap)
        return _timed(["-y", *args])
    if step == "smart-cut-planner":
        # Its two reads of the audio: the quiet stretches, and the PCM of the second look.
        return _timed(
            ["-i", str(audio), "-af", "silencedetect=noise=-35.0dB:d=0.15", "-f", "null", "-"]
        ) + _timed(["-i", str(audio), "-ac", "1", "-ar", "16000", "-f", "s16le", "-y", os.devnull])
    if step == "video-render":
        # The same encoders over as many frames, from the start, without cutting.
        plan = CutPlan.model_validate_json((root / KEYS.cut_plan).read_bytes())
        info = ffmpeg.probe(source, 60)
        keeps = align_to_frames(plan.keeps(), info.fps)
        kept = sum(end - start for start, end in keeps)
        base = scratch / "base.mp4"
        whole = cut_render_args(source, [(0.0, kept)], True, info.fps, base, info.sample_rate)
        floor = _timed(whole)
        if (info.height or 0) > PREVIEW_MAX_HEIGHT:  # the step's own preview rule
            floor += _timed(preview_args(base, scratch / "preview.mp4"))
        return floor
    return None


def run_steps(root: Path, source: Path) -> Iterator[tuple[str, float, int, int]]:
    """Every media step on ``source``, each in a fresh process, on local
    storage under ``root``: (step, seconds, its peak KB, its children's)."""
    spawn = multiprocessing.get_context("spawn")
    _prepare(root, source)
    for step in STEPS:
        results = spawn.Queue()
        child = spawn.Process(target=_run_step, args=(str(root), step, results))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"{step} failed on {source.name}")
        yield (step, *results.get(timeout=10))


def bench_input(label: str, source: Path) -> None:
    duration = ffmpeg.probe(source, 60).duration
    print(f"\n{label}: {source.name}, {duration:.0f} s")
    print(f"{'step':<20}{'time s':>9}{'ffmpeg s':>10}{'ratio':>8}{'peak MB':>10}  note")
    with tempfile.TemporaryDirectory() as storage, tempfile.TemporaryDirectory() as scratch:
        root = Path(storage)
        for step, elapsed, own_kb, children_kb in run_steps(root, source):
            floor = _floor(step, root, source, Path(scratch))
            peak_mb = max(own_kb, children_kb) / 1024
            if floor is None:
                note = f"real-time factor {elapsed / duration:.3f}"
                print(f"{step:<20}{elapsed:>9.2f}{'-':>10}{'-':>8}{peak_mb:>10.0f}  {note}")
                continue
            ratio = elapsed / floor
            verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
            note = f"target <= {TARGET_RATIO}: {verdict}"
            if step == "smart-cut-planner":  # no ffmpeg floor for a recogniser's search
                note = "besides ffmpeg: the second look's search"
            print(f"{step:<20}{elapsed:>9.2f}{floor:>10.2f}{ratio:>8.2f}{peak_mb:>10.0f}  {note}")


def end_to_end(source: Path) -> float:
    from talkavocado_local.run import run_video

    with tempfile.TemporaryDirectory() as storage:
        os.environ["MEDIA_STORAGE_PATH"] = storage
        os.environ.pop("AWS_ENDPOINT_URL", None)
        start = time.perf_counter()
        status = run_video(source, "bench", 3600, Path(storage) / "run.log", out=io.StringIO())
        elapsed = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"the end-to-end run of {source.name} failed")
    return elapsed


def _copy(output: Path, *options: str) -> Path:
    """The sample, stream-copied with ``options`` (looped, or cut short)."""
    subprocess.run(  # noqa: S603 - an argument list built here
        [
            ffmpeg.executable(),
            "-hide_banner",
            "-nostdin",
            "-y",
            *options,
            "-i",
            str(SAMPLE),
            "-c",
            "copy",
            str(output),
        ],
        check=True,
        capture_output=True,
    )
    return output


def main() -> int:
    os.environ["TALKAVOCADO_ENV"] = "test"
    with tempfile.TemporaryDirectory() as scratch:
        if quick():
            inputs = [("first 5 s of the sample", _copy(Path(scratch) / "short.mp4", "-t", "5"))]
        else:
            loops = str(int(LONG_SECONDS // ffmpeg.probe(SAMPLE, 60).duration))
            long_input = _copy(Path(scratch) / "talk_10min.mp4", "-stream_loop", loops)
            inputs = [("sample", SAMPLE), ("10-minute input", long_input)]
        print(
            "Media steps, each in a fresh process (peak memory: the larger of the step's "
            "own process and its ffmpeg children)"
        )
        for label, source in inputs:
            bench_input(label, source)
        print("\nend to end through the local runtime (talkavocado run):")
        if quick():  # tests/e2e/test_run_command.py runs it
            print("  skipped in quick mode")
            inputs = []
        for label, source in inputs:
            print(f"  {label:<18}{end_to_end(source):>8.1f} s")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
