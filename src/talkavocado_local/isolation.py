"""Each invocation its own Powertools state, as each Lambda execution
environment has its own. On AWS one environment runs one event at a time, so
the handlers use Powertools as documented: the logger's keys and the metric
set are module-level. The local runtime runs many functions in one process,
so it keeps that state in a context variable and runs every invocation in a
fresh context: keys appended by one never show in another's lines."""

from __future__ import annotations

import contextvars
import copy
import functools
import os
from contextvars import ContextVar
from typing import Any

from talkavocado.support.observability import logger, metrics
from talkavocado_local.invoke import Handler


def _per_context(instance: object, attributes: tuple[str, ...]) -> None:
    """``instance``'s ``attributes`` read from and written to the current
    context; each context starts from a copy of their values now."""
    initial = {name: copy.deepcopy(getattr(instance, name)) for name in attributes}
    state: ContextVar[dict[str, Any]] = ContextVar(f"{type(instance).__name__}_state")

    def current() -> dict[str, Any]:
        values = state.get(None)
        if values is None:
            values = copy.deepcopy(initial)
            state.set(values)
        return values

    def attribute(name: str) -> property:
        return property(
            lambda _self: current()[name],
            lambda _self, value: current().__setitem__(name, value),
        )

    cls = type(instance)
    properties = {name: attribute(name) for name in attributes}
    instance.__class__ = type(f"PerInvocation{cls.__name__}", (cls,), properties)


_installed = False


def install() -> None:
    """Once per process, before the first invocation: the logger's appended
    keys, and the metric set with its dimensions and metadata."""
    global _installed
    # Metrics are CloudWatch EMF documents: on AWS they become metrics, here
    # they would only bury the logs. POWERTOOLS_METRICS_DISABLED=false shows them.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    if not _installed:
        _per_context(logger.registered_formatter, ("log_format",))
        _per_context(
            metrics.provider,
            ("metric_set", "dimension_set", "dimension_sets", "metadata_set", "timestamp"),
        )
        _installed = True


def in_own_context(handler: Handler) -> Handler:
    """The handler run in a fresh context at each invocation."""
    install()

    @functools.wraps(handler)
    def invoke(event: dict[str, Any], context: Any) -> Any:
        return contextvars.Context().run(handler, event, context)

    return invoke
