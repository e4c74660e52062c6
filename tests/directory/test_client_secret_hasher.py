"""Client secrets: stored with a fast salted HMAC (generated 256-bit values), verified by allauth unchanged."""

import pytest
from allauth.idp.oidc.models import Client
from django.contrib.auth.hashers import check_password, make_password

from directory import services
from directory.actors import Actor
from directory.hashers import ClientSecretHasher
from tests.api.conftest import issue_app_token
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _register(tenant):
    return services.app_registration_create(actor=Actor.operator(), tenant=tenant, display_name="Sync",
                                            application_permissions=["User.Read.All"])


def test_new_client_secrets_are_stored_with_the_fast_keyed_hash_not_argon2():
    registration, _client_id, secret = _register(TenantFactory())
    stored = Client.objects.get(pk=registration.client_id).secret
    assert stored.startswith("client_secret_hmac_sha256$") and secret not in stored
    client = Client.objects.get(pk=registration.client_id)
    assert client.check_secret(secret) and not client.check_secret(secret[:-1] + "x")


def test_rotated_secrets_use_the_fast_hash_and_the_old_one_stops_working():
    registration, _client_id, old = _register(TenantFactory())
    new = services.app_registration_new_secret(actor=Actor.operator(), registration=registration)
    client = Client.objects.get(pk=registration.client_id)
    assert client.secret.startswith("client_secret_hmac_sha256$")
    assert client.check_secret(new) and not client.check_secret(old)


def test_the_same_secret_hashes_differently_each_time_salted():
    secret = "s" * 43
    assert make_password(secret, hasher=ClientSecretHasher.algorithm) != make_password(
        secret, hasher=ClientSecretHasher.algorithm)


def test_the_secret_hasher_refuses_short_values_so_it_never_stores_a_password():
    with pytest.raises(ValueError):
        make_password("a-guessable-password", hasher=ClientSecretHasher.algorithm)
    stored = make_password("x" * 43, hasher=ClientSecretHasher.algorithm)
    assert not check_password("x" * 10, stored)


def test_a_secret_stored_with_argon2_earlier_still_gets_tokens(client):
    registration, client_id, secret = _register(TenantFactory())
    oauth_client = Client.objects.get(pk=registration.client_id)
    oauth_client.set_secret(secret)  # allauth's own: the password hasher (Argon2), as before this change
    oauth_client.save(update_fields=["secret"])
    assert oauth_client.secret.startswith("argon2$")
    assert issue_app_token(client, client_id, secret)


def test_user_passwords_still_use_argon2():
    assert make_password("a long passphrase for a person").startswith("argon2$")
