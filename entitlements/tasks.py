"""Celery tasks of entitlement management: thin, by id, idempotent (beat entries in config/celery.py)."""

from celery import shared_task

from directory import clock
from directory.actors import Actor

REASON = "Entitlement management"


@shared_task(name="entitlements.deliver_request", acks_late=True, max_retries=5)
def deliver_request_task(request_id: str) -> None:
    from .services import request_deliver

    request_deliver(actor=Actor.system(None, REASON), request_id=request_id)  # no-op unless still delivering


@shared_task(name="entitlements.deliveries_sweep", acks_late=True)
def deliveries_sweep_task() -> int:
    from .services import requests_deliver_due

    return requests_deliver_due(actor=Actor.system(None, REASON))


@shared_task(name="entitlements.approvals_sweep", acks_late=True)
def approvals_sweep_task() -> dict:
    from .services import requests_sweep_approvals

    return requests_sweep_approvals(actor=Actor.system(None, REASON), now=clock.now())


@shared_task(name="entitlements.expiry_sweep", acks_late=True)
def expiry_sweep_task() -> int:
    from .services import assignments_expire_due, assignments_warn_expiring

    now = clock.now()
    assignments_warn_expiring(actor=Actor.system(None, REASON), now=now)
    return assignments_expire_due(actor=Actor.system(None, REASON), now=now)


@shared_task(name="entitlements.lifecycle_sweep", acks_late=True)
def lifecycle_sweep_task() -> int:
    from .services import external_users_block_due, external_users_remove_due

    now = clock.now()
    blocked = external_users_block_due(actor=Actor.system(None, REASON), now=now)
    return blocked + external_users_remove_due(actor=Actor.system(None, REASON), now=now)


@shared_task(name="entitlements.access_reviews_sweep", acks_late=True)
def access_reviews_sweep_task() -> dict:
    from .services import access_reviews_sweep

    return access_reviews_sweep(actor=Actor.system(None, "Access reviews"))
