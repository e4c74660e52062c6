import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

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
