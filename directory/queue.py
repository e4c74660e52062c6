"""Publishing background work by task name, after commit.

Services never import task modules (and tasks import services), so they publish through this: the
task is looked up in Celery's registry by its explicit name. ``Task.delay`` keeps in-process
(eager) mode working without a broker; a broker that is down only logs, because every published task
has a sweep that finds its work again.
"""

import logging

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def publish(task_name: str, *args) -> None:
    """Queue ``task_name(*args)`` now (call it from ``transaction.on_commit``)."""
    try:
        task(task_name).delay(*args)
    except Exception:  # the broker is down: the task's sweep picks the work up later
        logger.warning("Could not publish %s%r; its sweep will do it", task_name, args[:1])


def task(task_name: str):
    """The registered task called ``task_name`` (the apps' task modules are imported the first time)."""
    tasks = current_app.tasks
    if task_name not in tasks:
        current_app.loader.import_default_modules()  # runs the autodiscovery of every app's tasks.py
    return tasks[task_name]


def publish_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: publish(task_name, *args))
