"""Celery tasks of the search app: thin wrappers around its services."""

from celery import shared_task

from search import services


@shared_task(name="search.tasks.index_search_documents", acks_late=True)
def index_search_documents() -> int:
    """Beat, every minute: drain the queue of changed records. Idempotent (a redelivery finds
    the queue empty, or rewrites the same documents)."""
    return services.index_all_pending()


@shared_task(name="search.tasks.rebuild_search_index", acks_late=True)
def rebuild_search_index(kinds: list[str] | None = None) -> dict:
    """Write every document again (rebuild_search_index runs the same service)."""
    return services.rebuild(kinds=kinds or tuple(services.SOURCES))
