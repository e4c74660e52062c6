"""An address is checked in the form mail servers deliver to (issue 9, found by probing the API): full-width letters
and dots, and a domain written in Unicode or as its IDNA ASCII form, are one domain to every invitation rule."""

import pytest
from django.core.exceptions import ValidationError

from directory.actors import Actor
from directory.models import User
from invitations import services
from invitations.validation import normalize_invited_email
from policies import services as policy_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FULL_WIDTH_OWN = "x@ｔａｉｌｗｉｎｄ．ｅｘａｍｐｌｅ"  # the tenant's own domain, tailwind.example, in full-width forms


def message(exc: ValidationError) -> str:
    return " ".join(exc.message_dict["email"])


def invite(inviter, tenant, email, **kwargs):
    return services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email=email,
                                      redirect_url="https://portal.tailwind.example/", **kwargs)


@pytest.mark.parametrize(("written", "delivered"), [
    ("x@ｔａｉｌｗｉｎｄ．ｅｘａｍｐｌｅ", "x@tailwind.example"),
    ("Ann@Fabrikäm.Example", "ann@xn--fabrikm-bxa.example"),
    ("ann@xn--fabrikm-bxa.example", "ann@xn--fabrikm-bxa.example"),
    ("ann@例え.テスト", "ann@xn--r8jz45g.xn--zckzah"),
])
def test_an_address_is_normalized_to_the_domain_mail_is_delivered_to(written, delivered):
    assert normalize_invited_email(written) == delivered


@pytest.mark.parametrize("email", ["ann@[127.0.0.1]", "ann@localhost", "ann@partner.example.", "ann@a..example"])
def test_an_address_without_a_domain_name_is_refused(tenant, inviter, email):
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, email)
    assert "email" in exc.value.message_dict
    assert not User.objects.filter(tenant=tenant, user_type="Guest").exists()


def test_the_own_domain_written_in_full_width_letters_is_still_the_own_domain(tenant, inviter):
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, FULL_WIDTH_OWN)
    assert "x@tailwind.example is in this organization's own domain" in message(exc.value)
    assert not User.objects.filter(tenant=tenant, user_type="Guest").exists()


def test_a_blocked_domain_written_in_full_width_letters_is_still_blocked(tenant, inviter):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["blocked.example", "xn--fabrikm-bxa.example"]})
    for email in ("x@ｂｌｏｃｋｅｄ．example", "x@BLOCKED.example", "x@fabrikäm.example"):
        with pytest.raises(ValidationError) as exc:
            invite(inviter, tenant, email)
        assert "are blocked by this organization" in message(exc.value), email
    assert not User.objects.filter(tenant=tenant, user_type="Guest").exists()


def test_a_members_address_with_its_domain_in_full_width_letters_is_the_members(tenant, inviter):
    UserFactory(tenant=tenant, mail="member@contoso.example", user_principal_name="member@tailwind.example")
    with pytest.raises(ValidationError) as exc:
        invite(inviter, tenant, "member@ｃｏｎｔｏｓｏ.example")
    assert "already belongs" in str(exc.value)


def test_the_unicode_and_ascii_forms_of_one_domain_are_one_guest(tenant, inviter):
    first = invite(inviter, tenant, "ann@fabrikäm.example")
    second = invite(inviter, tenant, "ann@xn--fabrikm-bxa.example")
    assert first.user_created and not second.user_created
    assert second.invitation.invited_user == first.invitation.invited_user
    assert first.invitation.invited_user.mail == "ann@xn--fabrikm-bxa.example"


def test_a_guest_invited_at_the_ascii_form_signs_in_with_the_unicode_form(client, tenant, inviter):
    from tests.invitations.conftest import latest_code_for

    invite(inviter, tenant, "ann@fabrikäm.example", send_message=True)

    start = client.post("/t/tailwind/sign-in/", {"email": "Ann@Fabrikäm.example"})

    assert start.status_code == 302
    assert latest_code_for("ann@xn--fabrikm-bxa.example")  # the invitation's address got the code
    assert client.session["directory.journey"]["email"] == "ann@xn--fabrikm-bxa.example"


def test_a_reset_to_another_of_the_users_addresses_matches_it_in_either_form(tenant, inviter):
    from tests.factories import AccountFactory, GuestFactory

    guest = GuestFactory(tenant=tenant, mail="gus@partner.example", other_mails=["gus@fabrikäm.example"],
                         external_user_state="Accepted", account=AccountFactory(email="gus@partner.example"))

    services.invitation_reset_redemption(actor=Actor.for_user(inviter), user=guest,
                                         email="gus@xn--fabrikm-bxa.example",
                                         redirect_url="https://portal.tailwind.example/")

    guest.refresh_from_db()
    assert guest.mail == "gus@xn--fabrikm-bxa.example"
    assert guest.other_mails == ["gus@partner.example"]  # the old mail kept; the new one's other form not twice
