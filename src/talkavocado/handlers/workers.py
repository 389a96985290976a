"""Lambda entry points of the pipeline workers (SQS-triggered, partial batch
responses): one for every step of talkavocado.domain.pipeline.PIPELINE, plus the
dead-letter handler. Each record of a batch binds its own correlation id."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.domain.pipeline import step_of_queue
from talkavocado.errors import ConfigurationError
from talkavocado.support.observability import logger, metrics, tracer
from talkavocado.wiring import dead_letter_worker, step_worker

Event = dict[str, Any]


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def step(event: Event, context: LambdaContext) -> Event:
    """Every step's function: the step is the one whose queue delivered the
    batch (``talkavocado-{env}-{step}``), so a new step needs no handler."""
    records = event.get("Records") or []
    if not records:
        return {"batchItemFailures": []}
    source = str(records[0].get("eventSourceARN", ""))
    found = step_of_queue(source)
    if found is None:
        raise ConfigurationError(f"no pipeline step consumes the queue {source[-200:]!r}")
    return step_worker(found.name).handle(event, context)


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def dead_letter(event: Event, context: LambdaContext) -> Event:
    return dead_letter_worker().handle(event, context)
