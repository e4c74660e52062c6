"""The time the sweeps run at: now, or now moved forward by a test clock.

``TEST_CLOCK_FILE`` (tests and drills only; unset in production) names a file holding an offset in
seconds. A browser test moves time for a real Celery worker and beat by writing that file: the
approval sweep then escalates and the expiry sweep expires as if days had passed, without an ETA or a
sleep. Without the setting this is :func:`django.utils.timezone.now`.
"""

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    path = getattr(settings, "TEST_CLOCK_FILE", "")
    if not path:
        return timezone.now()
    try:
        offset = float(Path(path).read_text().strip() or 0)
    except (OSError, ValueError):
        offset = 0.0
    return timezone.now() + timedelta(seconds=offset)
