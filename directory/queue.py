"""Publishing background work by task name, after commit.

Services never import task modules (and tasks import services), so they publish through this: the
task is looked up in Celery's registry by its explicit name. ``Task.delay`` keeps in-process
(eager) mode working without a broker; a broker that is down only logs, because every published task
has a sweep that finds its work again.

Work that many writers hand to one task (the outbox's mail: every request that writes a message wants it
sent) is published with :func:`publish_unless_queued`: while such a task is queued and has not started,
writers publish nothing more, and the task, once started, does everything that was written before it
(it calls :func:`queued_task_started` first). Under load one task sends many messages, over one mail
connection, instead of one task each.
"""

import logging

import redis
from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)

#: How long "a task is queued" holds when the task never starts (lost with a broker, purged): the longest
#: writers then publish nothing (the task's sweep still finds the work).
QUEUED_MARK_SECONDS = 30


def publish(task_name: str, *args, countdown: float | None = None) -> bool:
    """Queue ``task_name(*args)`` now (call it from ``transaction.on_commit``), to run ``countdown`` seconds
    from now if given; False if the broker is down."""
    try:
        task(task_name).apply_async(args, countdown=countdown or None)
    except Exception:  # the broker is down: the task's sweep picks the work up later
        logger.warning("Could not publish %s%r; its sweep will do it", task_name, args[:1])
        return False
    return True


def task(task_name: str):
    """The registered task called ``task_name`` (the apps' task modules are imported the first time)."""
    tasks = current_app.tasks
    if task_name not in tasks:
        current_app.loader.import_default_modules()  # runs the autodiscovery of every app's tasks.py
    return tasks[task_name]


def publish_on_commit(task_name: str, *args) -> None:
    transaction.on_commit(lambda: publish(task_name, *args))


def publish_unless_queued_on_commit(task_name: str, *, countdown: float | None = None) -> None:
    transaction.on_commit(lambda: publish_unless_queued(task_name, countdown=countdown))


def publish_unless_queued(task_name: str, *, countdown: float | None = None) -> None:
    """Queue ``task_name(mark)`` unless one published this way is queued and has not started yet.
    With ``countdown`` (seconds, below :data:`QUEUED_MARK_SECONDS`) the task starts that much later, and
    whatever is written meanwhile joins it: a little latency buys one task for a burst.

    The task must call :func:`queued_task_started` with its ``mark`` before it looks for work: whatever was
    committed before a writer found the mark set is then seen by the queued task. The mark is kept in the
    broker's Redis, beside the queue it describes (a web process and a worker need not share a cache),
    and expires after :data:`QUEUED_MARK_SECONDS`. Without a Redis broker (tasks run in-process), or
    when the mark cannot be read, the task is published every time."""
    app = current_app
    queue = app.conf.task_default_queue
    mark = f"queued:{queue}:{task_name}"
    client = None if app.conf.task_always_eager else _broker_redis(app.conf.broker_url)
    if client is not None:
        try:
            if not client.set(mark, 1, nx=True, ex=QUEUED_MARK_SECONDS):
                return  # a task is queued that has not started: it will see what was just committed
        except redis.RedisError:
            client = None  # publish anyway (and let publish log whether the broker is there)
    if not publish(task_name, mark, countdown=countdown) and client is not None:
        _forget_mark(client, mark)


def queued_task_started(mark: str) -> None:
    """Called first by a task published with :func:`publish_unless_queued`: writers from now on publish
    another one (this one may already be past their work)."""
    client = _broker_redis(current_app.conf.broker_url) if mark else None
    if client is not None:
        _forget_mark(client, mark)


def _forget_mark(client, mark: str) -> None:
    try:
        client.delete(mark)
    except redis.RedisError:  # it expires on its own
        logger.warning("Could not clear %s; it expires within %s s", mark, QUEUED_MARK_SECONDS)


_clients: dict[str, redis.Redis] = {}


def _broker_redis(broker_url: str | None) -> redis.Redis | None:
    """A Redis client on the broker's database (one per process and URL), or None for other brokers."""
    if not broker_url or not broker_url.startswith(("redis://", "rediss://")):
        return None
    client = _clients.get(broker_url)
    if client is None:
        client = _clients[broker_url] = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2)
    return client
