"""Bulk invitations: read an uploaded CSV (:mod:`.source`), then invite its rows in set-based chunks
(:mod:`.runner` runs the job, :mod:`.writer` writes a chunk) and report one result line per row
(:mod:`.results`).

Every row is checked and written with the single invite's own functions (see :mod:`.writer`), so a row
ends as :func:`invitations.services.invitation_create` would end for it; an address repeated in the
same file is invited once and its later rows report "already invited" (row N).
"""

from ..services import default_redirect_url
from .results import ALREADY_INVITED, CREATED, ERROR, RESULT_HEADER, error_rows, results_csv, results_rows
from .runner import (
    CHUNK_SIZE,
    PROCESS_TASK,
    bulk_invitation_job_create,
    bulk_invitation_job_process,
    bulk_invitation_job_step,
    driven_by_page,
    publish_bulk_invitation_job,
)
from .source import (
    COLUMNS,
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    TEMPLATE_HEADERS,
    ParsedSource,
    SourceRow,
    decode_upload,
    parse_source,
)
from .writer import BulkDefaults

__all__ = [
    "ALREADY_INVITED",
    "CHUNK_SIZE",
    "COLUMNS",
    "CREATED",
    "ERROR",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "PROCESS_TASK",
    "RESULT_HEADER",
    "TEMPLATE_HEADERS",
    "BulkDefaults",
    "ParsedSource",
    "SourceRow",
    "bulk_invitation_job_create",
    "bulk_invitation_job_process",
    "bulk_invitation_job_step",
    "decode_upload",
    "default_redirect_url",
    "driven_by_page",
    "error_rows",
    "parse_source",
    "publish_bulk_invitation_job",
    "results_csv",
    "results_rows",
]
