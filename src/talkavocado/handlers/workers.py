"""Lambda entry points of the pipeline workers (SQS-triggered, partial batch
responses). One function per step of talkavocado.pipeline.PIPELINE, plus the
dead-letter handler."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.wiring import dead_letter_worker, step_worker

Event = dict[str, Any]


def audio_extraction(event: Event, context: LambdaContext) -> Event:
    return step_worker("audio-extraction").handle(event, context)


def transcription(event: Event, context: LambdaContext) -> Event:
    return step_worker("transcription").handle(event, context)


def smart_cut_planner(event: Event, context: LambdaContext) -> Event:
    return step_worker("smart-cut-planner").handle(event, context)


def video_render(event: Event, context: LambdaContext) -> Event:
    return step_worker("video-render").handle(event, context)


def job_finalizer(event: Event, context: LambdaContext) -> Event:
    return step_worker("job-finalizer").handle(event, context)


def dead_letter(event: Event, context: LambdaContext) -> Event:
    return dead_letter_worker().handle(event, context)
