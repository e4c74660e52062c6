"""Benchmark: checking one signed SAML response at the assertion consumer service, with the library our
service provider uses (python3-saml: libxmlsec1 in-process) beside pysaml2's own SP check of the same
response (the xmlsec1 binary in a subprocess per signature), the baseline the choice is reported against.

    /work/main/.venv/bin/python bench/saml_acs.py [--responses 200]

No database: the IdP is tests/support/saml_idp.py (pysaml2, its own key made for the run); the SP's
settings are policies.saml's for an unsaved configuration. Reported: median and p95 in milliseconds of
each, and the ratio python3-saml / pysaml2 (below 1 = faster).
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    import logging

    logging.getLogger("saml2").setLevel(logging.WARNING)  # pysaml2 logs every response at INFO
    logging.getLogger("xmlschema").setLevel(logging.WARNING)
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from saml2 import BINDING_HTTP_POST
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    from directory.models import Tenant
    from policies import saml
    from policies.models import ExternalDomainFederation
    from tests.support.saml_idp import SamlIdp

    idp = SamlIdp()
    idp.add_user("kai@fabrikam.example")
    federation = ExternalDomainFederation(pk=uuid.uuid4(), tenant=Tenant(slug="bench"), issuer_uri=idp.entity_id,
                                          passive_sign_in_uri=idp.sso_url, signing_certificate=idp.certificate)
    idp.trust(saml.sp_metadata(federation))
    from onelogin.saml2.authn_request import OneLogin_Saml2_Authn_Request

    settings = saml._settings(federation)
    responses = []
    for _ in range(args.responses):
        request = OneLogin_Saml2_Authn_Request(settings)
        url = f"{idp.sso_url}?{urlencode({'SAMLRequest': request.get_request()})}"
        responses.append(idp.respond(url, email="kai@fabrikam.example")[1])
    request_data = saml._request_data(federation, {})

    ours = []
    for value in responses:
        started = time.perf_counter()
        OneLogin_Saml2_Response(settings, value).is_valid(request_data, raise_exceptions=True)
        ours.append((time.perf_counter() - started) * 1000)

    sp_config = SPConfig()
    sp_config.load({
        "entityid": saml.sp_entity_id(federation), "xmlsec_binary": "/usr/bin/xmlsec1",
        "service": {"sp": {"endpoints": {"assertion_consumer_service": [(saml.acs_url(federation), BINDING_HTTP_POST)]},
                           "allow_unsolicited": True, "want_assertions_or_response_signed": True}},
        "metadata": {"inline": [idp.metadata()]},
    })
    client = Saml2Client(config=sp_config)
    baseline = []
    for value in responses:
        started = time.perf_counter()
        client.parse_authn_request_response(value, BINDING_HTTP_POST)
        baseline.append((time.perf_counter() - started) * 1000)

    def p95(values):
        return sorted(values)[int(len(values) * 0.95) - 1]

    print(f"responses checked: {len(responses)} (RSA-2048, SHA-256, Response and Assertion signed)")
    print(f"baseline  pysaml2 SP (xmlsec1 subprocess): median {statistics.median(baseline):7.2f} ms  "
          f"p95 {p95(baseline):7.2f} ms")
    print(f"ours      python3-saml (libxmlsec1):       median {statistics.median(ours):7.2f} ms  p95 {p95(ours):7.2f} ms")
    print(f"ratio ours / baseline: median {statistics.median(ours) / statistics.median(baseline):.2f}")


if __name__ == "__main__":
    main()
