"""The recogniser decodes every utterance on every core: one decoder process
per core, words merged in time order, the same transcript every time, and a
decoder that dies is a retryable failure, never a wrong transcript. The
planner's second look tells a lone filler from a short real word."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from queue import Queue

import pytest
from bench.exactness import pcm_of
from bench.talks import SHORT_WORDS

from talkavocado.adapters import ffmpeg
from talkavocado.adapters import pocketsphinx_engine as engine
from talkavocado.adapters.pocketsphinx_engine import PocketSphinxFillerSpotter
from talkavocado.errors import ErrorType, StepFailed
from talkavocado.media.lone_words import LONE_WORDS
from talkavocado.media.planner import DEFAULT_FILLERS
from talkavocado.media.transcript import Segment
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "tests" / "fixtures" / "sample_talk.mp4"


def pcm_chunks(path: Path) -> Iterator[bytes]:
    with ffmpeg.pcm_stream(path, engine.SAMPLE_RATE) as pcm:
        yield from iter(lambda: pcm.read(65536), b"")


def transcribe(decoders: int) -> list[Segment]:
    return engine.PocketSphinxEngine(decoders=decoders).transcribe(pcm_chunks(SAMPLE))


def test_parallel_decoding_gives_time_ordered_words_the_same_every_time() -> None:
    first, again = transcribe(decoders=3), transcribe(decoders=3)
    assert first == again
    starts = [segment.start for segment in first]
    assert starts == sorted(starts) and len(first) >= 3
    words = [word for segment in first for word in segment.words]
    assert all(a.end <= b.start + 1e-6 for a, b in itertools.pairwise(words))
    assert words[-1].end <= 27.0  # the sample is 26.x s


def served(utterances: list[tuple[float, bytes]]) -> dict[float, list[tuple[str, float, float]]]:
    """A decoder process's answers, by utterance."""
    requests = b"".join(engine._HEADER.pack(o, len(s)) + s for o, s in utterances)
    answers = io.StringIO()
    engine._serve(io.BytesIO(requests), answers)
    lines = answers.getvalue().splitlines()
    return {
        offset: [tuple(word) for word in json.loads(line)]
        for (offset, _), line in zip(utterances, lines, strict=True)
    }


def test_an_utterance_gets_the_same_words_whatever_the_decoder_decoded_before() -> None:
    utterances = list(engine._utterances(pcm_chunks(SAMPLE)))
    assert len(utterances) >= 3
    in_order, backwards = served(utterances), served(utterances[::-1])
    assert in_order == backwards
    for offset, speech in utterances:  # as a decoder that never decoded before
        assert in_order[offset] == engine._decode(engine._decoder(), offset, speech)


def test_one_decoder_and_many_give_the_same_transcript() -> None:
    assert transcribe(decoders=1) == transcribe(decoders=3)


def watch_decoders(
    monkeypatch: pytest.MonkeyPatch, kill: int | None = None
) -> list[engine._DecoderProcess]:
    """Every decoder process started from now on; the ``kill``-th is killed at once."""
    started: list[engine._DecoderProcess] = []
    real_init = engine._DecoderProcess.__init__

    def init(self: engine._DecoderProcess, work: Queue[tuple[float, bytes] | None]) -> None:
        real_init(self, work)
        started.append(self)
        if len(started) == kill:
            self._process.send_signal(signal.SIGKILL)

    monkeypatch.setattr(engine._DecoderProcess, "__init__", init)
    return started


def test_a_decoder_killed_mid_work_is_a_retryable_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = watch_decoders(monkeypatch, kill=2)
    with pytest.raises(StepFailed) as failed:
        transcribe(decoders=2)
    assert failed.value.type == ErrorType.TRANSIENT_DEPENDENCY
    assert all(process._process.poll() is not None for process in started)  # none left


def test_a_decoder_interrupted_mid_utterance_exits_quietly_with_a_failure() -> None:
    speech = b"".join(pcm_chunks(SAMPLE))  # the whole sample as one long utterance
    decoder = subprocess.Popen(
        [sys.executable, "-m", engine.__name__],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert decoder.stdin is not None and decoder.stdout is not None
    for utterance in (speech[:3200], speech):  # the first answered: the model is loaded
        decoder.stdin.write(engine._HEADER.pack(0.0, len(utterance)) + utterance)
        decoder.stdin.flush()
    decoder.stdout.readline()
    time.sleep(0.3)  # into the long one
    decoder.send_signal(signal.SIGINT)  # as Ctrl-C of the local runtime does
    _, stderr = decoder.communicate(timeout=60)
    assert decoder.returncode != 0  # the engine fails the step as retryable
    assert b"Traceback" not in stderr


# A program that transcribes in a worker thread, as the local runtime's
# pollers do, while its main thread waits for Ctrl-C, as `talkavocado up` does.
_UP_LIKE = """
import sys, threading, time
from pathlib import Path
from talkavocado.adapters import pocketsphinx_engine as engine

pcm = Path(sys.argv[1]).read_bytes()
outcome = []

def work():
    try:
        engine.PocketSphinxEngine(decoders=2).transcribe(
            pcm[i : i + 65536] for i in range(0, len(pcm), 65536)
        )
        outcome.append("finished")
    except Exception as error:
        outcome.append(type(error).__name__)

threading.Thread(target=work, daemon=True).start()
while len(engine.RUNNING.processes) < 2:
    time.sleep(0.01)
print("decoding", flush=True)
try:
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    time.sleep(1.0)  # what a terminal Ctrl-C did to the decoders shows by now
    alive = [p for p in list(engine.RUNNING.processes) if p.poll() is None]
    print("alive", len(alive), "outcome", outcome, flush=True)
    engine.interrupt_all()  # the runtime's own interrupt, after the grace period
    while not outcome:
        time.sleep(0.05)
    print("after interrupt", outcome[0], flush=True)
"""


def test_a_terminal_ctrl_c_does_not_reach_the_decoders(tmp_path: Path) -> None:
    pcm = tmp_path / "talk.pcm"
    pcm.write_bytes(b"".join(pcm_chunks(SAMPLE)) * 4)  # long enough to be mid-work
    program = subprocess.Popen(
        [sys.executable, "-c", _UP_LIKE, str(pcm)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    assert program.stdout is not None
    try:
        assert program.stdout.readline().strip() == "decoding"
        time.sleep(0.5)
        os.killpg(program.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        output, _ = program.communicate(timeout=120)
    finally:
        if program.poll() is None:
            program.kill()
    assert "alive 2 outcome []" in output  # still decoding a second after Ctrl-C
    assert "after interrupt StepFailed" in output  # then interrupted: a retryable failure


def test_a_failing_audio_stream_leaves_no_decoder_or_feeding_thread_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = watch_decoders(monkeypatch)

    def broken_stream() -> Iterator[bytes]:
        chunks = pcm_chunks(SAMPLE)
        yield from itertools.islice(chunks, 20)  # a few utterances in
        raise OSError("the audio stream broke")

    threads_before = threading.active_count()
    with pytest.raises(OSError, match="broke"):
        engine.PocketSphinxEngine(decoders=2).transcribe(broken_stream())
    assert len(started) == 2
    assert all(process._process.poll() is not None for process in started)
    for process in started:
        process._thread.join(timeout=10)
    assert threading.active_count() == threads_before


def test_a_free_decoder_takes_the_next_utterance_while_another_is_held_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    utterances = len(list(engine._utterances(pcm_chunks(SAMPLE))))
    started = watch_decoders(monkeypatch)
    held_up = threading.Event()

    def hold_up_the_first_decoder() -> None:
        while len(started) < 2:
            time.sleep(0.01)
        started[0]._process.send_signal(signal.SIGSTOP)
        held_up.set()
        deadline = time.monotonic() + 120
        # Released once the other has answered every utterance but the one
        # the held-up decoder holds (or, failing that, after two minutes).
        while len(started[1].results) < utterances - 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        started[0]._process.send_signal(signal.SIGCONT)

    monkeypatch.setattr(engine, "_utterances", held_back(engine._utterances, held_up))
    release = threading.Thread(target=hold_up_the_first_decoder)
    release.start()
    segments = transcribe(decoders=2)
    release.join()
    assert len(started[1].results) >= utterances - 1 and len(started[0].results) <= 1
    assert segments == transcribe(decoders=1)


def held_back(
    utterances: Callable[[Iterable[bytes]], Iterator[tuple[float, bytes]]], until: threading.Event
) -> Callable[[Iterable[bytes]], Iterator[tuple[float, bytes]]]:
    """The utterances, the first one only once ``until`` is set."""

    def wait_then(pcm: Iterable[bytes]) -> Iterator[tuple[float, bytes]]:
        until.wait(timeout=30)
        yield from utterances(pcm)

    return wait_then


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_the_second_look_finds_lone_fillers_and_never_takes_a_short_real_word(
    tmp_path: Path,
) -> None:
    spotter = PocketSphinxFillerSpotter(DEFAULT_FILLERS)

    def spoken(text: str) -> bytes:
        """As the planner clips it: from where the sound rises above the
        silence threshold to where it falls under it, with an 80 ms margin
        (of digital silence here, as in a generated talk)."""
        path = tmp_path / "said.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
        samples = pcm_of(path)
        loud = [i for i, s in enumerate(samples) if abs(s) > 32768 * 10 ** (-35 / 20)]
        margin = bytes(2 * round(0.08 * engine.SAMPLE_RATE))
        return margin + samples[loud[0] : loud[-1] + 1].tobytes() + margin

    # The bench's own lone words, words the grammar does not hold (a word
    # the search cannot pick must not fall to the nearest filler), and words
    # it took for fillers when it heard them over digital silence.
    unheard = ("Tea.", "Blue.", "Star.", "Shirt.", "Jam.", "Owl.", "Verb.", "Purr.", "Oil.")
    assert not {w.strip(".").lower() for w in unheard} & LONE_WORDS
    over_silence = ("Done.", "But.", "Up.", "On.", "All.", "Sir.", "Some.", "Drum.", "Ugh.")
    taken = [w for w in (*SHORT_WORDS, *unheard, *over_silence) if spotter.spot(spoken(w))]
    assert taken == []
    found = [spotter.spot(spoken(filler)) for filler in ("um", "uh", "erm", "hmm")]
    assert sum(word is not None for word in found) >= 3, found  # most, not every one


def test_the_second_look_hears_each_sound_as_if_it_had_heard_nothing_before() -> None:
    # Two short sounds of the 10-minute bench talk (bench.talks, seed 4) as
    # the planner clips them: a lone "Well." (58.20 s) and a lone "um"
    # (78.61 s). A decoder going on from the first heard no filler in the
    # second.
    pcm = pcm_of(REPO_ROOT / "tests" / "fixtures" / "second_look_well_then_um.wav").tobytes()
    well, um = pcm[:15926], pcm[15926:]
    spotter = PocketSphinxFillerSpotter(DEFAULT_FILLERS)
    assert [spotter.spot(well), spotter.spot(um)] == [None, "um"]
    assert [spotter.spot(um), spotter.spot(well), spotter.spot(um)] == ["um", None, "um"]


def test_the_second_look_hears_a_clip_over_the_same_faint_noise_floor_every_time() -> None:
    clip = array("h", (round(8000 * math.sin(i / 9)) for i in range(12000)))
    floored = array("h", engine._over_floor(clip.tobytes()))
    added = [b - a for a, b in zip(clip, floored, strict=True)]
    level = math.sqrt(sum(s * s for s in clip) / len(clip)) * 10 ** (engine.FLOOR_DB / 20)
    spread = math.sqrt(sum(n * n for n in added) / len(added))
    assert spread == pytest.approx(level, rel=0.1)  # noise 30 dB under the clip, not a DC offset
    assert abs(sum(added) / len(added)) < level / 10
    assert engine._over_floor(clip.tobytes()) == floored.tobytes()
    assert engine._over_floor(bytes(200)) == bytes(200)  # digital silence has no level to go under


def test_the_second_look_runs_apart_and_starts_again_after_an_interrupt() -> None:
    pcm = pcm_of(REPO_ROOT / "tests" / "fixtures" / "second_look_well_then_um.wav").tobytes()
    um = pcm[15926:]
    spotter = PocketSphinxFillerSpotter(DEFAULT_FILLERS)
    assert spotter.spot(um) == "um"
    # Its search is a process of its own, which the local runtime stops
    # with the decoders once its grace is over; the next look starts another.
    assert engine.interrupt_all() >= 1
    try:  # the look that meets the stopping process fails as retryable
        assert spotter.spot(um) == "um"
    except StepFailed as stopped:
        assert stopped.type is ErrorType.TRANSIENT_DEPENDENCY
    assert spotter.spot(um) == "um"
