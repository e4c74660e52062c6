"""Seeds one of the two deployments of ``test_two_deployments.py`` through the services, in its own process
(its own DATABASE_URL): ``python -m tests.integration.two_deployments_seed <step> '<json>'`` prints JSON.

- ``a``: Proseware on deployment A: members ann, bob, carl (password, authenticator app), "members require
  MFA", outbound settings toward Tailwind on B that block carl, and B registered as a federation client.
- ``b``: Tailwind on B: deployment A as a partner deployment identity provider for proseware.example,
  Proseware (A's issuer + tenant id) as a partner whose MFA is trusted, "guests require MFA", invitations.
- ``b-trust``: switch B's inbound MFA trust for Proseware on or off.
"""

import json
import os
import sys

PASSWORD = "Proseware-federation-2026!"
MEMBERS = ("ann", "bob", "carl")


def _setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django

    django.setup()


def seed_a(args: dict) -> dict:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from directory import services as directory_services
    from directory.actors import Actor
    from directory.federation_clients import federation_client_register
    from directory.services.mfa import totp_new_key, totp_register
    from policies import services

    operator = Actor.operator()
    tenant = directory_services.tenant_create(actor=operator, name="Proseware", slug="proseware",
                                              initial_domain="proseware.example")
    admin = Actor.operator(tenant=tenant)
    keys, users = {}, {}
    for name in MEMBERS:
        user = directory_services.user_create(actor=admin, tenant=tenant, display_name=name.title(),
                                              user_principal_name=f"{name}@proseware.example", password=PASSWORD)
        key = totp_new_key()
        totp_register(actor=admin, user=user, key=key, token=f"{totp(bytes.fromhex(key)):06d}")
        keys[user.user_principal_name] = key
        users[name] = user
    TOTPDevice.objects.update(last_t=-1)  # the test signs in within the same 30 s: let its first code count
    services.conditional_access_policy_create(actor=admin, tenant=tenant, acknowledge_lockout=True, data={
        "displayName": "Members require MFA", "state": "enabled",
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": ["All"]}}})
    services.cross_tenant_partner_create(actor=admin, tenant=tenant, partner_tenant_id=args["tailwind_id"],
                                         issuer=args["b_url"], settings={"b2bCollaborationOutbound": {
                                             "usersAndGroups": {"accessType": "blocked", "targets": [
                                                 {"target": str(users["carl"].pk), "targetType": "user"}]},
                                             "applications": {"accessType": "allowed", "targets": [
                                                 {"target": "AllApplications", "targetType": "application"}]}}})
    client_id, secret = federation_client_register(
        actor=operator, partner_issuer=args["b_url"], partner_tenant_id=args["tailwind_id"],
        partner_name="Tailwind Traders", redirect_uris=[f"{args['b_url']}/t/tailwind/federation/callback/"])
    return {"proseware_id": str(tenant.pk), "client_id": client_id, "client_secret": secret, "totp": keys}


def seed_b(args: dict) -> dict:
    from directory import services as directory_services
    from directory.actors import Actor
    from invitations.services import invitation_create
    from policies import services

    tenant = directory_services.tenant_create(actor=Actor.operator(), name="Tailwind Traders", slug="tailwind",
                                              initial_domain="tailwind.example", id=args["tailwind_id"])
    admin = Actor.operator(tenant=tenant)
    services.identity_provider_create(actor=admin, tenant=tenant, kind="deployment", display_name="Proseware",
                                      client_id=args["client_id"], client_secret=args["client_secret"],
                                      issuer=args["a_url"], domains=["proseware.example"])
    services.cross_tenant_partner_create(actor=admin, tenant=tenant, partner_tenant_id=args["proseware_id"],
                                         issuer=args["a_url"], settings={"inboundTrust": {"isMfaAccepted": True}})
    services.conditional_access_policy_create(actor=admin, tenant=tenant, data={
        "displayName": "Guests require MFA", "state": "enabled",
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        "conditions": {"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}},
                       "applications": {"includeApplications": ["All"]}}})
    links = {}
    for name in MEMBERS:
        result = invitation_create(actor=admin, tenant=tenant, email=f"{name}@proseware.example",
                                   redirect_url=f"{os.environ['SITE_URL']}/t/tailwind/")
        links[f"{name}@proseware.example"] = result.redeem_url
    return {"invitations": links}


def seed_b_trust(args: dict) -> dict:
    from directory.actors import Actor
    from directory.models import Tenant
    from policies import services
    from policies.models import CrossTenantAccessPartner

    tenant = Tenant.objects.get(slug="tailwind")
    partner = CrossTenantAccessPartner.objects.get(tenant=tenant)
    services.cross_tenant_partner_update(actor=Actor.operator(tenant=tenant), partner=partner, changes={
        "inboundTrust": {"isMfaAccepted": bool(args["mfa_accepted"])}})
    return {"ok": True}


if __name__ == "__main__":
    _setup()
    step, payload = sys.argv[1], json.loads(sys.argv[2])
    result = {"a": seed_a, "b": seed_b, "b-trust": seed_b_trust}[step](payload)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
