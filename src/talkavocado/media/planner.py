"""The smart-cut planner: which parts of a recording to keep and which to cut.

Deterministic: the same silences, words and parameters give a byte-identical
plan (times in milliseconds, sorted keys, no run-time figures). Cuts come
from two sources: pauses found in the audio signal, and filler words found in
the transcript. Speech is never cut because it is short: recognised words
(other than fillers) are protected from every cut, however brief the
sentence between two pauses.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from talkavocado.media.lone_words import SAID_ALONE
from talkavocado.media.transcript import Word
from talkavocado.support import schema_files
from talkavocado.support.camel import CamelModel

PLAN_SCHEMA_VERSION: Literal["1.0.0"] = "1.0.0"
PLAN_SCHEMA_FILE = "cut_plan.schema.json"
ALGORITHM = "talkavocado-smart-cut/1"
DEFAULT_FILLERS = ("um", "uh", "er", "erm", "ah", "uhm", "hmm", "mm", "you know", "i mean")
_NOT_A_LETTER = re.compile(r"[^a-z' ]+")
_ALTERNATE = re.compile(r"\(\d+\)$")  # pocketsphinx's "the(2)"

Seconds = Annotated[float, Field(ge=0)]


class PlannerParameters(CamelModel):
    """Every knob of the planner, with its default (see README, "Smart cuts")."""

    min_pause: Annotated[float, Field(gt=0)] = 0.75
    padding: Seconds = 0.1
    min_cut: Seconds = 0.3
    merge_gap: Seconds = 0.3
    silence_threshold_db: Annotated[float, Field(lt=0)] = -35.0
    fillers: list[str] = Field(default_factory=lambda: list(DEFAULT_FILLERS))


class PlanSegment(CamelModel):
    start: Seconds
    end: Seconds
    action: Literal["keep", "cut"]
    reason: str


class CutPlan(CamelModel):
    model_config = ConfigDict(title="TalkAvocado cut plan")

    schema_version: Literal["1.0.0"] = PLAN_SCHEMA_VERSION
    algorithm: str = ALGORITHM
    source_duration: Seconds
    parameters: PlannerParameters
    segments: list[PlanSegment]
    total_cuts: Annotated[int, Field(ge=0)]
    kept_duration: Seconds
    cut_duration: Seconds

    def keeps(self) -> list[tuple[float, float]]:
        return [(s.start, s.end) for s in self.segments if s.action == "keep"]

    def cuts(self) -> list[PlanSegment]:
        return [s for s in self.segments if s.action == "cut"]

    def to_json(self) -> bytes:
        """Byte-identical for identical plans; validated against the schema file."""
        document = self.model_dump(mode="json", by_alias=True)
        schema_files.validate(document, PLAN_SCHEMA_FILE, "cut plan")
        return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def generate_plan_schema() -> dict[str, Any]:
    return schema_files.generate(
        CutPlan, "cut_plan", PLAN_SCHEMA_VERSION, ["schemaVersion", "algorithm"]
    )


def _normalise(word: str) -> str:
    return _NOT_A_LETTER.sub("", _ALTERNATE.sub("", word.lower())).strip()


# A phrase's words are one filler only when spoken together; a filler is one
# only when it stands apart from the sentence, with a pause on at least one
# side (the recording's start or end counts as one). Inside flowing speech
# "you know" and "I mean" are words ("Did you know that...").
FILLER_WORD_GAP = 0.1
FILLER_PAUSE = 0.15
# A removed filler takes the quiet beside it (silences from this long, the
# signal below the silence threshold, touching its words' edges within
# FILLER_EDGE): its cut then begins and ends in quiet, not on the
# recogniser's word edges, and no pause is left where it was.
QUIET_POINT_SECONDS = 0.1
FILLER_EDGE = 0.05


def find_fillers(words: Sequence[Word], fillers: Sequence[str]) -> list[tuple[float, float, str]]:
    """Filler words and phrases, longest phrase first, with their timings:
    contiguous words that stand apart from the sentence around them."""
    phrases = sorted({tuple(f.lower().split()) for f in fillers}, key=len, reverse=True)
    spoken = [_normalise(w.word) for w in words]

    def contiguous(first: int, last: int) -> bool:
        return all(words[i + 1].start - words[i].end < FILLER_WORD_GAP for i in range(first, last))

    def stands_apart(first: int, last: int) -> bool:
        before = first == 0 or words[first].start - words[first - 1].end >= FILLER_PAUSE
        after = last == len(words) - 1 or words[last + 1].start - words[last].end >= FILLER_PAUSE
        return before or after

    found: list[tuple[float, float, str]] = []
    index = 0
    while index < len(words):
        for phrase in phrases:
            last = index + len(phrase) - 1
            if (
                tuple(spoken[index : last + 1]) == phrase
                and contiguous(index, last)
                and stands_apart(index, last)
            ):
                found.append((words[index].start, words[last].end, " ".join(phrase)))
                index = last + 1
                break
        else:
            index += 1
    return found


# A short stretch of sound standing between pauses may be a filler the
# recogniser left out (Whisper leaves out most "um"s and "uh"s) or misheard.
# It gets a second look (a search among fillers and short real words), and
# is cut as a filler only when that look hears a filler the parameters name
# and the main transcript holds no real word there: a sentence's first word
# after a long pause ("First,", "So,") is never cut, whatever the look heard.
SECOND_LOOK_SECONDS = 0.8
# Whisper's word times lag and stretch: a sentence's last word runs on into
# the lone "erm" after it, its next sentence's first word starts in the lone
# "uh" before it, a lone "Yes." runs on into the pause after it. So a word
# is tied to the one sound holding most of it, and is spoken there when at
# least WORD_THERE_SHARE of it lies there, or when it covers that share of
# the sound and makes a sentence alone (SAID_ALONE: not "firm" or "storm",
# which Whisper writes for an "erm"). A word timed shorter than
# TIMED_WORD_SECONDS has no time to tie (Whisper's "How?" of 20 ms in an "um").
WORD_THERE_SHARE = 0.5
TIMED_WORD_SECONDS = 0.05
# The unstressed words Whisper writes for a filler it takes for speech ("A"
# for an "uh", "the" for an "erm"). Alone between pauses they make no
# sentence (lone_words leaves them out for that reason), so they never
# overrule a filler the second look heard.
FILLER_LOOKALIKES = frozenset({"a", "an", "the", "to", "of", "them", "than", "that"})


def short_sounds(
    duration: float, quiet: Sequence[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The stretches of sound at most SECOND_LOOK_SECONDS long with at least
    FILLER_PAUSE of quiet (or the recording's edge) on both sides."""
    edges = [(0.0, 0.0), *sorted(quiet), (duration, duration)]
    found = []
    for (before_start, start), (end, after_end) in itertools.pairwise(edges):
        quiet_before = start - before_start >= FILLER_PAUSE or start == 0
        quiet_after = after_end - end >= FILLER_PAUSE or end >= duration
        if 0 < end - start <= SECOND_LOOK_SECONDS and quiet_before and quiet_after:
            found.append((start, end))
    return found


def _filler_words(fillers: Sequence[str]) -> frozenset[str]:
    """Every word that is no real word: the default fillers' and the
    parameters' (a filler left out of PLAN_FILLERS is kept, not taken for a
    real word)."""
    return frozenset(w for f in (*DEFAULT_FILLERS, *fillers) for w in f.lower().split())


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


class Ties:
    """Each of the transcript's words under the one sound holding most of
    it (WORD_THERE_SHARE), worked out once: a plan asks of hundreds of
    sounds which words are spoken there."""

    def __init__(self, words: Sequence[Word], sounds: Sequence[tuple[float, float]]) -> None:
        self.sounds = list(sounds)  # sorted and apart, as ``sounds_of`` gives them
        self._words: dict[tuple[float, float], list[Word]] = {}
        ends = [b for _, b in self.sounds]
        for word in words:
            span = (word.start, word.end)
            if word.end - word.start < TIMED_WORD_SECONDS:
                continue
            best, most = None, 0.0
            # The sounds the word reaches: from the first one ending after its start.
            for sound in self.sounds[bisect.bisect_right(ends, word.start) :]:
                if sound[0] >= word.end:
                    break
                if (overlap := _overlap(sound, span)) > most:
                    best, most = sound, overlap
            if best is not None:
                self._words.setdefault(best, []).append(word)

    def spoken_in(self, sound: tuple[float, float]) -> list[Word]:
        """The words tied to ``sound`` that are spoken there: at least
        WORD_THERE_SHARE of the word lies there, or it covers that share of
        the sound and makes a sentence alone."""
        return [
            word
            for word in self._words.get(sound, [])
            if (inside := _overlap(sound, (word.start, word.end)))
            >= WORD_THERE_SHARE * (word.end - word.start)
            or (
                inside >= WORD_THERE_SHARE * (sound[1] - sound[0])
                and _normalise(word.word) in SAID_ALONE
            )
        ]


def real_word_there(sound: tuple[float, float], ties: Ties, fillers: Sequence[str]) -> Word | None:
    """The main transcript's real word (not a filler, nor one of
    FILLER_LOOKALIKES) spoken in ``sound``, one of ``ties.sounds``."""
    not_words = _filler_words(fillers) | FILLER_LOOKALIKES
    return next((w for w in ties.spoken_in(sound) if _normalise(w.word) not in not_words), None)


def _with_quiet_around(
    sound: tuple[float, float], sounds: Sequence[tuple[float, float]]
) -> tuple[float, float]:
    """``sound`` widened to the sounds before and after it."""
    before = max((b for a, b in sounds if b <= sound[0]), default=0.0)
    after = min((a for a, b in sounds if a >= sound[1]), default=math.inf)
    return before, after


def _fillers_by_short_sounds(
    words: Sequence[Word],
    fillers: Sequence[str],
    ties: Ties,
    shorts: Sequence[tuple[float, float]],
) -> list[tuple[float, float, str]]:
    """The transcript's single-word fillers in a short sound that holds no
    real word, or in the quiet around it: the signal shows them standing
    apart, however Whisper's word times run into the words beside them."""
    alone = [
        _with_quiet_around(s, ties.sounds)
        for s in shorts
        if real_word_there(s, ties, fillers) is None
    ]
    wanted = {f.lower().strip() for f in fillers if " " not in f.strip()}
    return [
        (w.start, w.end, text)
        for w in words
        if (text := _normalise(w.word)) in wanted
        and any(_overlap(span, (w.start, w.end)) > 0 for span in alone)
    ]


def spotted_fillers(
    looked: Sequence[tuple[float, float, str]], ties: Ties, fillers: Sequence[str]
) -> list[tuple[float, float, str]]:
    """The sounds the second look heard as fillers that are cut: fillers the
    parameters name, where the main transcript holds no real word."""
    wanted = {f.lower().strip() for f in fillers}
    return [
        (start, end, text)
        for start, end, text in looked
        if text.lower() in wanted and real_word_there((start, end), ties, fillers) is None
    ]


def _apart_in_signal(
    filler: tuple[float, float, str], quiet: Sequence[tuple[float, float]], duration: float
) -> bool:
    """The signal, not the recogniser's word timings, says a filler stands
    apart: a quiet stretch of at least FILLER_PAUSE touches one of its edges
    (within FILLER_EDGE), or it is at the recording's start or end."""
    start, end, _ = filler
    if start <= FILLER_EDGE or end >= duration - FILLER_EDGE:
        return True
    return any(
        b - a >= FILLER_PAUSE and a <= edge + FILLER_EDGE and b >= edge - FILLER_EDGE
        for a, b in quiet
        for edge in (start, end)
    )


def sounds_of(duration: float, quiet: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The stretches of sound: the recording minus its quiet stretches."""
    found, cursor = [], 0.0
    for start, end in sorted(quiet):
        if start > cursor:
            found.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < duration:
        found.append((cursor, duration))
    return found


def filler_sound(
    filler: tuple[float, float, str],
    quiet: Sequence[tuple[float, float]],
    speech: Ties,
) -> tuple[float, float] | None:
    """The sound that is a filler the recogniser heard, when the signal shows
    it: a sound in which none of ``speech`` (the transcript's words that are
    no filler) is spoken, which the filler's span overlaps or reaches
    through a quiet stretch at (or within FILLER_EDGE of) its edges
    (Whisper's times can place a lone "um" in the pause after it, and
    stretch it into the next sentence's first sound). The one it overlaps
    most, else the nearest. None when there is none (a filler spoken into the next word with
    no quiet between): its heard span stands."""
    start, end, _ = filler
    reach_start, reach_end = start, end
    for a, b in quiet:
        if a - FILLER_EDGE <= start <= b + FILLER_EDGE:
            reach_start = min(reach_start, a)
        if a - FILLER_EDGE <= end <= b + FILLER_EDGE:
            reach_end = max(reach_end, b)
    own = [
        (a, b)
        for a, b in speech.sounds
        if a <= reach_end and b >= reach_start and not speech.spoken_in((a, b))
    ]
    if not own:
        return None

    def fit(sound: tuple[float, float]) -> tuple[float, float]:
        a, b = sound
        overlap = min(b, end) - max(a, start)
        return (-max(overlap, 0.0), max(a - end, start - b, 0.0))

    return min(own, key=fit)


def _subtract(
    cut: tuple[float, float], protected: Sequence[tuple[float, float]], padding: float
) -> list[tuple[float, float]]:
    """``cut`` minus every protected interval (widened by ``padding``)."""
    pieces = [cut]
    for start, end in protected:
        start, end = start - padding, end + padding
        next_pieces = []
        for a, b in pieces:
            if end <= a or start >= b:
                next_pieces.append((a, b))
                continue
            if start > a:
                next_pieces.append((a, start))
            if end < b:
                next_pieces.append((end, b))
        pieces = next_pieces
    return pieces


def _heard_in_sound(word: Word, pauses: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return _subtract((word.start, word.end), pauses, 0.0)


def plan_cuts(
    duration: float,
    silences: Sequence[tuple[float, float]],
    words: Sequence[Word],
    parameters: PlannerParameters,
    spotted: Sequence[tuple[float, float, str]] = (),
) -> CutPlan:
    """``spotted``: the short sounds the second look heard as fillers; cut
    like the recogniser's own only where ``spotted_fillers`` allows.

    Pauses come from the signal alone: a word protects only the part of its
    span that is sound, never a pause of at least ``min_pause`` (a
    recogniser's word edges can stretch far into the quiet beside it, and
    Whisper's times can place a whole word in the pause after its sound)."""
    p = parameters
    sounds = sounds_of(duration, silences)
    ties = Ties(words, sounds)
    heard = [f for f in find_fillers(words, p.fillers) if _apart_in_signal(f, silences, duration)]
    heard += [
        f
        for f in _fillers_by_short_sounds(words, p.fillers, ties, short_sounds(duration, silences))
        if not any(_overlap((f[0], f[1]), (a, b)) > 0 for a, b, _ in heard)
    ]
    heard.sort()
    spotted_cut = spotted_fillers(spotted, ties, p.fillers)
    pauses = [(a, min(b, duration)) for a, b in silences if min(b, duration) - a >= p.min_pause]
    # A filler's own words are not speech, wherever the signal places its cut.
    spoken = [
        w
        for w in words
        if not any(s <= w.start < e or s < w.end <= e for s, e, _ in [*heard, *spotted_cut])
    ]
    speech = [piece for w in spoken for piece in _heard_in_sound(w, pauses)]
    speech_ties = Ties(spoken, sounds)
    # Where the signal shows a filler's sound (the second look's are such
    # sounds), that sound is cut, not the words' times: True. Else its words'
    # times, less the words around it: False.
    filler_spans: list[tuple[float, float, str, bool]] = sorted(
        [*((*f, True) for f in spotted_cut)]
        + [
            (*sound, text, True) if sound is not None else (start, end, text, False)
            for start, end, text in heard
            for sound in [filler_sound((start, end, text), silences, speech_ties)]
        ]
    )

    candidates: list[tuple[float, float, str]] = []
    for start, end in silences:
        end = min(end, duration)
        if end - start < p.min_pause:
            continue
        # Keep some air next to speech; none is needed at the file's edges.
        inner = (
            start + (p.padding if start > 0 else 0),
            end - (p.padding if end < duration else 0),
        )
        for a, b in _subtract(inner, speech, p.padding):
            candidates.append((a, b, f"pause {end - start:.2f} s"))
    for start, end, text, in_signal in filler_spans:
        # Into the quiet beside it, keeping air next to the words around it.
        for a, b in silences:
            if b >= start - FILLER_EDGE and a <= end + FILLER_EDGE:
                start = min(start, a + (p.padding if a > 0 else 0))
                end = max(end, min(b, duration) - (p.padding if b < duration else 0))
        # A sound the signal shows is the filler's, with the quiet around it,
        # holds no real word: word times stretching into it protect nothing.
        pieces = [(start, end)] if in_signal else _subtract((start, end), speech, 0.0)
        for a, b in pieces:
            candidates.append((a, b, f'filler "{text}"'))

    merged: list[tuple[float, float, str]] = []
    for start, end, reason in sorted(candidates):
        if merged:
            last_start, last_end, last_reason = merged[-1]
            gap_has_speech = any(s < start and e > last_end for s, e in speech)
            if start - last_end <= p.merge_gap and not gap_has_speech:
                joined = last_reason if reason in last_reason else f"{last_reason}; {reason}"
                merged[-1] = (last_start, max(end, last_end), joined)
                continue
        merged.append((start, end, reason))

    cuts = [(round(a, 3), round(b, 3), r) for a, b, r in merged if b - a >= max(p.min_cut, 0.001)]
    total = round(duration, 3)
    segments: list[PlanSegment] = []
    cursor = 0.0
    for start, end, reason in cuts:
        start, end = max(start, cursor), min(end, total)
        if end <= start:
            continue
        if start > cursor:
            segments.append(PlanSegment(start=cursor, end=start, action="keep", reason="speech"))
        segments.append(PlanSegment(start=start, end=end, action="cut", reason=reason))
        cursor = end
    if cursor < total:
        segments.append(PlanSegment(start=cursor, end=total, action="keep", reason="speech"))
    kept = round(sum(s.end - s.start for s in segments if s.action == "keep"), 3)
    return CutPlan(
        source_duration=total,
        parameters=p,
        segments=segments,
        total_cuts=sum(1 for s in segments if s.action == "cut"),
        kept_duration=kept,
        cut_duration=round(total - kept, 3),
    )
