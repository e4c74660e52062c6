"""Who saw redemption links in bulk: the results of a bulk invitation job hold one link per invited row,
and downloading them is recorded like every other place that shows a link.

(Belongs with the bulk jobs; kept in its own module while ``invitations/bulk.py`` becomes a package.)
"""

import csv
import io

from django.db import transaction

from directory.actors import Actor, require_actor
from directory.audit import Target, audit

from .models import BulkInvitationJob

REDEEM_URL_COLUMN = "redeem url"


def count_redeem_urls(results_csv: str) -> int:
    """How many rows of a bulk job's results CSV carry a redemption link."""
    reader = csv.DictReader(io.StringIO(results_csv.lstrip("\ufeff"), newline=""))
    return sum(1 for row in reader if (row.get(REDEEM_URL_COLUMN) or "").strip())


@transaction.atomic
def bulk_results_redeem_urls_read(*, actor: Actor, job: BulkInvitationJob, results_csv: str, interface: str) -> int:
    """Record that ``actor`` was handed the redemption links in ``results_csv`` (one audit row per download,
    "Read invite redeem URL", with the job and the number of links). Returns that number; a download
    without links writes nothing."""
    require_actor(actor)
    links = count_redeem_urls(results_csv)
    if links:
        tenant = job.tenant
        details = {"bulkInvitationJobId": job.pk, "redeemUrls": links, "interface": interface}
        if actor.app is not None:
            details.update(appId=actor.app.client_id, appDisplayName=actor.app.display_name)
        audit(tenant=tenant, actor=actor.in_tenant(tenant), activity="Read invite redeem URL",
              targets=[Target(tenant)], details=details)
    return links
