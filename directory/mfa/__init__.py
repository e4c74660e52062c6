"""MFA in the access panel: security info (register and remove methods) and the challenge.

The writes are services (``directory/services/mfa.py``); these pages parse, call one and render. The
challenge is the requirement handler for ``"mfa"`` and ``"authenticationStrength:<strength>"``
(``directory/access.py``): it asks for a method of the strength, or, when the person has none yet,
sends them to register one first (Entra's combined registration), then records success with
``mark_satisfied`` and returns to ``?next=``.
"""
