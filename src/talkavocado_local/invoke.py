"""Loading a function's real handler and the Lambda context it is invoked with."""

from __future__ import annotations

import functools
import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from talkavocado_local.template import ACCOUNT_ID, FunctionSpec

REGION = "us-east-1"


Handler = Callable[[dict[str, Any], Any], Any]


def load_handler(handler: str) -> Handler:
    """``package.module.function`` as written in template.yaml's Handler."""
    module_name, _, attribute = handler.rpartition(".")
    function: Handler = getattr(importlib.import_module(module_name), attribute)
    return function


def one_at_a_time(handler: Handler) -> Handler:
    """The handler invoked as Lambda invokes it: one event at a time per
    execution environment. Module-level state (Powertools' resolver and its
    ``current_event``) then never serves two requests at once, which
    concurrent callers of the local runtime would otherwise mix up."""
    lock = threading.Lock()

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        with lock:
            return handler(event, context)

    return invoke


@dataclass
class LocalContext:
    """The attributes of ``LambdaContext`` that the handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_ms: int = 10_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def for_function(
        cls, function_name: str, timeout_s: int = 10, memory_mb: int = 512
    ) -> LocalContext:
        return cls(function_name, memory_limit_in_mb=memory_mb, timeout_ms=timeout_s * 1000)

    @classmethod
    def of(cls, function: FunctionSpec) -> LocalContext:
        """A fresh invocation's context: the template's Timeout and MemorySize
        (the function's own, else Globals')."""
        return cls.for_function(function.logical_id, function.timeout, function.memory_mb)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        """Counts down from the function's Timeout, as Lambda's does."""
        elapsed_ms = (time.monotonic() - self.started) * 1000
        return max(0, int(self.timeout_ms - elapsed_ms))
