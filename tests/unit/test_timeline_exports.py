"""Every timeline export reads back with OpenTimelineIO: the plan's kept
segments, in order, from the source by its original name, at its frame
rate, and in all within a frame of what the render keeps."""

from __future__ import annotations

import itertools
from fractions import Fraction
from xml.etree import ElementTree

import opentimelineio as otio
import pytest

from talkavocado.adapters.otio_timeline import OtioTimelineWriter
from talkavocado.domain.plans import snap
from talkavocado.media.commands import align_to_frames
from talkavocado.media.planner import CutPlan, PlannerParameters, PlanSegment
from talkavocado.media.timeline import timeline_of

ADAPTERS = {"fcpxml": "fcpx_xml", "xml": "fcp_xml", "edl": "cmx_3600", "otio": "otio_json"}
BOUNDS = [0, 2.76, 5.57, 8.76, 11.9, 14.05, 14.8, 16.11, 18.13, 19.4, 21.81, 25.08, 26.37]
PLAN = CutPlan(
    source_duration=26.37,
    parameters=PlannerParameters(),
    segments=[
        PlanSegment(start=a, end=b, action="keep" if i % 2 == 0 else "cut", reason="r")
        for i, (a, b) in enumerate(itertools.pairwise(BOUNDS))
    ],
    total_cuts=6,
    kept_duration=0,
    cut_duration=0,
)


def read_back(data: bytes, fmt: str, fps: float) -> otio.schema.Timeline:
    options = {"rate": fps} if fmt == "edl" else {}
    read = otio.adapters.read_from_string(data.decode(), ADAPTERS[fmt], **options)
    if isinstance(read, otio.schema.SerializableCollection):  # FCPXML: a library
        [read] = list(read)
    assert isinstance(read, otio.schema.Timeline)
    return read


@pytest.mark.parametrize("fps", [25.0, 30000 / 1001])
@pytest.mark.parametrize("fmt", list(ADAPTERS))
def test_every_export_reads_back_with_the_plans_kept_segments(fmt: str, fps: float) -> None:
    keeps = [(s.start, s.end) for s in snap(PLAN, fps) if s.action == "keep"]
    rendered = sum(end - start for start, end in align_to_frames(PLAN.keeps(), fps))
    timeline = timeline_of(keeps, fps, PLAN.source_duration, "My_Talk.mp4", size=(1280, 720))
    data = OtioTimelineWriter().write(timeline, fmt)  # type: ignore[arg-type]
    assert abs(timeline.duration - rendered) < 1e-9  # the render's frames exactly
    read = read_back(data, fmt, fps)
    [video, *_] = read.video_tracks()
    clips = [item for item in video if isinstance(item, otio.schema.Clip)]
    assert len(clips) == len(keeps) == 6
    assert {clip.media_reference.target_url for clip in clips} == {"My_Talk.mp4"}
    if fmt == "fcpxml" and fps != 25.0:
        # The FCPXML adapter reads every rate as its integer part (29 for
        # 29.97): the document's own rational times are checked instead.
        total = fcpxml_total(data)
        assert Fraction(spine_rate(data)) == Fraction(30000, 1001)
    else:
        total = video.duration().to_seconds()
        assert video.duration().rate == pytest.approx(fps)
        for clip, (start, _) in zip(clips, keeps, strict=True):
            assert clip.source_range.start_time.to_seconds() == pytest.approx(start, abs=1e-6)
    assert abs(total - rendered) < 1 / fps


def fcpxml_total(data: bytes) -> float:
    root = ElementTree.fromstring(data)
    durations = [clip.get("duration", "0s") for clip in root.iter("asset-clip")]
    return float(sum(Fraction(d.removesuffix("s")) for d in durations))


def spine_rate(data: bytes) -> Fraction:
    root = ElementTree.fromstring(data)
    frame = root.find("./resources/format")
    assert frame is not None
    return 1 / Fraction(frame.get("frameDuration", "1s").removesuffix("s"))


def test_the_fcpxml_clips_sit_end_to_end_on_the_frame_grid() -> None:
    fps = 30000 / 1001
    keeps = [(s.start, s.end) for s in snap(PLAN, fps) if s.action == "keep"]
    data = OtioTimelineWriter().write(timeline_of(keeps, fps, 26.37, "talk.mov"), "fcpxml")
    root = ElementTree.fromstring(data)
    offset = Fraction(0)
    frame = Fraction(1001, 30000)
    for clip in root.iter("asset-clip"):
        assert Fraction(clip.get("offset", "0s").removesuffix("s")) == offset
        for name in ("start", "duration"):
            assert Fraction(clip.get(name, "0s").removesuffix("s")) % frame == 0
        offset += Fraction(clip.get("duration", "0s").removesuffix("s"))
    sequence = root.find(".//sequence")
    assert (
        sequence is not None and Fraction(sequence.get("duration", "").removesuffix("s")) == offset
    )
