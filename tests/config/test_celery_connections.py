"""Celery tasks keep their database connection as requests do (DB_CONN_MAX_AGE), instead of a new
PostgreSQL backend for every task (Celery's Django fixup closed it around each one)."""


def test_a_worker_task_gets_djangos_connection_rule_and_an_in_process_task_keeps_the_callers(monkeypatch, settings):
    """The fixup is told never to close the connection itself; each task run by a worker gets Django's
    CONN_MAX_AGE rule, as a request does. A task run in-process (inside the caller's transaction) leaves the
    caller's connection alone."""
    import django.db

    from config import celery as celery_config

    closed = []
    monkeypatch.setattr(django.db, "close_old_connections", lambda: closed.append(True))

    class Task:
        class request:
            is_eager = False

    celery_config._database_connections_as_for_a_request(task=Task)
    Task.request.is_eager = True
    celery_config._database_connections_as_for_a_request(task=Task)

    assert closed == [True]
    assert settings.CELERY_DB_REUSE_MAX >= 2**31  # the fixup's own closing never comes
