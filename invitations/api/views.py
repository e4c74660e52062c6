"""POST /invitations — Graph's invitation manager, calling the same services as the admin console."""

import re
import uuid

from django.core.exceptions import ValidationError

from directory.api.base import GraphView
from directory.api.errors import GraphError, bad_request, not_found, validation_message
from directory.models import User
from directory.selectors import groups_visible_to, users_visible_to

from .. import services
from ..models import Invitation
from .resources import INVITATION, INVITE, PROP_SCHEMAS, IssuedInvitation

INVITE_PERMISSIONS = ("User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
#: The answer holds inviteRedeemUrl: the services record its reading under this interface's name.
SHOWN_VIA = "Graph API"

# The service's field names, as the API caller wrote them.
GRAPH_NAMES = {
    "email": "invitedUserEmailAddress",
    "redirect_url": "inviteRedirectUrl",
    "user_type": "invitedUserType",
    "display_name": "invitedUserDisplayName",
    "message_body": "invitedUserMessageInfo.customizedMessageBody",
    "cc_recipients": "invitedUserMessageInfo.ccRecipients",
    "sponsors": "invitedUserSponsors",
}
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def message_language(tag: str | None) -> str:
    """A language tag ("de-DE", "en-US", "de") → the language we write the e-mail in. Languages we do
    not write fall back to English, as Graph falls back to its default."""
    if not tag:
        return Invitation.Language.EN
    if not _LANGUAGE_TAG.match(tag):
        raise bad_request(f"'{tag[:35]}' is not a language tag like en-US.")
    primary = re.split(r"[-_]", tag)[0].lower()
    return Invitation.Language.DE if primary == "de" else Invitation.Language.EN


def graph_validation_error(exc: ValidationError) -> GraphError:
    """A 400 naming the properties as the caller wrote them (never Django's ``__all__``)."""
    detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
    return bad_request(validation_message(detail, GRAPH_NAMES) or "The invitation is not valid.")


class InvitationsView(GraphView):
    """Invite an external user, or (with resetRedemption and invitedUser) let one redeem again.

    The answer carries ``inviteRedeemUrl``, the guest's one-time link; every answer that shows it is
    audited ("Read invite redeem URL"). App-only calls obey the tenant's guest invite settings as
    Graph's do: they fail when invitations are off or limited to administrators."""

    resource = INVITATION
    context = "invitations"
    write_permissions = INVITE_PERMISSIONS
    bodies = {"POST": INVITE}
    responses = {"post": (201, "item")}
    prop_schemas = PROP_SCHEMAS

    def post(self, request):
        body = self.body()
        info = body.get("invitedUserMessageInfo") or {}
        options = {
            "email": body["invitedUserEmailAddress"],
            "redirect_url": body["inviteRedirectUrl"],
            "send_message": bool(body.get("sendInvitationMessage")),
            "message_body": info.get("customizedMessageBody") or "",
            "message_language": message_language(info.get("messageLanguage")),
        }
        cc = [recipient["emailAddress"]["address"] for recipient in info.get("ccRecipients") or ()]
        principal = self.principal
        sponsors = self._sponsors(body.get("invitedUserSponsors"))
        try:
            # Each service records the reading of the link it returns in its own transaction.
            if body.get("resetRedemption"):
                if cc:
                    raise bad_request("ccRecipients cannot be used with resetRedemption.")
                if sponsors is not None:
                    raise bad_request("invitedUserSponsors cannot be used with resetRedemption: the user "
                                      "keeps its sponsors.")
                result = services.invitation_reset_redemption(
                    actor=principal, user=self._user_to_reset(body.get("invitedUser")),
                    user_type=self._user_type(body.get("invitedUserType")), link_shown_via=SHOWN_VIA, **options)
            else:
                if body.get("invitedUser") is not None:
                    raise bad_request("invitedUser is only accepted together with resetRedemption: true.")
                result = services.invitation_create(
                    actor=principal, tenant=principal.tenant,
                    display_name=body.get("invitedUserDisplayName") or "",
                    user_type=self._user_type(body.get("invitedUserType")), cc_recipients=cc,
                    sponsors=sponsors, link_shown_via=SHOWN_VIA, **options)
        except services.InvitationDenied as exc:
            raise GraphError(403, "Authorization_RequestDenied", exc.message) from None
        except ValidationError as exc:
            raise graph_validation_error(exc) from None
        issued = IssuedInvitation(result.invitation, result.redeem_url, bool(body.get("resetRedemption")),
                                  tuple(s.pk for s in sponsors) if sponsors and result.user_created else None)
        return self.item_response(issued, status=201)

    # -- input
    @staticmethod
    def _user_type(value: str | None) -> str | None:
        """The type asked for (None when the body names none: Guest for a new user, an existing one keeps its)."""
        if value is None:
            return None
        for choice in User.UserType.values:
            if value.lower() == choice.lower():
                return choice
        raise bad_request("invitedUserType must be Guest or Member.")

    def _sponsors(self, sponsors) -> list[User] | None:
        """The users invitedUserSponsors names (None when it names none: the inviter sponsors). Each must
        be a user of this tenant the caller can see; we have no group sponsors."""
        if not sponsors:
            return None
        found, named = [], set()
        for sponsor in sponsors:
            try:
                sponsor_id = uuid.UUID(sponsor["id"])
            except ValueError:
                raise bad_request(f"invitedUserSponsors: invalid object identifier '{sponsor['id'][:60]}'.") from None
            if sponsor_id in named:  # named twice: one sponsor (and one in the answer)
                continue
            named.add(sponsor_id)
            user = users_visible_to(self.principal).filter(pk=sponsor_id).first()
            if user is None:
                if groups_visible_to(self.principal).filter(pk=sponsor_id).exists():
                    raise bad_request(f"invitedUserSponsors: '{sponsor_id}' is a group; only users can be sponsors "
                                      "here.")
                raise not_found(f"invitedUserSponsors: resource '{sponsor_id}' does not exist or one of its queried "
                                "reference-property objects are not present.")
            found.append(user)
        return found

    def _user_to_reset(self, invited_user) -> User:
        if invited_user is None:
            raise bad_request("resetRedemption needs invitedUser with the id of the user to reset.")
        try:
            user_id = uuid.UUID(invited_user["id"])
        except ValueError:
            raise bad_request(f"Invalid object identifier '{invited_user['id'][:60]}'.") from None
        user = users_visible_to(self.principal).filter(pk=user_id).first()
        if user is None:
            raise not_found()
        return user
