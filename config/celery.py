import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# A task's database connection is treated as a request's: Celery's Django fixup closes it around every task
# whatever CONN_MAX_AGE says (a new PostgreSQL backend per task, the costliest part of sending one e-mail);
# told never to (CELERY_DB_REUSE_MAX in the settings), it leaves the connection to Django's own rule, applied
# before and after each task as around each request: closed after the task with DB_CONN_MAX_AGE=0 (the
# default), else kept and health-checked before its next use (DATABASES' conn_health_checks).
@task_prerun.connect
@task_postrun.connect
def _database_connections_as_for_a_request(task=None, **_kwargs) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return  # run in-process, inside the caller's request or transaction: its connection is the caller's
    from django.db import close_old_connections

    close_old_connections()

# The one beat schedule. Time-based work is an idempotent sweep, never a long ETA: running beat twice by
# mistake runs each sweep twice, and that changes nothing (bench/drills/beat_twice.py).
# OUTBOX_SWEEP_SECONDS: the longest an e-mail waits after its task was lost (a killed worker, Redis down);
# BULK_SWEEP_SECONDS: the same for a bulk invitation job. PURGE_SWEEP_SECONDS (drills only) replaces the
# hourly purge's schedule by an interval.
def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


app.conf.beat_schedule = {
    "outbox-sweep": {"task": "directory.outbox_sweep", "schedule": _seconds("OUTBOX_SWEEP_SECONDS", 60)},
    "bulk-invitations-resume": {"task": "invitations.bulk_sweep", "schedule": _seconds("BULK_SWEEP_SECONDS", 60)},
    # Entitlement management (ENTITLEMENT_SWEEP_SECONDS: drills and browser tests shorten it).
    "entitlements-approvals": {"task": "entitlements.approvals_sweep",
                               "schedule": _seconds("ENTITLEMENT_SWEEP_SECONDS", 300)},
    "entitlements-expiry": {"task": "entitlements.expiry_sweep", "schedule": _seconds("ENTITLEMENT_SWEEP_SECONDS", 300)},
    "entitlements-lifecycle": {"task": "entitlements.lifecycle_sweep",
                               "schedule": _seconds("ENTITLEMENT_SWEEP_SECONDS", 300)},
    "entitlements-deliveries": {"task": "entitlements.deliveries_sweep",
                                "schedule": _seconds("ENTITLEMENT_SWEEP_SECONDS", 120)},
    # Access reviews: start, remind, end and apply (ACCESS_REVIEW_SWEEP_SECONDS: browser tests shorten it).
    "access-reviews": {"task": "entitlements.access_reviews_sweep",
                       "schedule": _seconds("ACCESS_REVIEW_SWEEP_SECONDS", 300)},
    "users-purge-deleted": {
        "task": "directory.users_purge_deleted",
        "schedule": _seconds("PURGE_SWEEP_SECONDS", 0) or crontab(minute=17),
    },
    "sign-in-log-purge": {"task": "directory.sign_in_events_purge", "schedule": crontab(minute=37)},
}
