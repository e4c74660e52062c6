"""A software authenticator for tests below the browser: it makes real WebAuthn answers (ES256 keys,
"none" attestation, signed assertions) that py_webauthn verifies exactly as it verifies a browser's. The
browser tests use Chromium's own virtual authenticator instead."""

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class SoftAuthenticator:
    def __init__(self, origin: str = "http://testserver", rp_id: str = "testserver"):
        self.origin, self.rp_id = origin, rp_id
        self.credentials: dict[bytes, tuple[ec.EllipticCurvePrivateKey, int]] = {}

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str | None = None) -> dict:
        """The browser's answer to ``navigator.credentials.create`` with ``options`` (as the server sent them)."""
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        credential_id = os.urandom(32)
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        auth_data = (rp_hash + bytes([0x45]) + struct.pack(">I", 0) + bytes(16)
                     + struct.pack(">H", len(credential_id)) + credential_id + cose)
        self.credentials[credential_id] = (key, 0)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {"id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                             "transports": ["usb"]},
                "clientExtensionResults": {"credProps": {"rk": False}}, "authenticatorAttachment": "cross-platform"}

    def get(self, options: dict, *, credential_id: bytes | None = None, origin: str | None = None) -> dict:
        """The answer to ``navigator.credentials.get``: signed by the first allowed credential it holds."""
        if credential_id is None:
            allowed = [base64.urlsafe_b64decode(c["id"] + "=" * (-len(c["id"]) % 4))
                       for c in options.get("allowCredentials") or []]
            credential_id = next(c for c in allowed if c in self.credentials)
        key, count = self.credentials[credential_id]
        count += 1
        self.credentials[credential_id] = (key, count)
        auth_data = hashlib.sha256(options["rpId"].encode()).digest() + bytes([0x05]) + struct.pack(">I", count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(credential_id), "rawId": b64url(credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature)},
                "clientExtensionResults": {}, "authenticatorAttachment": "cross-platform"}
