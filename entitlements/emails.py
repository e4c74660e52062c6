"""What entitlement management's e-mails say (the services decide who gets one and when).

One branded layout per language (``templates/entitlements/email/notice_<lang>.{txt,html}``); the
words of each kind of message are below, in English and German. Texts follow Entra's notification
subjects (entitlement-management-process.md).
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation

from directory.selectors import branding_for

LANGUAGES = ("en", "de")

#: kind → language → (subject, first paragraph, button label). ``{package}``, ``{requestor}``,
#: ``{date}``, ``{organization}`` are filled in.
TEXTS: dict[str, dict[str, tuple[str, str, str]]] = {
    "approve": {
        "en": ("Action required: Approve or deny request by {date}",
               "{requestor} requested access to {package}. Approve or deny the request by {date}.", "Approve or deny"),
        "de": ("Aktion erforderlich: Anfrage bis {date} genehmigen oder ablehnen",
               "{requestor} hat Zugriff auf {package} angefordert. Genehmigen oder lehnen Sie die Anfrage bis {date} ab.",
               "Genehmigen oder ablehnen"),
    },
    "remind": {
        "en": ("Action required reminder: Approve or deny the request by {date}",
               "A request of {requestor} for {package} is still waiting for you. Decide by {date}.", "Approve or deny"),
        "de": ("Erinnerung – Aktion erforderlich: Anfrage bis {date} genehmigen oder ablehnen",
               "Eine Anfrage von {requestor} für {package} wartet noch auf Sie. Entscheiden Sie bis {date}.",
               "Genehmigen oder ablehnen"),
    },
    "forwarded": {
        "en": ("Action required: Approve or deny forwarded request by {date}",
               "The approvers of {requestor}'s request for {package} did not decide in time, so it was forwarded to "
               "you. Decide by {date}.", "Approve or deny"),
        "de": ("Aktion erforderlich: Weitergeleitete Anfrage bis {date} genehmigen oder ablehnen",
               "Die Genehmigenden der Anfrage von {requestor} für {package} haben nicht rechtzeitig entschieden; sie "
               "wurde an Sie weitergeleitet. Entscheiden Sie bis {date}.", "Genehmigen oder ablehnen"),
    },
    "approver_expired": {
        "en": ("Request has expired for {package}",
               "Nobody decided {requestor}'s request for {package} in time, so it expired.", "Open My Access"),
        "de": ("Anfrage für {package} ist abgelaufen",
               "Niemand hat rechtzeitig über die Anfrage von {requestor} für {package} entschieden; sie ist abgelaufen.",
               "My Access öffnen"),
    },
    "approved": {
        "en": ("Request approved for {requestor} to {package}",
               "The request of {requestor} for {package} was approved.", "Open My Access"),
        "de": ("Anfrage von {requestor} für {package} genehmigt",
               "Die Anfrage von {requestor} für {package} wurde genehmigt.", "My Access öffnen"),
    },
    "denied": {
        "en": ("Request denied to {package}", "Your request for {package} was denied.", "Open My Access"),
        "de": ("Anfrage für {package} abgelehnt", "Ihre Anfrage für {package} wurde abgelehnt.", "My Access öffnen"),
    },
    "request_expired": {
        "en": ("Your request has expired for {package}",
               "Your request for {package} was not decided in time. You can request it again.", "Request again"),
        "de": ("Ihre Anfrage für {package} ist abgelaufen",
               "Über Ihre Anfrage für {package} wurde nicht rechtzeitig entschieden. Sie können sie erneut stellen.",
               "Erneut anfordern"),
    },
    "delivered": {
        "en": ("You now have access to {package}", "You now have access to {package} in {organization}.",
               "Open My Access"),
        "de": ("Sie haben jetzt Zugriff auf {package}", "Sie haben jetzt Zugriff auf {package} bei {organization}.",
               "My Access öffnen"),
    },
    "extend": {
        "en": ("Extend access for {package} by {date}",
               "Your access to {package} ends on {date}. Extend it before then to keep it.", "Extend access"),
        "de": ("Zugriff auf {package} bis {date} verlängern",
               "Ihr Zugriff auf {package} endet am {date}. Verlängern Sie ihn vorher, um ihn zu behalten.",
               "Zugriff verlängern"),
    },
    # Access reviews: {package} is the reviewed resource, {requestor} the person whose access was reviewed.
    "review_start": {
        "en": ("Action required: Review access to {package} by {date}",
               "You have been asked to review who should keep access to {package} in {organization}. Approve or deny "
               "each person's access by {date}.", "Start review"),
        "de": ("Aktion erforderlich: Zugriff auf {package} bis {date} überprüfen",
               "Sie wurden gebeten zu überprüfen, wer den Zugriff auf {package} bei {organization} behalten soll. "
               "Genehmigen oder verweigern Sie den Zugriff jeder Person bis {date}.", "Überprüfung starten"),
    },
    "review_remind": {
        "en": ("Reminder: Review access to {package} by {date}",
               "Your review of access to {package} in {organization} is not finished. Decide by {date}; unanswered "
               "people may lose their access.", "Continue review"),
        "de": ("Erinnerung: Zugriff auf {package} bis {date} überprüfen",
               "Ihre Überprüfung des Zugriffs auf {package} bei {organization} ist nicht abgeschlossen. Entscheiden "
               "Sie bis {date}; nicht beantwortete Personen können ihren Zugriff verlieren.", "Überprüfung fortsetzen"),
    },
    "review_denied_sponsor": {
        "en": ("{requestor} lost access to {package} after an access review",
               "An access review in {organization} denied the access of {requestor}, whom you sponsor, to {package}. "
               "The access has been removed.", "Open the access panel"),
        "de": ("{requestor} hat nach einer Zugriffsüberprüfung den Zugriff auf {package} verloren",
               "Eine Zugriffsüberprüfung bei {organization} hat den Zugriff von {requestor}, für den Sie Sponsor sind, "
               "auf {package} verweigert. Der Zugriff wurde entfernt.", "Zugriffsbereich öffnen"),
    },
    "ended": {
        "en": ("Access has ended for {package}", "Your access to {package} has ended.", "Open My Access"),
        "de": ("Zugriff auf {package} ist beendet", "Ihr Zugriff auf {package} ist beendet.", "My Access öffnen"),
    },
}


def language_of(user) -> str:
    return language_code(getattr(user, "preferred_language", ""))


def language_code(preferred_language: str | None) -> str:
    """The language a message is written in for a person whose preferred language is this (e.g. "de-DE")."""
    preferred = (preferred_language or "").lower()[:2]
    return preferred if preferred in LANGUAGES else "en"


def language_sql(column: str) -> str:
    """:func:`language_code` as an SQL expression of the column holding the preferred language."""
    return (f"CASE lower(left({column}, 2)) " + " ".join(f"WHEN '{code}' THEN '{code}'" for code in LANGUAGES)
            + " ELSE 'en' END")


def notice(*, kind: str, language: str, tenant, package: str, url: str, requestor: str = "", date=None,
           justification: str = "", details: list[tuple[str, str]] = ()) -> tuple[str, str, str]:
    """Subject, text and HTML of one message of ``kind``, in ``language``, in the tenant's branding."""
    language = language if language in LANGUAGES else "en"
    with translation.override(language):
        when = formats.date_format(date, "DATE_FORMAT") if date else ""
        subject, lead, action = (t.format(package=package, requestor=requestor, date=when, organization=tenant.name)
                                 for t in TEXTS[kind][language])
        branding = branding_for(tenant, language)
        context = {
            "subject": subject, "lead": lead, "action": action, "url": url, "organization": tenant.name,
            "justification": justification, "details": list(details),
            "accent": (branding.accent_color if branding and branding.accent_color else "#0F6CBD"),
            "background": (branding.background_color if branding and branding.background_color else "#F5F5F5"),
            "logo_url": (f"{settings.SITE_URL}{branding.banner_logo.url}" if branding and branding.banner_logo else ""),
        }
        text = render_to_string(f"entitlements/email/notice_{language}.txt", context)
        html = render_to_string(f"entitlements/email/notice_{language}.html", context)
    return subject, text, html
