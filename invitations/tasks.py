from celery import shared_task

from . import bulk

# Below CELERY_TASK_SOFT_TIME_LIMIT: a long job continues in a fresh task instead of being killed.
BULK_TIME_BUDGET_SECONDS = 600


@shared_task(name=bulk.PROCESS_TASK, acks_late=True, ignore_result=True)
def process_bulk_invitation_task(job_id: str) -> str:
    job = bulk.bulk_invitation_job_process(job_id=job_id, time_budget=BULK_TIME_BUDGET_SECONDS)
    if job.state == job.State.RUNNING:  # out of time, not done: continue where the last chunk ended
        process_bulk_invitation_task.delay(job_id)
    return job.state
