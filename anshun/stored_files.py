"""Uploaded files that outlive a rolled-back transaction are deleted.

A file is written to disk before the row that names it, and a transaction can still roll back
after that (a second photo that cannot be written, a later check, a failed commit): the row is
gone, the file would stay for ever with nothing pointing at it. ``TransactionalFileSystemStorage``
(the default storage) remembers every file it writes inside a transaction and registers an
``on_commit`` callback for it. Django discards the callbacks of a transaction or savepoint that
rolls back, so when the request or task ends (``request_finished``, Celery's ``task_postrun``),
a remembered file whose callback neither ran nor is still waiting belonged to work that was rolled
back, and is deleted. Files written outside any transaction are the caller's to keep or delete.
"""

from __future__ import annotations

import logging
import threading

from django.core.files.storage import FileSystemStorage
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, transaction

logger = logging.getLogger(__name__)
_local = threading.local()


class _Stored:
    __slots__ = ("storage", "name", "using")

    def __init__(self, storage, name: str, using: str):
        self.storage, self.name, self.using = storage, name, using

    def committed(self) -> None:
        _pending().discard(self)


def _pending() -> set[_Stored]:
    if not hasattr(_local, "pending"):
        _local.pending = set()
    return _local.pending


def remember(storage, name: str, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Delete ``name`` from ``storage`` unless the transaction now open commits."""
    if not connections[using].in_atomic_block:
        return
    stored = _Stored(storage, name, using)
    _pending().add(stored)
    transaction.on_commit(stored.committed, using=using)


def _waiting(stored: _Stored) -> bool:
    """Its callback is still queued: the transaction is open (or was committed and ran it)."""
    return any(func == stored.committed for _sids, func, _robust in connections[stored.using].run_on_commit)


def discard_rolled_back(**_kwargs) -> list[str]:
    """Delete the files of rolled-back work; returns their names."""
    deleted = []
    for stored in list(_pending()):
        if _waiting(stored):
            continue
        _pending().discard(stored)
        try:
            stored.storage.delete(stored.name)
            deleted.append(stored.name)
        except OSError:
            logger.warning("could not delete the orphan upload %s", stored.name, exc_info=True)
    return deleted


class TransactionalFileSystemStorage(FileSystemStorage):
    """``FileSystemStorage`` whose files written in a rolled-back transaction do not stay on disk."""

    def _save(self, name, content):
        saved = super()._save(name, content)
        remember(self, saved)
        return saved


request_finished.connect(discard_rolled_back, dispatch_uid="anshun.stored_files")


def connect_celery() -> None:
    from celery.signals import task_postrun

    task_postrun.connect(discard_rolled_back, weak=False, dispatch_uid="anshun.stored_files")


connect_celery()
