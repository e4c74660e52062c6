"""Graph's ``invitation`` shape."""

from dataclasses import dataclass

from directory.api.bodies import Body, Field
from directory.api.odata import Prop, Resource

from ..models import Invitation

# We write e-mails in two languages; Graph speaks in language tags.
LANGUAGE_TAGS = {Invitation.Language.EN: "en-US", Invitation.Language.DE: "de-DE"}


@dataclass(frozen=True)
class IssuedInvitation:
    """An invitation as the API answers it: with the one-time redeem URL the service returned."""

    invitation: Invitation
    redeem_url: str
    reset_redemption: bool = False
    sponsor_ids: tuple | None = None  # the sponsors the request named (None: it named none)

    @property
    def pk(self):
        return self.invitation.pk


def _message_info(issued: IssuedInvitation) -> dict:
    invitation = issued.invitation
    return {
        "ccRecipients": [{"emailAddress": {"name": None, "address": address}} for address in invitation.cc_recipients],
        "customizedMessageBody": invitation.message_body or None,
        "messageLanguage": LANGUAGE_TAGS.get(invitation.message_language, "en-US"),
    }


def _of(name: str):
    return lambda issued: getattr(issued.invitation, name)


INVITATION = Resource(
    odata_type="microsoft.graph.invitation",
    props=(
        Prop("id", None, type="guid", get=lambda i: str(i.invitation.pk)),
        Prop("invitedUserDisplayName", None, get=lambda i: i.invitation.invited_display_name or None),
        Prop("invitedUserEmailAddress", None, get=_of("invited_email")),
        Prop("invitedUserType", None, type="enum", choices=("Guest", "Member"), get=_of("invited_user_type")),
        Prop("inviteRedirectUrl", None, get=_of("redirect_url")),
        Prop("inviteRedeemUrl", None, get=lambda i: i.redeem_url),
        Prop("sendInvitationMessage", None, type="bool", get=_of("send_message")),
        Prop("invitedUserMessageInfo", None, type="object", get=_message_info),
        Prop("status", None, type="enum", choices=("PendingAcceptance", "Completed", "InProgress", "Error"),
             get=_of("status")),
        Prop("resetRedemption", None, type="bool", get=lambda i: i.reset_redemption),
        Prop("invitedUser", None, type="object", get=lambda i: {"id": str(i.invitation.invited_user_id)}),
        Prop("invitedUserSponsors", None, type="collection", get=lambda i: None if i.sponsor_ids is None else [
            {"@odata.type": "#microsoft.graph.user", "id": str(pk)} for pk in i.sponsor_ids]),
    ),
)

# --- request bodies; the response's invitedUserMessageInfo and invitedUser have the same shapes

EMAIL_ADDRESS = Body("microsoft.graph.emailAddress", {
    "address": Field("string", required=True, max_length=254, schema={"format": "email"}),
    "name": Field("string", nullable=True, max_length=256),
})
RECIPIENT = Body("microsoft.graph.recipient", {"emailAddress": Field("object", required=True, nested=EMAIL_ADDRESS)})
MESSAGE_INFO = Body("microsoft.graph.invitedUserMessageInfo", {
    "ccRecipients": Field("list", nullable=True, max_length=1, items=RECIPIENT),
    "customizedMessageBody": Field("string", nullable=True, max_length=10_000),
    "messageLanguage": Field("string", nullable=True, max_length=35, schema={"example": "en-US"},
                             description="A language tag; de-* writes German, anything else English."),
})
INVITED_USER = Body("microsoft.graph.user", {
    "id": Field("string", required=True, max_length=64, schema={"format": "uuid"}),
})
SPONSOR = Body("microsoft.graph.directoryObject", {
    "id": Field("string", required=True, max_length=64, schema={"format": "uuid"}),
    "deletedDateTime": Field("string", nullable=True, max_length=64),  # the SDK's directoryObject has it
})
INVITE = Body(INVITATION.odata_type, {
    "invitedUserEmailAddress": Field("string", required=True, max_length=254, schema={"format": "email"}),
    "inviteRedirectUrl": Field("string", required=True, max_length=2000, schema={"format": "uri"}),
    "invitedUserDisplayName": Field("string", nullable=True, max_length=256),
    "invitedUserType": Field("string", nullable=True, max_length=16, schema={"enum": ["Guest", "Member"]},
                             description="Guest or Member (in any case); Member only when the caller is an "
                                         "administrator or an app (app-only, its permission consented by one)."),
    "sendInvitationMessage": Field("bool", nullable=True),
    "invitedUserMessageInfo": Field("object", nullable=True, nested=MESSAGE_INFO),
    "resetRedemption": Field("bool", nullable=True,
                             description="With invitedUser.id: let that external user redeem again."),
    "invitedUser": Field("object", nullable=True, nested=INVITED_USER),
    "invitedUserSponsors": Field("list", nullable=True, max_length=5, items=SPONSOR,
                                 description="Users of this tenant who sponsor the new guest (at most 5); "
                                             "without them the inviter does."),
})

PROP_SCHEMAS = {"invitedUserMessageInfo": MESSAGE_INFO.json_schema(), "invitedUser": INVITED_USER.json_schema(),
                "invitedUserSponsors": {"type": "array", "nullable": True, "items": {"type": "object", "properties": {
                    "@odata.type": {"type": "string"}, "id": {"type": "string", "format": "uuid"}}}}}
