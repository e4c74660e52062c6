"""directory.mime writes an outbox e-mail's bytes itself: they must be Django's bytes (the oracle:
``sanitize_address``, ``recipients()`` and ``message().as_bytes(linesep="\\r\\n")``), but for the random
MIME boundary and the Date, and it must raise what Django raises."""

import re
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import BadHeaderError, sanitize_address
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from directory import delivery, mime

FROM = "B2B Portal <no-reply@portal.localhost>"


def django_mime(email) -> tuple[str, list[str], bytes]:
    """What delivery._write_until_end_of_data computed before directory.mime."""
    encoding = email.encoding or django_settings.DEFAULT_CHARSET
    from_email = sanitize_address(email.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in email.recipients()]
    return from_email, recipients, email.message().as_bytes(linesep="\r\n")


def normalised(data: bytes) -> bytes:
    """The bytes with the MIME boundary, the Date and a generated Message-ID replaced by fixed tokens."""
    for i, boundary in enumerate(re.findall(rb'boundary="([^"]+)"', data)):
        data = data.replace(boundary, b"BOUNDARY%d" % i)
    head, sep, body = data.partition(b"\r\n\r\n")
    head = re.sub(rb"(?m)^Date: [^\r\n]*(?=\r\n|\Z)", b"Date: DATE", head, count=1)
    head = re.sub(rb"(?m)^Message-ID: <\d+\.\d+\.\d+@[^>\r\n]*>(?=\r\n|\Z)", b"Message-ID: GENERATED", head, count=1)
    assert b"Date: DATE" in head, "a Date to normalise"
    return head + sep + body


def outcome(build, email):
    """(envelope from, recipients, normalised bytes), or the exception's type and text."""
    try:
        from_email, recipients, data = build(email)
    except Exception as exc:  # the oracle raises: the fast path must raise the same
        return type(exc), str(exc)
    return from_email, recipients, normalised(data)


def assert_same_as_django(email, *, fast: bool = True) -> None:
    expected = outcome(django_mime, email)
    assert outcome(mime.outbox_mime, email) == expected
    if fast and not isinstance(expected[0], type):
        built = mime.fast_message_bytes(email)
        assert built is not None, "the fast path did not take a message of the outbox's shape"
        assert normalised(built) == expected[2]


def outbox_email(subject, body, to, cc=(), html=None, from_email=FROM, **headers) -> EmailMultiAlternatives:
    """Built as delivery._email() builds it."""
    email = EmailMultiAlternatives(subject=subject, body=body, from_email=from_email, to=list(to), cc=list(cc),
                                   headers={"X-Portal-Message-Id": str(uuid.uuid4()),
                                            "Message-ID": f"<{uuid.uuid4()}@portal.localhost>", **headers})
    if html is not None:
        email.attach_alternative(html, "text/html")
    return email


# --- a generated corpus ---------------------------------------------------------------------------

_WORDS = ["Einladung", "Grüße", "Zusammenarbeit", "Müller-Lüdenscheidt", "invitation", "Société", "élève", "à",
          "collaborer", "招待", "日本語の件名", "東京", "🎉", "👩‍💻", "Tailwind", "Traders", "O'Brien", '"quoted"', "a,b",
          "(comment)", "<angle>", "x@y", "=?utf-8?q?x?=", "tab\there", "semi;colon", "", " ", "  ", "x" * 90,
          "ß" * 40, "\x0c", "\x1c", "\u2028", "\x85"]
_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_phrase = st.lists(st.one_of(st.sampled_from(_WORDS), _text), max_size=8).map(" ".join)
_injection = st.one_of(_phrase.map(lambda s: s + "\n Bcc: victim@example.com"), _phrase.map(lambda s: s + "\r"))
_subject = st.one_of(_phrase, _phrase, _phrase, st.sampled_from(_WORDS), st.text(max_size=120), _injection)
_local = st.sampled_from(["ann", "ann.lee", "a+tag", "o'brien", "first_last", "x-y", "a=b", "UPPER", "jürgen",
                          '"quoted local"', "ann..lee"])
_domain = st.sampled_from(["partner.example", "Tailwind.Example", "bücher.example", "例え.jp", "xn--bcher-kva.example",
                           "sub.domain.example", "a-b.example"])
_display = st.one_of(st.just(""), st.sampled_from(["Ann Lee", "Jürgen Müller", "Lee, Ann", 'Ann "the" Lee',
                                                   "山田太郎", "Zoë 🎉", "Dr. Who", "x" * 80]), _phrase)


@st.composite
def _address(draw) -> str:
    address = f"{draw(_local)}@{draw(_domain)}"
    name = draw(_display)
    if not name:
        return address
    if draw(st.booleans()) and '"' not in name:
        return f'"{name}" <{address}>'
    return f"{name} <{address}>"


_line = st.one_of(_text, st.sampled_from([".", "..", ".dot first", "From the start", "From", ">From", "", "  "]),
                  st.integers(990, 1100).map(lambda n: "y" * n), st.integers(330, 500).map(lambda n: "ü" * n))
_body = st.tuples(st.lists(_line, max_size=8), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans()).map(
    lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))


@hypothesis_settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_subject, body=_body, to=st.lists(_address(), min_size=1, max_size=3),
       cc=st.lists(_address(), max_size=4), html=st.one_of(st.none(), st.just(""), _body),
       from_email=st.one_of(st.just(FROM), _address()))
def test_the_bytes_equal_djangos_over_a_generated_corpus_and_errors_are_djangos(subject, body, to, cc, html,
                                                                                from_email):
    email = outbox_email(subject, body, to, cc, html, from_email=from_email)
    assert_same_as_django(email)
    event("fast path" if mime.fast_message_bytes(email) is not None else "Django's path (it raises)")


# --- named cases ----------------------------------------------------------------------------------

LONG_ASCII = "Tailwind Traders invited you to collaborate on the partner portal, starting today"
CASES = {
    "ascii": dict(subject="You're invited", body="Hello\n", to=["ann@partner.example"]),
    "ascii subject of 69 characters": dict(subject="s" * 69, body="b", to=["ann@partner.example"]),
    "ascii subject of 70 characters": dict(subject="s" * 70, body="b", to=["ann@partner.example"]),
    "78+ ascii subject": dict(subject=LONG_ASCII, body="b", to=["ann@partner.example"]),
    "one unbreakable 100-character subject": dict(subject="s" * 100, body="b", to=["ann@partner.example"]),
    "trailing space in the subject": dict(subject="Hello ", body="b", to=["ann@partner.example"]),
    "empty subject": dict(subject="", body="b", to=["ann@partner.example"]),
    "german": dict(subject="Einladung zur Zusammenarbeit – Grüße aus Köln", body="Grüße\n", to=["ann@partner.example"],
                   html="<p>Grüße</p>"),
    "french": dict(subject="Vous êtes invité à collaborer avec Société Générale des Élèves", body="Bienvenue à vous",
                   to=["Élise Dupont <elise@partner.example>"], html="<p>à</p>"),
    "japanese": dict(subject="テイルウィンド・トレーダーズがあなたを招待しました。"
                             "パートナーポータルでの共同作業を開始してください",
                     body="こんにちは\n" * 30, to=["山田太郎 <taro@partner.example>"], html="<p>こんにちは</p>"),
    "emoji": dict(subject="🎉 You're in! 👩‍💻", body="🎉", to=["Zoë 🎉 <zoe@partner.example>"]),
    "body line over 998 bytes": dict(subject="s", body="x" * 999 + "\nend\n", to=["ann@partner.example"],
                                     html="<p>" + "y" * 2000 + "</p>"),
    "body line of 998 bytes": dict(subject="s", body="x" * 998 + "\n", to=["ann@partner.example"]),
    "non-ascii body line over 998 bytes": dict(subject="s", body="ü" * 500, to=["ann@partner.example"]),
    "lines starting with . and From": dict(subject="s", body=".\n..\nFrom here\n.end", to=["ann@partner.example"],
                                           html=".\nFrom <b>"),
    "CRLF, CR and LF": dict(subject="s", body="a\r\nb\rc\nd\r\n", to=["ann@partner.example"], html="x\ry\r\n"),
    "empty html": dict(subject="s", body="text", to=["ann@partner.example"], html=""),
    "empty body with html": dict(subject="s", body="", to=["ann@partner.example"], html="<p>only html</p>"),
    "empty body": dict(subject="s", body="", to=["ann@partner.example"]),
    "cc list": dict(subject="s", body="b", to=["ann@partner.example"],
                    cc=[f"Person Number {i} <person{i}@partner.example>" for i in range(6)]),
    "idn domains": dict(subject="s", body="b", to=["ann@bücher.example"], cc=["Jörg <j@例え.jp>", "b@Tailwind.Example"]),
    "quotes and commas in display names": dict(subject="s", body="b", to=['"Lee, Ann" <ann@partner.example>'],
                                               cc=['"Ann \\"the\\" Lee" <a@partner.example>', "O'Brien <ob@x.example>"]),
    "non-ascii local part": dict(subject="s", body="b", to=["jürgen@partner.example"]),
    "newline in the subject": dict(subject="Hi\nBcc: victim@example.com", body="b", to=["ann@partner.example"]),
    "carriage return in the subject": dict(subject="Hi\rthere", body="b", to=["ann@partner.example"]),
    "newline in a display name": dict(subject="s", body="b", to=["Ann\n <ann@partner.example>"]),
    "newline in a non-ascii display name": dict(subject="s", body="b", to=["Jürgen\nBcc: x <ann@partner.example>"]),
    "an invalid address": dict(subject="s", body="b", to=["not an address"]),
    "an invalid non-ascii address": dict(subject="s", body="b", to=["Jürgen <not an address>"]),
    "form feed in the subject": dict(subject="a\x0cb", body="b", to=["ann@partner.example"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_bytes_equal_djangos_for_each_named_case(case):
    assert_same_as_django(outbox_email(**CASES[case]))


ADDRESSES = [
    "ann@partner.example", "Ann Lee <ann@partner.example>", "Ann  <ann@partner.example>", "Ann Lee<ann@partner.example>",
    " ann@partner.example", "ann@partner.example ", "<ann@partner.example>", "=?utf-8?q?J=C3=BCrgen?= <j@x.example>",
    "=?utf-8?q?x?=@partner.example", "a=?b?=@partner.example", "a=b@partner.example", "ann.@partner.example",
    "ann..lee@partner.example", ".ann@partner.example", "ann@partner..example", "ann@partner.example.",
    "ann@" + "a" * 64 + ".example", "ann@" + "a" * 63 + ".example", "Dr. Who <who@partner.example>",
    '"Lee, Ann" <ann@partner.example>', "x" * 80 + " <ann@partner.example>", "ann@[127.0.0.1]", "ann(c)@partner.example",
    "o'brien@partner.example", "UPPER@Partner.Example", "jürgen@partner.example", "ann@bücher.example",
    ("Ann", "ann@partner.example"), ("Jürgen", "j@bücher.example"),
]


@pytest.mark.parametrize("address", ADDRESSES, ids=str)
def test_an_envelope_address_is_what_sanitize_address_returns(address):
    assert outcome(lambda a: (mime.envelope_address(a, "utf-8"), [], b"Date: "), address) == outcome(
        lambda a: (sanitize_address(a, "utf-8"), [], b"Date: "), address)


def test_a_newline_in_the_subject_raises_djangos_bad_header_error():
    email = outbox_email("Hello\nBcc: victim@example.com", "b", ["ann@partner.example"])
    assert mime.fast_message_bytes(email) is None
    with pytest.raises(BadHeaderError):
        mime.outbox_mime(email)


def test_a_message_without_message_id_or_with_its_own_date_is_still_djangos():
    email = EmailMultiAlternatives(subject="s", body="b", to=["ann@partner.example"])
    assert_same_as_django(email)
    email = EmailMessage(subject="s", body="b", to=["ann@partner.example"],
                         headers={"Date": "Thu, 26 Nov 2026 12:00:00 -0000", "message-id": "<a@b>"})
    assert_same_as_django(email)


class _Subclass(EmailMultiAlternatives):
    pass


def _with(change):
    email = outbox_email("Grüße", "Hallo", ["ann@partner.example"], html="<p>Hallo</p>")
    change(email)
    return email


FALLBACKS = {
    "an attachment": lambda e: e.attach("a.txt", "text", "text/plain"),
    "a reply-to": lambda e: setattr(e, "reply_to", ["support@portal.localhost"]),
    "a header it does not know": lambda e: e.extra_headers.update({"List-Unsubscribe": "<mailto:u@x>"}),
    "a To header of its own": lambda e: e.extra_headers.update({"To": "other@partner.example"}),
    "another charset": lambda e: setattr(e, "encoding", "iso-8859-1"),
    "a non-text alternative": lambda e: e.attach_alternative(b"\x00", "application/octet-stream"),
    "an html body": lambda e: setattr(e, "content_subtype", "html"),
    "a subclass": lambda e: setattr(e, "__class__", _Subclass),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
def test_a_message_outside_the_fast_path_goes_through_djangos_path(case):
    email = _with(FALLBACKS[case])
    assert mime.fast_message_bytes(email) is None
    assert_same_as_django(email, fast=False)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "de"])
def test_the_real_invitation_mail_takes_the_fast_path(language):
    from directory.actors import Actor
    from directory.models import OutboxMessage
    from invitations import services
    from tests.factories import TenantFactory, admin_of

    tenant = TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example",
                           privacy_statement_url="https://tailwind.example/privacy")
    services.invitation_create(
        actor=Actor.for_user(admin_of(tenant)), tenant=tenant, email="ann@partner.example",
        redirect_url="https://portal.tailwind.example/", send_message=True, message_language=language,
        message_body="Willkommen, Ann!", cc_recipients=["boss@partner.example"])
    message = OutboxMessage.objects.get()
    email = delivery._email(message)
    assert email.alternatives, "the invitation has an HTML part"
    assert mime.fast_message_bytes(email) is not None
    assert_same_as_django(email)
