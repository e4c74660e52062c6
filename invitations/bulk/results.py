"""The results of a bulk job: one CSV line per input row, written chunk by chunk and joined at the end."""

import csv
import io
from collections.abc import Iterable

from ..models import BulkInvitationJob, BulkInvitationResultChunk

RESULT_HEADER = ("row", "email", "result", "reason", "invitation id", "redeem url")
CREATED = "created"  # a new invitation, for a new guest or for one already in the directory
ALREADY_INVITED = "already invited"  # by an earlier row of the same file
ERROR = "error"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ENDED = (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED)


def csv_safe(value) -> str:
    """A cell that a spreadsheet would run as a formula is written as text."""
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_lines(lines: Iterable[tuple]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for line in lines:
        writer.writerow([csv_safe(cell) for cell in line])
    return buffer.getvalue()


def results_csv(job_id) -> str:
    """The results CSV so far: complete once the job has ended, the committed chunks while it runs."""
    jobs = BulkInvitationJob.objects.filter(pk=job_id).values_list("state", "results")
    state, results = jobs.get()
    if state in _ENDED:
        return results
    lines = "".join(BulkInvitationResultChunk.objects.filter(job_id=job_id).values_list("lines", flat=True))
    if not lines:  # the job may have ended (and its chunks become ``results``) between the two reads
        state, ended = jobs.get()
        if state in _ENDED:
            return ended
    return results + lines


def results_rows(job_id) -> list[dict[str, str]]:
    """The job's results as dicts (for the CLI and tests)."""
    return list(csv.DictReader(io.StringIO(results_csv(job_id), newline="")))


def error_rows(job_id, *, limit: int) -> list[dict[str, str]]:
    """The first ``limit`` rows that ended in an error (row number, address, why), for the job's page.
    The redemption links are left out: the page shows only what went wrong."""
    found = []
    for line in csv.DictReader(io.StringIO(results_csv(job_id), newline="")):
        if line.get("result") == ERROR:
            found.append({"row": line["row"], "email": line["email"], "reason": line["reason"]})
            if len(found) >= limit:
                break
    return found
