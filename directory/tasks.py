from celery import shared_task

from . import delivery
from .actors import Actor
from .services import users_purge_deleted


@shared_task(name="directory.outbox_deliver", acks_late=True, ignore_result=True)
def outbox_deliver_task(message_id: str) -> bool:
    # No-op when the message was sent already; failures are retried by the sweep, with backoff.
    return delivery.outbox_deliver(message_id=message_id)


@shared_task(name="directory.outbox_sweep", acks_late=True, ignore_result=True)
def outbox_sweep_task() -> int:
    """Deliver what is pending and due (a crash, a broker outage or an SMTP failure left it unsent)."""
    sent = 0
    for message_id in delivery.outbox_due_ids():
        sent += delivery.outbox_deliver(message_id=message_id)
    return sent


@shared_task(name="directory.users_purge_deleted", acks_late=True, ignore_result=True)
def users_purge_deleted_task() -> int:
    return users_purge_deleted(actor=Actor.system(None, "Purge users deleted more than 30 days ago"))


@shared_task(name="directory.outbox_deliver_many", acks_late=True, ignore_result=True)
def outbox_deliver_many_task(message_ids: list[str]) -> int:
    # One task for a batch written together (a bulk invitation chunk); each message is still sent at
    # most once, and what fails is left to the sweep as with outbox_deliver.
    return sum(delivery.outbox_deliver(message_id=message_id) for message_id in message_ids)
