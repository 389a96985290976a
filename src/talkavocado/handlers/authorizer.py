"""Lambda entry point of the API's token authorizer."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from talkavocado.api.authorizer import AuthorizerSettings, authorize
from talkavocado.support.observability import logger, metrics, tracer
from talkavocado.wiring import settings, token_verifier


@tracer.capture_lambda_handler
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext
) -> dict[str, Any]:
    config = settings()
    judged_by = AuthorizerSettings(
        token_verifier(), config.tenant_claim, allow_anonymous=config.allow_unauthenticated
    )
    return authorize(event, context, judged_by)
