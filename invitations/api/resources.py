"""Graph's ``invitation`` shape."""

from dataclasses import dataclass

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
    ),
)

_EMAIL_ADDRESS = {"type": "object", "properties": {"name": {"type": "string", "nullable": True},
                                                   "address": {"type": "string", "format": "email"}}}
MESSAGE_INFO_SCHEMA = {
    "type": "object",
    "properties": {
        "ccRecipients": {"type": "array", "maxItems": 1,
                         "items": {"type": "object", "properties": {"emailAddress": _EMAIL_ADDRESS}}},
        "customizedMessageBody": {"type": "string", "maxLength": 10_000, "nullable": True},
        "messageLanguage": {"type": "string", "nullable": True, "example": "en-US",
                            "description": "A language tag; de-* writes German, anything else English."},
    },
}
INVITED_USER_SCHEMA = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}}

PROP_SCHEMAS = {"invitedUserMessageInfo": MESSAGE_INFO_SCHEMA, "invitedUser": INVITED_USER_SCHEMA}

REQUEST_SCHEMA = {
    "type": "object",
    "required": ["invitedUserEmailAddress", "inviteRedirectUrl"],
    "additionalProperties": False,
    "properties": {
        "invitedUserEmailAddress": {"type": "string", "format": "email", "maxLength": 254},
        "inviteRedirectUrl": {"type": "string", "format": "uri", "maxLength": 2000},
        "invitedUserDisplayName": {"type": "string", "maxLength": 256, "nullable": True},
        "invitedUserType": {"type": "string", "enum": ["Guest", "Member"], "nullable": True,
                            "description": "Member only when the caller is an administrator."},
        "sendInvitationMessage": {"type": "boolean", "nullable": True},
        "invitedUserMessageInfo": {**MESSAGE_INFO_SCHEMA, "nullable": True},
        "resetRedemption": {"type": "boolean", "nullable": True,
                            "description": "With invitedUser.id: let that external user redeem again."},
        "invitedUser": {**INVITED_USER_SCHEMA, "nullable": True},
    },
}
