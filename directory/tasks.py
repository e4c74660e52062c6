from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.conf import settings

from . import delivery, queue
from .actors import Actor
from .services import sign_in_events_purge, users_purge_deleted
from .services.outbox import DRAIN_TASK

# Below CELERY_TASK_SOFT_TIME_LIMIT: a sweep with more due than it can send leaves the rest to the next one.
SWEEP_TIME_BUDGET_SECONDS = 300


@shared_task(name="directory.outbox_deliver", acks_late=True, ignore_result=True)
def outbox_deliver_task(message_id: str) -> bool:
    # Services wake outbox_drain instead; kept for tasks an older server published, and for tests.
    # No-op when the message was sent already; failures are retried by the sweep, with backoff.
    # The process's SMTP connection is kept for the next task (a burst goes over one connection).
    return delivery.outbox_deliver(message_id=message_id, keep_connection=True)


@shared_task(name=DRAIN_TASK, bind=True, acks_late=True, ignore_result=True)
def outbox_drain_task(self) -> int:
    """Woken by every message written (directory/queue.py: one task for a burst): deliver what is due until
    nothing came for OUTBOX_DRAIN_LINGER_SECONDS. Run eagerly (no broker) it does not linger: its caller waits."""
    linger = 0.0 if self.request.is_eager else settings.OUTBOX_DRAIN_LINGER_SECONDS
    try:
        return delivery.outbox_drain(
            linger=linger, poll=max(settings.OUTBOX_DRAIN_POLL_SECONDS, 0.01), time_budget=SWEEP_TIME_BUDGET_SECONDS,
            hold=lambda: queue.wake_hold(DRAIN_TASK), hold_every=queue.WAKE_MARK_SECONDS / 3,
            drop=lambda: queue.wake_drop(DRAIN_TASK),
            handover=lambda: queue.wake(DRAIN_TASK), keep_connection=True)
    except BaseException:
        # Failed (the database went away): the next message written wakes a new drain at once, not once the
        # mark has expired; what was written meanwhile is due for it or the sweep.
        queue.wake_drop(DRAIN_TASK)
        raise


@shared_task(name="directory.outbox_sweep", acks_late=True, ignore_result=True)
def outbox_sweep_task() -> int:
    """Deliver what is pending and due (a crash, a broker outage or an SMTP failure left it unsent).

    Two sweeps at once (beat run twice, a slow sweep overlapping the next) share the work: each
    message is taken by one of them (row locks), never sent twice."""
    return delivery.outbox_sweep(time_budget=SWEEP_TIME_BUDGET_SECONDS, keep_connection=True)


@shared_task(name="directory.users_purge_deleted", acks_late=True, ignore_result=True)
def users_purge_deleted_task() -> int:
    return users_purge_deleted(actor=Actor.system(None, "Purge users deleted more than 30 days ago"))


@shared_task(name="directory.outbox_deliver_many", acks_late=True, ignore_result=True)
def outbox_deliver_many_task(message_ids: list[str]) -> int:
    # Kept for tasks an older server published (services wake outbox_drain now). Each message is still sent at
    # most once, and what fails is left to the sweep as with outbox_deliver.
    return delivery.outbox_deliver_many(message_ids=message_ids, keep_connection=True)


@shared_task(name="directory.sign_in_events_purge", acks_late=True, ignore_result=True)
def sign_in_events_purge_task() -> int:
    return sign_in_events_purge(actor=Actor.system(None, "Purge sign-in log rows past their retention"))


@worker_process_shutdown.connect  # a prefork child
@worker_shutdown.connect  # the solo pool's one process
def _close_kept_mail_connection(**_kwargs) -> None:
    delivery.kept_mailer_close()
