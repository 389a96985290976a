"""Lambda entry points of the job lifecycle outside the pipeline's steps."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.wiring import input_stored_worker


def input_stored(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return input_stored_worker().handle(event, context)
