from celery import shared_task

from . import services


@shared_task(name="directory.outbox_deliver", acks_late=True, ignore_result=True)
def outbox_deliver_task(message_id: str) -> bool:
    # No-op when the message was sent already; failures are retried by the sweep, with backoff.
    return services.outbox_deliver(message_id=message_id)


@shared_task(name="directory.outbox_sweep", acks_late=True, ignore_result=True)
def outbox_sweep_task() -> int:
    """Deliver what is pending and due (a crash, a broker outage or an SMTP failure left it unsent)."""
    sent = 0
    for message_id in services.outbox_due_ids():
        sent += services.outbox_deliver(message_id=message_id)
    return sent


@shared_task(name="directory.users_purge_deleted", acks_late=True, ignore_result=True)
def users_purge_deleted_task() -> int:
    return services.users_purge_deleted()


@shared_task(name="directory.outbox_deliver_many", acks_late=True, ignore_result=True)
def outbox_deliver_many_task(message_ids: list[str]) -> int:
    # One task for a batch written together (a bulk invitation chunk); each message is still sent at
    # most once, and what fails is left to the sweep as with outbox_deliver.
    return sum(services.outbox_deliver(message_id=message_id) for message_id in message_ids)
