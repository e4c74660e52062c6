"""A real SAML 2.0 identity provider for the tests: pysaml2's ``Server`` (an independent implementation
from the python3-saml our service provider is built on) behind a small HTTPS server on a free port of
127.0.0.1, with its own key and certificate generated at test time.

- ``GET /sso/redirect?SAMLRequest=…`` (HTTP-Redirect binding) shows a sign-in form for the request;
- ``POST /sso/login`` signs the person in (any address the test allowed with ``add_user``) and answers
  with pysaml2's auto-posting form (HTTP-POST binding) to the ACS the SP's metadata names;
- ``GET /metadata`` is its IdP metadata (what an admin pastes into the console).

Tests that do not need a browser call :meth:`SamlIdp.respond` directly with the URL our SP redirected to:
it returns (ACS URL, SAMLResponse) as the form would have posted them. ``lifetime_minutes`` below zero
makes the IdP issue an assertion that is already expired (a clock far behind), signed all the same.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import html
import ipaddress
import secrets
import socketserver
import ssl
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"


def make_key_and_certificate(common_name: str = "Test SAML IdP") -> tuple[bytes, bytes]:
    """A fresh RSA key and a self-signed certificate for it (also good for TLS on 127.0.0.1)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def certificate_base64(cert_pem: bytes) -> str:
    """Graph's form of a certificate: base64 DER on one line."""
    return "".join(line for line in cert_pem.decode().splitlines() if "CERTIFICATE" not in line)


@contextlib.contextmanager
def _clock_offset(minutes: float):
    """Shift the times pysaml2 writes into assertions (its ``instant`` and ``in_a_while``)."""
    if not minutes:
        yield
        return
    import saml2.assertion as assertion_module

    instant, in_a_while = assertion_module.instant, assertion_module.in_a_while

    def shifted_instant(format=None, time_stamp=0):
        kwargs = {"format": format} if format else {}
        return instant(time_stamp=time_stamp or time.time() + minutes * 60, **kwargs)

    def shifted_in_a_while(**kwargs):
        kwargs["seconds"] = kwargs.get("seconds", 0) + minutes * 60
        return in_a_while(**kwargs)

    assertion_module.instant, assertion_module.in_a_while = shifted_instant, shifted_in_a_while
    try:
        yield
    finally:
        assertion_module.instant, assertion_module.in_a_while = instant, in_a_while


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class SamlIdp:
    def __init__(self, *, directory: Path | None = None):
        self.dir = Path(directory or tempfile.mkdtemp(prefix="saml-idp-"))
        key_pem, cert_pem = make_key_and_certificate()
        self.key_file, self.cert_file = self.dir / "idp.key", self.dir / "idp.crt"
        self.key_file.write_bytes(key_pem)
        self.cert_file.write_bytes(cert_pem)
        self.certificate = certificate_base64(cert_pem)
        self.users: dict[str, str] = {}  # e-mail → display name
        self.sp_metadata: list[str] = []
        self.pending: dict[str, object] = {}
        self._httpd = make_server("127.0.0.1", 0, self._app, server_class=_ThreadingServer, handler_class=_Quiet)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.base_url = f"https://127.0.0.1:{self._httpd.server_port}"
        self.entity_id = f"{self.base_url}/metadata"
        self.sso_url = f"{self.base_url}/sso/redirect"
        self._server = None
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    # -- lifecycle
    def start(self) -> SamlIdp:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- what the test sets up
    def add_user(self, email: str, display_name: str = "") -> None:
        self.users[email.lower()] = display_name or email.split("@")[0].title()

    def trust(self, sp_metadata_xml: str) -> None:
        """Configure the IdP with a service provider's metadata (as a partner's admin would)."""
        self.sp_metadata.append(sp_metadata_xml)
        self._server = None

    def server(self, *, lifetime_minutes: int = 5):
        from saml2 import BINDING_HTTP_REDIRECT
        from saml2.config import IdPConfig
        from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT
        from saml2.server import Server

        config = IdPConfig()
        config.load({
            "entityid": self.entity_id,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.sso_url, BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_EMAILADDRESS],
                "policy": {"default": {"lifetime": {"minutes": lifetime_minutes}, "name_form": NAME_FORMAT_URI,
                                       "attribute_restrictions": None}},
                "sign_response": True, "sign_assertion": True,
            }},
            "key_file": str(self.key_file), "cert_file": str(self.cert_file),
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "metadata": {"inline": list(self.sp_metadata)},
            "allow_unknown_attributes": True,
        })
        return Server(config=config)

    def metadata(self) -> str:
        from saml2.metadata import create_metadata_string

        return create_metadata_string(None, self.server().config, valid=4, sign=False).decode()

    # -- the protocol
    def parse_request(self, url: str):
        from saml2 import BINDING_HTTP_REDIRECT

        query = parse_qs(urlsplit(url).query)
        request = self.server().parse_authn_request(query["SAMLRequest"][0], BINDING_HTTP_REDIRECT).message
        return request, (query.get("RelayState") or [""])[0]

    def respond(self, request_url: str, *, email: str, lifetime_minutes: int = 5, display_name: str = "",
                clock_offset_minutes: float = 0) -> tuple[str, str]:
        """Sign ``email`` in for the AuthnRequest in ``request_url`` (our SP's redirect): (ACS URL,
        base64 SAMLResponse). ``clock_offset_minutes`` runs the IdP's clock ahead (or behind): every time
        it writes is shifted, as an IdP with a wrong clock would."""
        request, _relay = self.parse_request(request_url)
        with _clock_offset(clock_offset_minutes):
            return self._response(request, email=email, lifetime_minutes=lifetime_minutes,
                                  display_name=display_name)

    def _response(self, request, *, email: str, lifetime_minutes: int = 5, display_name: str = "") -> tuple[str, str]:
        from saml2.authn_context import PASSWORD
        from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
        from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

        server = self.server(lifetime_minutes=lifetime_minutes)
        sp_entity_id = request.issuer.text
        acs = request.assertion_consumer_service_url or server.config.metadata.assertion_consumer_service(
            sp_entity_id)[0]["location"]
        # A stable persistent identifier per (IdP, SP, person), as ADFS's ImmutableID would be.
        persistent = hashlib.sha256(f"{self.entity_id}|{sp_entity_id}|{email.lower()}".encode()).hexdigest()[:32]
        name_id = NameID(format=NAMEID_FORMAT_PERSISTENT, text=persistent, sp_name_qualifier=sp_entity_id,
                         name_qualifier=self.entity_id)
        identity = {EMAIL_CLAIM: [email], NAME_CLAIM: [display_name or self.users.get(email.lower(), email)]}
        response = server.create_authn_response(
            identity, in_response_to=request.id, destination=acs, sp_entity_id=sp_entity_id, name_id=name_id,
            authn={"class_ref": PASSWORD, "authn_auth": self.entity_id}, sign_response=True, sign_assertion=True,
            sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        return acs, base64.b64encode(str(response).encode()).decode()

    # -- HTTP
    def _app(self, environ, start_response):
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if path == "/metadata":
            return self._send(start_response, "200 OK", self.metadata(), "application/samlmetadata+xml")
        if path == "/sso/redirect" and method == "GET":
            url = f"{self.sso_url}?{environ.get('QUERY_STRING', '')}"
            try:
                request, _relay = self.parse_request(url)
            except Exception as exc:
                return self._send(start_response, "400 Bad Request", f"Bad request: {html.escape(str(exc))}")
            ticket = secrets.token_urlsafe(16)
            self.pending[ticket] = request
            return self._send(start_response, "200 OK", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Fabrikam sign-in</title></head><body><h1>Fabrikam sign-in</h1>
<form method="post" action="/sso/login"><input type="hidden" name="ticket" value="{ticket}">
<label>E-mail <input name="email" type="email" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form></body></html>""")
        if path == "/sso/login" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = parse_qs(environ["wsgi.input"].read(length).decode())
            request = self.pending.pop((form.get("ticket") or [""])[0], None)
            email = (form.get("email") or [""])[0].strip().lower()
            if request is None or email not in self.users:
                return self._send(start_response, "403 Forbidden", "<h1>Unknown user</h1>")
            acs, value = self._response(request, email=email)
            return self._send(start_response, "200 OK", f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Signing you in</title></head><body><form method="post" action="{html.escape(acs)}">
<input type="hidden" name="SAMLResponse" value="{value}">
<button type="submit" id="saml-continue">Continue</button></form>
<script>document.forms[0].submit()</script></body></html>""")
        return self._send(start_response, "404 Not Found", "Not found")

    @staticmethod
    def _send(start_response, status: str, body: str, content_type: str = "text/html; charset=utf-8"):
        data = body.encode()
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
        return [data]
