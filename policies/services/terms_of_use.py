"""Writes to terms of use (Graph ``agreement``): the agreements (``Agreement.ReadWrite.All``) and each
person's acceptance (the person themselves, from the acceptance page)."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor
from directory.audit import Change, Target, audit, register_activities, register_target_type
from directory.models import Tenant, User
from directory.services import authorize

from ..access import invalidate
from ..conditional_access import PolicyInvalid
from ..models import Agreement, AgreementAcceptance, AgreementFile
from ..models.terms_of_use import MAX_AGREEMENTS_PER_TENANT
from .collaboration import CATEGORY_POLICY

WRITE = "Agreement.ReadWrite.All"
MAX_PDF_BYTES = 10 * 1024 * 1024
_DAYS = re.compile(r"^P(\d{1,4})D$")

register_activities(CATEGORY_POLICY, {
    "Create terms of use": "Add", "Edit terms of use": "Update", "Delete terms of use": "Delete",
    "Accept terms of use": "Other", "Decline terms of use": "Other",
})
register_target_type(Agreement, "Policy")


def parse_days(value) -> int | None:
    """Graph's Duration for ``userReacceptRequiredFrequency`` ("P90D"); null: never."""
    if value is None:
        return None
    match = _DAYS.match(str(value)) if isinstance(value, str) else None
    if not match or int(match.group(1)) < 1:
        raise PolicyInvalid("userReacceptRequiredFrequency must be a whole number of days, e.g. P90D.")
    return int(match.group(1))


def _files(data) -> list[dict]:
    """Graph's ``files`` ([{language, fileName, isDefault, fileData: {data: base64 PDF}}]), plus ``text``
    (this deployment's own: the terms as plain text instead of a PDF)."""
    if not isinstance(data, list):
        raise PolicyInvalid("files must be a list of agreementFileLocalization objects.")
    files, languages = [], set()
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("language"), str) or not item["language"].strip():
            raise PolicyInvalid("Each file needs a language.")
        strings = [item["language"], *(item.get(k) for k in ("text", "fileName", "displayName"))]
        if any(isinstance(v, str) and "\x00" in v for v in strings):
            raise PolicyInvalid("A file's language, name and text cannot contain a NUL character.")
        language = item["language"].strip()
        if len(language) > 35 or not all(c.isalnum() or c == "-" for c in language):
            raise PolicyInvalid("A file's language must be a language tag such as en or en-US.")
        if language.lower() in languages:
            raise PolicyInvalid(f"Two files for the language {language[:10]}.")
        languages.add(language.lower())
        text = item.get("text") or ""
        pdf = None
        raw = (item.get("fileData") or {}).get("data") if isinstance(item.get("fileData"), dict) else None
        if raw:
            try:
                pdf = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise PolicyInvalid("fileData.data must be base64.") from None
            if not pdf.startswith(b"%PDF-") or len(pdf) > MAX_PDF_BYTES:
                raise PolicyInvalid("fileData.data must be a PDF of at most 10 MB.")
        if not pdf and not (isinstance(text, str) and text.strip()):
            raise PolicyInvalid("Each file needs a PDF (fileData) or a text.")
        files.append({"language": language, "file_name": str(item.get("fileName") or "")[:256],
                      "display_name": str(item.get("displayName") or "")[:256],
                      "is_default": bool(item.get("isDefault")), "text": text if not pdf else "", "pdf": pdf})
    if files and not any(f["is_default"] for f in files):
        files[0]["is_default"] = True
    return files


def _save_files(agreement: Agreement, files: list[dict]) -> None:
    for f in files:
        pdf = f.pop("pdf")
        obj, _created = AgreementFile.objects.update_or_create(agreement=agreement, language=f["language"],
                                                               defaults=f)
        if pdf:
            obj.pdf.save(f"{agreement.pk}-{f['language']}.pdf", ContentFile(pdf), save=True)
    if any(f["is_default"] for f in files):
        default = next(f["language"] for f in files if f["is_default"])
        agreement.files.exclude(language=default).update(is_default=False)


def _graph(agreement: Agreement) -> dict:
    return {"displayName": agreement.display_name,
            "isViewingBeforeAcceptanceRequired": agreement.is_viewing_before_acceptance_required,
            "userReacceptRequiredFrequency": agreement.user_reaccept_required_frequency_days,
            "version": agreement.version}


def _fields(data: dict) -> dict:
    fields = {}
    if "displayName" in data:
        name = data["displayName"]
        if not isinstance(name, str) or not name.strip() or len(name) > 256:
            raise PolicyInvalid("displayName is required (at most 256 characters).")
        fields["display_name"] = name.strip()
    if "isViewingBeforeAcceptanceRequired" in data:
        if not isinstance(data["isViewingBeforeAcceptanceRequired"], bool):
            raise PolicyInvalid("isViewingBeforeAcceptanceRequired must be true or false.")
        fields["is_viewing_before_acceptance_required"] = data["isViewingBeforeAcceptanceRequired"]
    if data.get("isPerDeviceAcceptanceRequired"):
        raise PolicyInvalid("isPerDeviceAcceptanceRequired needs registered devices, which this deployment does not "
                            "have (and Entra does not offer it to B2B users).")
    if data.get("termsExpiration"):
        raise PolicyInvalid("termsExpiration is not supported; use userReacceptRequiredFrequency.")
    if "userReacceptRequiredFrequency" in data:
        fields["user_reaccept_required_frequency_days"] = parse_days(data["userReacceptRequiredFrequency"])
    return fields


@transaction.atomic
def agreement_create(*, actor: Actor, tenant: Tenant, data: dict) -> Agreement:
    """Add terms of use with at least one language's file; at most 40 per tenant."""
    authorize(actor, WRITE, tenant=tenant)
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    if Agreement.objects.filter(tenant=tenant).count() >= MAX_AGREEMENTS_PER_TENANT:
        raise PolicyInvalid(f"This organization already has {MAX_AGREEMENTS_PER_TENANT} terms of use, the limit.")
    if "displayName" not in data:
        raise PolicyInvalid("displayName is required.")
    files = _files(data.get("files") or [])
    if not files:
        raise PolicyInvalid("Terms of use need at least one file.")
    agreement = Agreement.objects.create(tenant=tenant, **_fields(data))
    _save_files(agreement, files)
    audit(tenant=tenant, actor=actor, activity="Create terms of use",
          targets=[Target(agreement, [Change(k, None, v) for k, v in _graph(agreement).items()]
                          + [Change("files", None, [f["language"] for f in files])])])
    invalidate(tenant.pk)
    return agreement


@transaction.atomic
def agreement_update(*, actor: Actor, agreement: Agreement, changes: dict, require_reaccept: bool = False) -> Agreement:
    """Change terms of use; new or replaced files with ``require_reaccept`` make everyone accept again
    (Entra's "Require reaccept" on a new version)."""
    authorize(actor, WRITE, tenant=agreement.tenant)
    agreement = Agreement.objects.select_for_update().get(pk=agreement.pk, tenant_id=agreement.tenant_id)
    old = _graph(agreement)
    for name, value in _fields(changes).items():
        setattr(agreement, name, value)
    files = _files(changes["files"]) if "files" in changes else []
    if require_reaccept:
        agreement.version += 1
    new = _graph(agreement)
    applied = [Change(k, old[k], new[k]) for k in new if old[k] != new[k]]
    if files:
        _save_files(agreement, files)
        applied.append(Change("files", None, [f["language"] for f in files]))
    if not applied:
        return agreement
    agreement.modified_at = timezone.now()
    agreement.save()
    audit(tenant=agreement.tenant, actor=actor, activity="Edit terms of use", targets=[Target(agreement, applied)])
    invalidate(agreement.tenant_id)
    return agreement


@transaction.atomic
def agreement_delete(*, actor: Actor, agreement: Agreement) -> None:
    """Delete terms of use (its acceptances go with it, as in Entra). Refused while a policy requires it."""
    from ..models import ConditionalAccessPolicy

    authorize(actor, WRITE, tenant=agreement.tenant)
    used = [p.display_name for p in ConditionalAccessPolicy.objects.filter(tenant_id=agreement.tenant_id)
            if str(agreement.pk) in ((p.grant_controls or {}).get("termsOfUse") or [])]
    if used:
        raise PolicyInvalid(_("The terms of use are required by the conditional access policy “%(name)s”; remove "
                              "them from the policy first.") % {"name": used[0]})
    audit(tenant=agreement.tenant, actor=actor, activity="Delete terms of use",
          targets=[Target(agreement, [Change(k, v, None) for k, v in _graph(agreement).items()])])
    tenant_id = agreement.tenant_id
    agreement.delete()
    invalidate(tenant_id)


@transaction.atomic
def agreement_accept(*, actor: Actor, agreement: Agreement, user: User, accept: bool = True,
                     language: str = "", ip: str | None = None, user_agent: str = "") -> AgreementAcceptance:
    """Record that ``user`` accepted (or declined) the current version of ``agreement``, from where. Only
    the person themselves answers for themselves."""
    if actor.user is None or actor.user.pk != user.pk or user.tenant_id != agreement.tenant_id:
        raise PermissionDenied(_("Only the person asked may accept the terms of use."))
    now = timezone.now()
    file = (agreement.files.filter(language__iexact=language).first() if language else None) or \
        agreement.files.filter(is_default=True).first()
    days = agreement.user_reaccept_required_frequency_days
    acceptance = AgreementAcceptance.objects.create(
        tenant_id=agreement.tenant_id, agreement=agreement, agreement_version=agreement.version,
        agreement_file=file, user=user, account=user.account,
        state=AgreementAcceptance.State.ACCEPTED if accept else AgreementAcceptance.State.DECLINED,
        recorded_at=now, expires_at=now + timedelta(days=days) if (accept and days) else None,
        ip_address=ip, user_agent=user_agent[:512])
    audit(tenant=agreement.tenant, actor=actor, activity="Accept terms of use" if accept else "Decline terms of use",
          targets=[Target(agreement, [Change("version", None, agreement.version)]), Target(user)],
          details={"language": file.language if file else "", "ipAddress": ip or ""})
    return acceptance
