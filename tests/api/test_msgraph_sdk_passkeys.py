"""The official msgraph-sdk reads a user's passkeys (fido2Methods, and under methods as
fido2AuthenticationMethod), deletes one, and reads a sign-in's country, against a live server of ours."""

import asyncio

import pytest
from msgraph.generated.models.fido2_authentication_method import Fido2AuthenticationMethod

from directory.access import AccessRequest, evaluate_access
from directory.services.signins import sign_in_event_record
from tests.api.test_msgraph_sdk import graph  # noqa: F401  (the fixture)
from tests.directory.test_passkeys import _guest, _with_passkey
from tests.factories import TenantFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]


@pytest.mark.django_db(transaction=True)
def test_the_sdk_lists_and_deletes_a_passkey_and_reads_a_sign_ins_country(graph):  # noqa: F811
    tenant = TenantFactory()
    guest = _guest(tenant)
    method, _authenticator = _with_passkey(guest)
    request = AccessRequest(tenant=tenant, user=guest, account=guest.account, ip="193.99.144.80")
    sign_in_event_record(access_request=request, decision=evaluate_access(request))
    client, _ = graph(tenant, ["UserAuthenticationMethod.ReadWrite.All", "AuditLog.Read.All"])

    async def walk():
        user = client.users.by_user_id(str(guest.pk))
        methods = await user.authentication.methods.get()
        fido2 = await user.authentication.fido2_methods.get()
        one = await user.authentication.fido2_methods.by_fido2_authentication_method_id(str(method.pk)).get()
        await user.authentication.fido2_methods.by_fido2_authentication_method_id(str(method.pk)).delete()
        after = await user.authentication.fido2_methods.get()
        sign_ins = await client.audit_logs.sign_ins.get()
        return methods, fido2, one, after, sign_ins

    methods, fido2, one, after, sign_ins = asyncio.run(walk())
    assert [type(m) for m in methods.value] == [Fido2AuthenticationMethod]
    assert [m.id for m in fido2.value] == [str(method.pk)]
    assert one.display_name == "My key" and one.attestation_level.value == "notAttested"
    assert after.value == []
    assert [s.location.country_or_region for s in sign_ins.value] == ["DE"]
