"""TransactWriteItems in the embedded emulator at the cost of the items it
touches. moto deep-copies every table a transaction names, to roll back on
failure: the cost grows with the table, and the jobs table grows by a
history item per transition, so a long run slowed to a crawl. Instead, the
touched items are saved before the transaction and put back if it fails;
the tables are no longer copied. Semantics are moto's: all or nothing."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.dynamodb import models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_IN_TRANSACTION = threading.local()


class _CopyWithoutTables:
    """moto's ``copy`` module, except that a table named by a transaction is
    not copied (its touched items are saved instead)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(_IN_TRANSACTION, "active", False):
            return value
        return copy.deepcopy(value, memo)


@contextmanager
def _tables_not_copied() -> Iterator[None]:
    _IN_TRANSACTION.active = True
    try:
        yield
    finally:
        _IN_TRANSACTION.active = False


def _keys_of(table: Table, operation: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    key = operation.get("Key") or operation["Item"]
    range_value = DynamoType(key[table.range_key_attr]) if table.has_range_key else None
    return DynamoType(key[table.hash_key_attr]), range_value


def install() -> None:
    """Once per process; harmless to call again."""
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "saves_touched_items", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            operation = next(iter(entry.values()))
            table = self.tables.get(operation.get("TableName"))
            if table is None:
                continue
            try:
                hash_value, range_value = _keys_of(table, operation)
            except KeyError:  # malformed: moto refuses it before any write
                continue
            before = table.get_item(hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(before)))
        try:
            with _tables_not_copied():
                original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, before in reversed(saved):
                table.delete_item(hash_value, range_value)
                if before is not None and range_value is not None:
                    table.items[hash_value][range_value] = before
                elif before is not None:
                    table.items[hash_value] = before  # type: ignore[assignment]
            raise

    transact_write_items.saves_touched_items = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _CopyWithoutTables()  # type: ignore[attr-defined, assignment]
