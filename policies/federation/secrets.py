"""Identity providers' client secrets, encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256, from
``cryptography``) under a key from the environment: ``FEDERATION_SECRET_KEY``, one or more comma-separated
keys (the first encrypts, all decrypt, so a key can be rotated). A database dump alone gives no secret."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(Exception):
    """The stored secret was encrypted under a key this deployment no longer has."""


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in (getattr(settings, "FEDERATION_SECRET_KEY", "") or "").split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured("FEDERATION_SECRET_KEY is not set")
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"FEDERATION_SECRET_KEY: {exc}") from None


def encrypt_secret(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def decrypt_secret(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("the client secret cannot be decrypted with FEDERATION_SECRET_KEY") from None
