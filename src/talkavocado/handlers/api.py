"""Lambda entry point of the job API (``POST /jobs``, ``GET /jobs/{jobId}``)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.api.app import handle


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context)
