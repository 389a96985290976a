"""Editor timelines written with OpenTimelineIO: Premiere Pro / Final Cut 7
XML (``fcp_xml``), CMX 3600 EDL (``cmx_3600``) and OTIO's own JSON, from
one OTIO timeline; Final Cut Pro X / DaVinci Resolve FCPXML written here
from the same frames.

Why FCPXML is written here: the FCPXML adapter (otio-fcpx-xml-adapter 1.0.0)
looks frame rates up by their integer part, so it cannot write 29.97 fps
(``frameDuration`` comes out empty) and reads every rate as an integer; a
document for Final Cut Pro needs exact rational times (``1001/30000s``
frames), which this module writes. The adapter reads it back (tests)."""

from __future__ import annotations

from fractions import Fraction
from xml.etree import ElementTree

import opentimelineio as otio

from talkavocado.media.timeline import Timeline, TimelineFormat

ADAPTERS = {"xml": "fcp_xml", "edl": "cmx_3600", "otio": "otio_json"}


class OtioTimelineWriter:
    """The ``TimelineWriter`` the API's exports use."""

    def write(self, timeline: Timeline, fmt: TimelineFormat) -> bytes:
        if fmt == "fcpxml":
            return fcpxml(timeline)
        text: str = otio.adapters.write_to_string(otio_timeline(timeline), ADAPTERS[fmt])
        return text.encode()


def otio_timeline(timeline: Timeline) -> otio.schema.Timeline:
    """One video track (with a picture) and one audio track, each holding the
    kept segments of the source in order, at the source's frame rate."""
    fps = float(timeline.rate)

    def at(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, fps)

    result = otio.schema.Timeline(name=timeline.name)
    result.global_start_time = at(0)
    kinds = [otio.schema.TrackKind.Audio]
    if timeline.has_video:
        kinds.insert(0, otio.schema.TrackKind.Video)
    for kind in kinds:
        track = otio.schema.Track(name="V1" if kind == otio.schema.TrackKind.Video else "A1")
        track.kind = kind
        for first, last in timeline.clips:
            reference = otio.schema.ExternalReference(
                target_url=timeline.source_url,
                available_range=otio.opentime.TimeRange(at(0), at(timeline.source_frames)),
            )
            track.append(
                otio.schema.Clip(
                    name=timeline.source_name,
                    media_reference=reference,
                    source_range=otio.opentime.TimeRange(at(first), at(last - first)),
                )
            )
        result.tracks.append(track)
    return result


def _time(frames: int, rate: Fraction) -> str:
    """FCPXML's rational seconds: ``1001/30000s``, ``69/25s``, ``0s``."""
    seconds = Fraction(frames) / rate
    if seconds.denominator == 1:
        return f"{seconds.numerator}s"
    return f"{seconds.numerator}/{seconds.denominator}s"


def fcpxml(timeline: Timeline) -> bytes:
    """FCPXML 1.8 (Final Cut Pro 10.4.1 and later, DaVinci Resolve): the
    source as one asset, the kept segments as asset clips on the spine."""
    rate = timeline.rate
    frame = 1 / rate
    root = ElementTree.Element("fcpxml", version="1.8")
    resources = ElementTree.SubElement(root, "resources")
    picture = {"id": "r1", "frameDuration": f"{frame.numerator}/{frame.denominator}s"}
    if timeline.size is not None:
        picture |= {"width": str(timeline.size[0]), "height": str(timeline.size[1])}
    ElementTree.SubElement(resources, "format", picture)
    ElementTree.SubElement(
        resources,
        "asset",
        id="r2",
        name=timeline.source_name,
        src=timeline.source_url,
        start="0s",
        duration=_time(timeline.source_frames, rate),
        hasVideo="1" if timeline.has_video else "0",
        hasAudio="1",
        format="r1",
        audioSources="1",
    )
    library = ElementTree.SubElement(root, "library")
    event = ElementTree.SubElement(library, "event", name=timeline.name)
    project = ElementTree.SubElement(event, "project", name=timeline.name)
    sequence = ElementTree.SubElement(
        project,
        "sequence",
        format="r1",
        duration=_time(timeline.frames, rate),
        tcStart="0s",
        tcFormat="NDF",
    )
    spine = ElementTree.SubElement(sequence, "spine")
    offset = 0
    for first, last in timeline.clips:
        ElementTree.SubElement(
            spine,
            "asset-clip",
            ref="r2",
            name=timeline.source_name,
            offset=_time(offset, rate),
            start=_time(first, rate),
            duration=_time(last - first, rate),
            format="r1",
            tcFormat="NDF",
        )
        offset += last - first
    ElementTree.indent(root)
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n{body}\n'.encode()
