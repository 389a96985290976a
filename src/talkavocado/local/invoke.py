"""Loading a function's real handler and the Lambda context it is invoked with."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from talkavocado.local.template import ACCOUNT_ID

REGION = "us-east-1"


def load_handler(handler: str) -> Callable[[dict[str, Any], Any], Any]:
    """``package.module.function`` as written in template.yaml's Handler."""
    module_name, _, attribute = handler.rpartition(".")
    function: Callable[[dict[str, Any], Any], Any] = getattr(
        importlib.import_module(module_name), attribute
    )
    return function


@dataclass
class LocalContext:
    """The attributes of ``LambdaContext`` that the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 10_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"

    @classmethod
    def for_function(cls, function_name: str, timeout_s: int = 10) -> LocalContext:
        return cls(function_name=function_name, timeout_ms=timeout_s * 1000)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
