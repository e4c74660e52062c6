import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one beat schedule. Time-based work is an idempotent sweep, never a long ETA.
app.conf.beat_schedule = {
    "outbox-sweep": {"task": "directory.outbox_sweep", "schedule": 60.0},
    "users-purge-deleted": {"task": "directory.users_purge_deleted", "schedule": crontab(minute=17)},
}
