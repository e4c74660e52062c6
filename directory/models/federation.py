"""Accounts that sign in through an external identity provider, keyed on (issuer, ``sub``)."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .people import Account


class FederatedIdentity(models.Model):
    """One external identity (an OIDC/SAML issuer's subject, another deployment's member, a Google or
    Microsoft account) and the account it signs in as.

    Our own table rather than allauth's ``SocialAccount``: that one is keyed on (provider id, uid) with a
    provider id of at most 200 characters that names a configured app, while an identity here is the
    issuer's (an issuer URI up to 500 characters, the same whichever tenant's configuration routed the
    person there), and identity providers are configured per tenant in ``policies`` with encrypted
    secrets, not as allauth ``SocialApp`` rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="federated_identities")
    issuer = models.CharField(_("issuer"), max_length=500)
    subject = models.CharField(_("subject"), max_length=255)
    email = models.EmailField(_("e-mail address at the last sign-in"), blank=True)
    home_tenant_id = models.CharField(_("home tenant ID"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("federated identity")
        verbose_name_plural = _("federated identities")
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="federated_identity_unique")]

    def __str__(self) -> str:
        return f"{self.subject} @ {self.issuer}"
