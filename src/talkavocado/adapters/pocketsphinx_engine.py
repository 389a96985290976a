"""Offline English transcription with PocketSphinx (its wheel ships the
en-US model). Its endpointer finds the utterances (silence is never decoded)
and every core decodes them: one decoder process per core, each taking the
next utterance as soon as it has answered the last, the words merged in time
order. Memory stays bounded: at most BACKLOG utterances per decoder wait.

The words never depend on how many cores share the work: every utterance is
decoded by a decoder that has decoded nothing before (a fork of one that has
just loaded the model). A decoder that goes on from one utterance to the next
carries a little search state across, enough to change a word now and then.

Decoder processes are plain subprocesses talking over pipes (Lambda has no
shared memory for multiprocessing's queues)."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import queue
import random
import re
import struct
import subprocess
import sys
import tempfile
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, Any

from talkavocado.errors import ConfigurationError, ErrorType, StepFailed
from talkavocado.media.lone_words import LONE_WORDS
from talkavocado.media.transcript import Segment, Word

_NOT_WORDS = {"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]", "<unk>"}
_ALTERNATE = re.compile(r"\(\d+\)$")
FRAMES_PER_SECOND = 100  # PocketSphinx's default frame rate
SAMPLE_RATE = 16000
_HEADER = struct.Struct("<dI")  # an utterance's offset (s) and its byte count
BACKLOG = 8  # utterances queued per decoder (bounds the memory they hold)


def _frames(pcm: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """(frame, is_last): fixed-size frames from chunks of any size. The last
    is padded with silence to a full frame, even when the audio ends exactly
    on a frame boundary (the endpointer must see an end-of-stream frame)."""
    pending = b""
    for chunk in pcm:
        pending += chunk
        while len(pending) > size:
            yield pending[:size], False
            pending = pending[size:]
    yield pending.ljust(size, b"\0"), True


def _utterances(pcm: Iterable[bytes]) -> Iterator[tuple[float, bytes]]:
    """(offset in seconds, samples) of each stretch of speech."""
    import pocketsphinx

    endpointer = pocketsphinx.Endpointer(sample_rate=SAMPLE_RATE)
    speech: list[bytes] = []
    for frame, last in _frames(pcm, int(endpointer.frame_bytes)):
        found = endpointer.end_stream(frame) if last else endpointer.process(frame)
        if found is not None:
            speech.append(found)
            if not endpointer.in_speech:
                yield endpointer.speech_start, b"".join(speech)
                speech = []


def _decoder() -> Any:
    import pocketsphinx

    pocketsphinx.set_loglevel("FATAL")
    # Batch CMN: each utterance normalised by its own cepstral mean, not by
    # those of whichever utterances this decoder took before.
    return pocketsphinx.Decoder(samprate=SAMPLE_RATE, cmn="batch")


def _decode(decoder: Any, offset: float, speech: bytes) -> list[tuple[str, float, float]]:
    decoder.start_utt()
    decoder.process_raw(speech, full_utt=True)
    decoder.end_utt()
    return [
        (
            _ALTERNATE.sub("", item.word),
            round(offset + item.start_frame / FRAMES_PER_SECOND, 3),
            round(offset + (item.end_frame + 1) / FRAMES_PER_SECOND, 3),
        )
        for item in decoder.seg()
        if item.word not in _NOT_WORDS
    ]


def _segment(words: list[tuple[str, float, float]]) -> Segment | None:
    if not words:
        return None
    # The Python bindings expose no calibrated word posterior.
    timed = [Word(word=w, start=s, end=e, confidence=None) for w, s, e in words]
    return Segment(
        text=" ".join(w.word for w in timed), start=timed[0].start, end=timed[-1].end, words=timed
    )


def _in_fork(work: Callable[[], str], what: str) -> str:
    """``work``'s answer, worked out in a fork of this process: a decoder
    forked from one that has just loaded its model is fresh, and copying its
    memory costs far less than loading the model again. The child only
    decodes and writes to a pipe, so no lock another thread held matters."""
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        status = 1
        try:
            os.close(reader)
            with os.fdopen(writer, "w") as answer:
                answer.write(work())
            status = 0
        finally:
            os._exit(status)  # a fork leaves without the parent's clean-up
    os.close(writer)
    with os.fdopen(reader) as answer:
        written = answer.read()
    if os.waitpid(child, 0)[1] != 0 or not written:
        raise SystemExit(f"the decoder of {what} stopped")
    return written


def _decode_fresh(decoder: Any, offset: float, speech: bytes) -> str:
    """The utterance's words (a JSON line), decoded by a fork of ``decoder``,
    which stays as it was."""
    return _in_fork(
        lambda: json.dumps(_decode(decoder, offset, speech)) + "\n",
        f"the utterance at {offset:.2f} s",
    )


class _Running:
    """The decoder processes running now. Each runs in a session of its own,
    as ffmpeg does, so a Ctrl-C meant for the local runtime does not stop
    them under a step; the runtime interrupts them itself once its grace
    period on shutdown is over."""

    def __init__(self) -> None:
        self.processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def add(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.processes.add(process)

    def discard(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self.processes.discard(process)

    def interrupt_all(self) -> int:
        """Stop every decoder: their steps fail as retryable."""
        with self._lock:
            running = list(self.processes)
        for process in running:
            if process.poll() is None:
                process.terminate()
        return len(running)


RUNNING = _Running()
interrupt_all = RUNNING.interrupt_all


class _DecoderProcess:
    """One decoder in a child process: an utterance in on stdin, its words out
    on stdout. Its thread takes the next utterance from the queue that all
    decoders share only once the decoder has answered the last one, so a
    free decoder never waits while another works through a backlog."""

    def __init__(self, work: queue.Queue[tuple[float, bytes] | None]) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - this module, by the same interpreter
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        RUNNING.add(self._process)
        self._work = work
        self.results: list[list[tuple[str, float, float]]] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        broken = False
        while (utterance := self._work.get()) is not None:
            if broken:
                continue  # drained, so that the feeder never waits on a dead decoder
            offset, speech = utterance
            try:
                stdin.write(_HEADER.pack(offset, len(speech)) + speech)
                stdin.flush()
                self.results.append([tuple(word) for word in json.loads(stdout.readline())])
            except (BrokenPipeError, ValueError):  # no answer, or half of one
                broken = True
                self.stop()  # its exit status fails the step
        with contextlib.suppress(BrokenPipeError):
            stdin.close()

    def finish(self) -> None:
        """Once the end of the work is queued: the decoder's exit checked."""
        self._thread.join()
        status = self._process.wait()
        RUNNING.discard(self._process)
        if status != 0:
            # Killed (a signal, a timeout, memory): not the recording's fault.
            raise StepFailed(
                ErrorType.TRANSIENT_DEPENDENCY,
                f"a decoder stopped (exit {self._process.returncode}); the step is retried",
            )

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        RUNNING.discard(self._process)


class PocketSphinxEngine:
    name = "pocketsphinx"
    language = "en"
    sample_rate = SAMPLE_RATE

    def __init__(self, decoders: int | None = None) -> None:
        try:
            installed = version("pocketsphinx")
        except PackageNotFoundError:
            # The transcription function's Lambda package holds faster-whisper only.
            raise ConfigurationError(
                "pocketsphinx is not installed here: pip install 'talkavocado[media]'",
                field="TRANSCRIPTION_ENGINE",
            ) from None
        self.model = f"pocketsphinx-{installed}-en-us"
        self._decoders = decoders or len(os.sched_getaffinity(0))

    def transcribe(self, pcm: Iterable[bytes]) -> list[Segment]:
        found = [_segment(words) for words in self._decode_in_parallel(pcm)]
        return sorted((s for s in found if s is not None), key=lambda s: s.start)

    def _decode_in_parallel(self, pcm: Iterable[bytes]) -> list[list[tuple[str, float, float]]]:
        work: queue.Queue[tuple[float, bytes] | None] = queue.Queue(BACKLOG * self._decoders)
        processes = [_DecoderProcess(work) for _ in range(self._decoders)]
        try:
            for utterance in _utterances(pcm):
                work.put(utterance)
        except BaseException:
            for process in processes:
                process.stop()  # its thread then drains what is queued
            raise
        finally:
            for _ in processes:
                work.put(None)  # one end for each decoder's thread
        try:
            for process in processes:
                process.finish()
        finally:
            for process in processes:
                process.stop()
        return [words for process in processes for words in process.results]


# The second look hears each clip over a faint noise floor, this far under
# the clip's own level: the model knows quiet rooms, not digital silence. On
# 516 espeak-ng clips of lone real words padded with digital silence, it took
# 80 for fillers without the floor and 2 with it. The floor is the same
# every time, so the same clip is always heard the same way.
FLOOR_DB = -30.0


@functools.cache
def _unit_noise() -> array[float]:
    """A second of Gaussian noise of unit spread, made on first use (not at
    import: the decoder processes and cold starts never need it)."""
    generator = random.Random(0)
    return array("f", (generator.gauss(0.0, 1.0) for _ in range(SAMPLE_RATE)))


def _over_floor(pcm: bytes) -> bytes:
    samples = array("h", pcm)
    if not samples:
        return pcm
    level = math.sqrt(sum(s * s for s in samples) / len(samples)) * 10 ** (FLOOR_DB / 20)
    noise = _unit_noise()
    return array(
        "h",
        (
            max(-32768, min(32767, round(s + level * noise[i % len(noise)])))
            for i, s in enumerate(samples)
        ),
    ).tobytes()


# Fillers as the model's phones, beside the dictionary's own: "erm" said with
# the vowel of "air" (no English word is EH R M).
FILLER_PRONUNCIATIONS = {"erm": ("ER M", "EH R M"), "uhm": ("AH M",)}


# The views of a clip the second look hears, as seconds cut from both ends
# (the planner's clips carry 80 ms of the quiet around a sound): a filler
# either view hears is taken. On the bench talks (espeak-ng, two flite
# voices) the 50 ms view alone found 47 of 75 lone fillers, both found 58;
# of 1,068 clips of real words said alone (espeak-ng, 3 voices, in digital
# silence and over noise) the 80 ms view took none, the 50 ms one ("firm"),
# and a 30 ms view would have taken 8 more.
TRIMS_SECONDS = (0.03, 0.0)


def _filler_grammar(fillers: Iterable[str]) -> tuple[set[str], dict[str, list[str]]]:
    """The single-word fillers the dictionary knows, and the pronunciations
    of the search's words: those fillers and LONE_WORDS."""
    import pocketsphinx

    wanted = {f.strip().lower() for f in fillers if " " not in f.strip()}
    pronunciations: dict[str, list[str]] = {}
    for line in Path(pocketsphinx.Config()["dict"]).read_text(encoding="utf-8").splitlines():
        word, _, phones = line.partition(" ")
        if (word := _ALTERNATE.sub("", word)) in wanted or word in LONE_WORDS:
            pronunciations.setdefault(word, []).append(phones.strip())
    for filler, variants in FILLER_PRONUNCIATIONS.items():
        pronunciations.setdefault(filler, []).extend(variants)
    known = wanted & set(pronunciations)
    if not known:
        raise ConfigurationError("no single-word filler the recogniser's dictionary knows")
    words = known | (LONE_WORDS & set(pronunciations))
    return known, {word: pronunciations[word] for word in sorted(words)}


class _FillerSearch:
    """The one-word search, in the process that hears the clips (one thread:
    each view is heard by a fork of its decoder)."""

    def __init__(self, fillers: Iterable[str]) -> None:
        import pocketsphinx

        pocketsphinx.set_loglevel("FATAL")
        self.fillers, pronunciations = _filler_grammar(fillers)
        with tempfile.TemporaryDirectory() as scratch:
            grammar = Path(scratch) / "sound.gram"
            choices = " | ".join(pronunciations)
            grammar.write_text(f"#JSGF V1.0;\ngrammar sound;\npublic <sound> = {choices} ;\n")
            # Only the grammar's words: a small dictionary loads in milliseconds.
            dictionary = Path(scratch) / "sound.dict"
            dictionary.write_text(
                "".join(
                    f"{word}{f'({n})' if n > 1 else ''} {phones}\n"
                    for word, variants in pronunciations.items()
                    for n, phones in enumerate(variants, 1)
                )
            )
            # Batch CMN: a clip of a second has too few frames to adapt live
            # means. The search's own best path, not a lattice's: the lattice
            # of a clip ending in digital silence can lack an end node.
            self._decoder = pocketsphinx.Decoder(
                samprate=SAMPLE_RATE,
                jsgf=str(grammar),
                dict=str(dictionary),
                cmn="batch",
                bestpath=False,
            )

    def spot(self, pcm: bytes) -> str:
        """The filler heard in ``pcm`` as given or with TRIMS_SECONDS cut
        from both ends (empty: none): the search's answer turns on a few
        milliseconds at a clip's edges (the same "erm" 1 ms later was heard
        as no filler)."""
        for trim in TRIMS_SECONDS:
            cut = round(trim * SAMPLE_RATE) * 2
            if len(pcm) <= 2 * cut:
                continue
            # Each view heard by a fresh fork of the decoder: one that goes
            # on from clip to clip hears each by the ones before it (on a
            # 10-minute talk, 4 of 46 lone fillers went unheard that way).
            heard = functools.partial(self._heard_line, pcm[cut : len(pcm) - cut])
            word = _in_fork(heard, "a short sound").strip()
            if word in self.fillers:
                return word
        return ""

    def _heard_line(self, pcm: bytes) -> str:
        """The grammar's word heard in ``pcm`` (empty: none), as a line."""
        self._decoder.start_utt()
        self._decoder.process_raw(_over_floor(pcm), full_utt=True)
        self._decoder.end_utt()
        hypothesis = self._decoder.hyp()
        return (_ALTERNATE.sub("", hypothesis.hypstr).strip() if hypothesis else "") + "\n"


class PocketSphinxFillerSpotter:
    """A search among the fillers and the words people say on their own (a
    JSGF grammar of one word): a lone "um" the recogniser heard as "bomb" is
    found, and a short real word ("Yes.", "Great.", "Three.") finds itself
    rather than the nearest filler.

    The search runs in a process of its own, started on first use and kept:
    it forks for every view of a clip, and a fork is only safe in a process
    of one thread (beside Whisper's threads, in the local runtime's one
    process, a fork waited forever on a lock one of them held)."""

    sample_rate = SAMPLE_RATE

    def __init__(self, fillers: Iterable[str]) -> None:
        self._fillers = sorted(_filler_grammar(fillers)[0])  # a bad configuration fails here
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def spot(self, pcm: bytes) -> str | None:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(  # noqa: S603 - this module, by this interpreter
                    [sys.executable, "-m", __name__, "--spot", *self._fillers],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    start_new_session=True,  # a Ctrl-C is the runtime's to pass on
                )
                RUNNING.add(self._process)
            stdin, stdout = self._process.stdin, self._process.stdout
            assert stdin is not None and stdout is not None
            try:
                stdin.write(_HEADER.pack(0.0, len(pcm)) + pcm)
                stdin.flush()
                answer = stdout.readline()
            except BrokenPipeError:
                answer = b""
            if not answer.endswith(b"\n"):  # stopped: interrupted, or killed
                RUNNING.discard(self._process)
                self._process = None
                raise StepFailed(
                    ErrorType.TRANSIENT_DEPENDENCY, "the second look stopped; the step is retried"
                )
        return answer.decode().strip() or None


def _serve_spots(source: IO[bytes], sink: IO[str], fillers: list[str]) -> None:
    """A search process: each clip read is answered with the filler heard."""
    search = _FillerSearch(fillers)
    while header := source.read(_HEADER.size):
        _, size = _HEADER.unpack(header)
        sink.write(search.spot(source.read(size)) + "\n")
        sink.flush()


def _serve(source: IO[bytes], sink: IO[str]) -> None:
    """A decoder process: each utterance read is answered with its words."""
    decoder = _decoder()
    while header := source.read(_HEADER.size):
        offset, size = _HEADER.unpack(header)
        sink.write(_decode_fresh(decoder, offset, source.read(size)))
        sink.flush()


if __name__ == "__main__":
    try:
        if sys.argv[1:2] == ["--spot"]:
            _serve_spots(sys.stdin.buffer, sys.stdout, sys.argv[2:])
        else:
            _serve(sys.stdin.buffer, sys.stdout)
    except KeyboardInterrupt:  # Ctrl-C of the local runtime: the step is retried
        sys.exit(130)
