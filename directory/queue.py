"""Publishing background work by task name, after commit.

Services never import task modules (and tasks import services), so they publish through this: the
task is looked up in Celery's registry by its explicit name. ``Task.delay`` keeps in-process
(eager) mode working without a broker; a broker that is down only logs, because every published task
has a sweep that finds its work again.

Work that arrives in bursts of small items (e-mail) *wakes* its task instead (:func:`wake_on_commit`): one
task is published for a burst, not one per item, and it works until nothing is left. The publisher and the
task share a mark in the cache (Redis, like the broker; per process in eager mode, where the task runs at
once): set, a task is queued or at work and will look for work once more before it ends.
"""

import logging
import os

from celery import current_app
from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
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


#: How long a wake mark outlives the last sign of life of its task: if the task was lost (a worker killed
#: under it, a broker that came back empty), the first write after this publishes a new one.
WAKE_MARK_SECONDS = 15


def wake_key(task_name: str) -> str:
    """The mark's cache key: per queue, as deployments sharing one Redis (and cache prefix) have a queue each."""
    return f"wake:{current_app.conf.task_default_queue}:{task_name}"


def wake_on_commit(task_name: str) -> None:
    """After commit, make sure ``task_name()`` runs soon: publish it unless one is queued or at work that
    will still look for work (:func:`wake`)."""
    transaction.on_commit(lambda: wake(task_name))


def wake(task_name: str) -> None:
    """Publish ``task_name()`` unless its mark is set. No write is missed: the woken task holds the mark
    while it works (:func:`wake_hold`) and, before it ends, drops it (:func:`wake_drop`) and then looks for
    work once more. A write committed before its wake found the mark set was committed before that drop, so
    that last look sees it; a wake after the drop publishes a new task."""
    try:
        if not _marks().add(wake_key(task_name)):
            return
    except Exception:  # the cache is unreachable: publish anyway (the broker may still be there)
        logger.warning("Could not read the wake mark of %s; publishing it", task_name)
    try:
        task(task_name).delay()
    except Exception:  # the broker is down: the task's sweep picks the work up later
        logger.warning("Could not publish %s; its sweep will do it", task_name)
        wake_drop(task_name)  # so that the next write tries again


def wake_hold(task_name: str) -> None:
    """The woken task is at work and will look again: writes meanwhile need not publish it."""
    try:
        _marks().set(wake_key(task_name))
    except Exception:  # without the mark, writes publish more tasks than needed: harmless
        logger.debug("Could not set the wake mark of %s", task_name, exc_info=True)


def wake_drop(task_name: str) -> None:
    """The woken task is about to end: from now on a write publishes a new one. Look for work once more after
    calling this."""
    try:
        _marks().delete(wake_key(task_name))
    except Exception:  # an unreachable cache: its mark expires by itself (WAKE_MARK_SECONDS)
        logger.debug("Could not drop the wake mark of %s", task_name, exc_info=True)


class _CacheMarks:
    """The marks through the cache's API (the local-memory cache of eager mode)."""

    @staticmethod
    def add(key: str) -> bool:
        return cache.add(key, 1, WAKE_MARK_SECONDS)

    @staticmethod
    def set(key: str) -> None:
        cache.set(key, 1, WAKE_MARK_SECONDS)

    @staticmethod
    def delete(key: str) -> None:
        cache.delete(key)


class _RedisMarks:
    """The marks in the cache's Redis, under the cache's own keys (``cache.get`` reads them), through one client
    kept by the process: a call of Django's Redis cache builds a client each time, 0.3 ms against 0.06 here, on
    the path of every message written (bench/README.md)."""

    def __init__(self, location: str, options: dict) -> None:
        import redis

        self.pid, self.location = os.getpid(), location
        self.client = redis.Redis.from_url(location, **{k: v for k, v in options.items() if k.startswith("socket_")})

    @staticmethod
    def _key(key: str) -> str:
        return cache.make_and_validate_key(key)

    def add(self, key: str) -> bool:
        return bool(self.client.set(self._key(key), 1, nx=True, ex=WAKE_MARK_SECONDS))

    def set(self, key: str) -> None:
        self.client.set(self._key(key), 1, ex=WAKE_MARK_SECONDS)

    def delete(self, key: str) -> None:
        self.client.delete(self._key(key))


_redis_marks: _RedisMarks | None = None


def _marks():
    """Where the marks are: the default cache's Redis when it is one (its first server), else the cache's API."""
    global _redis_marks
    config = settings.CACHES["default"]
    if not isinstance(caches["default"], RedisCache):
        return _CacheMarks
    location = config["LOCATION"]
    location = (location.split(",") if isinstance(location, str) else list(location))[0]
    marks = _redis_marks
    if marks is None or marks.pid != os.getpid() or marks.location != location:
        marks = _redis_marks = _RedisMarks(location, config.get("OPTIONS", {}))
    return marks
