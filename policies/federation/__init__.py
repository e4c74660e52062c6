"""Federation with external identity providers: their configuration per tenant lives in
``policies.models.IdentityProvider``; the OpenID Connect relying party (``oidc``), its pages (``views``),
the redemption routes (``routes``) and the secrets' encryption (``secrets``) live here. Every protocol
ends in ``directory.federation.sign_in_federated``."""
