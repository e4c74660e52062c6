"""A bare Celery app with the project's broker settings (acks_late, prefetch 1, long-running tasks cancelled on
a lost connection) and one slow task: what tests/config/test_broker.py runs a real worker of."""

import os
import time

from celery import Celery

app = Celery("broker_app", broker=os.environ["BROKER_TEST_URL"])
app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                worker_cancel_long_running_tasks_on_connection_loss=True, broker_connection_retry_on_startup=True,
                task_ignore_result=True, broker_transport_options={"visibility_timeout": 3600},
                broker_transport=os.environ.get("BROKER_TEST_TRANSPORT") or None)


@app.task(name="broker_app.slow", acks_late=True)
def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"
