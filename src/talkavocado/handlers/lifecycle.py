"""Lambda entry points of the job lifecycle outside the pipeline's steps."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.support.observability import logger, metrics, tracer
from talkavocado.wiring import deadline_sweep, input_stored_worker, notifier


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def input_stored(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return input_stored_worker().handle(event, context)


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def notify(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Webhook notifications of job outcomes: fan-out, then signed deliveries."""
    return notifier().handle(event, context)


@tracer.capture_lambda_handler
@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def sweep_deadlines(event: dict[str, Any], context: LambdaContext) -> dict[str, int | bool]:
    """Scheduled: fail every open job past its deadline."""
    return deadline_sweep().handle(context.get_remaining_time_in_millis)
