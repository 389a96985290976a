"""Lambda entry point of the job API (``POST /jobs``, ``GET /jobs/{jobId}``)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.api.app import handle
from talkavocado.api.routing import ApiServices
from talkavocado.support.observability import logger, metrics, tracer
from talkavocado.wiring import job_queries, job_service, settings, webhook_service


# A response may hold a secret shown once (a new webhook's): not kept in traces.
@tracer.capture_lambda_handler(capture_response=False)
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, context, _services)


def _services() -> ApiServices:
    return ApiServices(job_service(), job_queries(), webhook_service(), settings().tenant_claim)
