"""Identity providers' client secrets at rest: encrypted under FEDERATION_SECRET_KEY, keys rotate."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from policies.federation.secrets import SecretUnreadable, decrypt_secret, encrypt_secret


def test_a_secret_is_stored_encrypted_and_read_back(settings):
    token = encrypt_secret("client-secret-value")
    assert "client-secret-value" not in token and decrypt_secret(token) == "client-secret-value"


def test_a_new_key_in_front_still_reads_secrets_of_the_old_one(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FEDERATION_SECRET_KEY = old
    token = encrypt_secret("kept")
    settings.FEDERATION_SECRET_KEY = f"{new},{old}"
    assert decrypt_secret(token) == "kept"
    settings.FEDERATION_SECRET_KEY = new
    with pytest.raises(SecretUnreadable):
        decrypt_secret(token)


def test_a_missing_or_malformed_key_is_a_configuration_error(settings):
    settings.FEDERATION_SECRET_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        encrypt_secret("x")
    settings.FEDERATION_SECRET_KEY = "not-a-fernet-key"
    with pytest.raises(ImproperlyConfigured):
        encrypt_secret("x")
