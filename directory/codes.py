"""At most ``ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS`` guesses per e-mailed sign-in code, however many
requests arrive at once.

allauth counts wrong codes inside the pending login it keeps in the session. Parallel requests each
read the same session, so each sees "0 wrong so far": a burst of 30 wrong codes was evaluated in full
and the right code still signed in afterwards. Here every guess first takes a number from a counter
in the cache (``add`` then ``incr``: atomic in Redis and in the local-memory cache) and only the first
``limit`` numbers get their code compared. allauth's confirm view and messages are kept; only the
form (count before compare) and the view's "wrong code" branch (end the sign-in when the counter is
used up) are extended.
"""

from __future__ import annotations

from allauth.account import views as allauth_views
from allauth.account.adapter import get_adapter
from allauth.account.forms import ConfirmLoginCodeForm as AllauthConfirmLoginCodeForm
from django.core.cache import cache
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.functional import cached_property

_KEY_SALT = "directory.codes.CodeAttempts"
# What identifies one pending code in allauth's login-by-code state (allauth 65.x).
_STATE_FIELDS = ("user_id", "email", "phone", "at", "code")


class CodeAttempts:
    """A guess counter for one pending code, shared by every request that carries it."""

    def __init__(self, *, key: str, limit: int, timeout: int) -> None:
        self.key = key
        self.limit = limit
        self.timeout = timeout

    @classmethod
    def for_pending_code(cls, state: dict, *, limit: int, timeout: int) -> CodeAttempts:
        """The counter for the code in allauth's pending-login ``state``. The key is an HMAC (with the
        SECRET_KEY) of who, which address, when and which code: no two pending codes share a counter,
        a new code starts a new one, and the cache holds nothing from which a code could be found."""
        material = "|".join(str(state.get(field, "")) for field in _STATE_FIELDS)
        digest = salted_hmac(_KEY_SALT, material, algorithm="sha256").hexdigest()
        return cls(key=f"login-code-attempts:{digest}", limit=limit, timeout=timeout)

    def take(self) -> bool:
        """Count one guess. False when this code has had its ``limit`` guesses already: then the guess
        must not be compared with the code."""
        cache.add(self.key, 0, self.timeout)
        try:
            count = cache.incr(self.key)
        except ValueError:  # the counter expired between add() and incr()
            cache.add(self.key, 0, self.timeout)
            count = cache.incr(self.key)
        return count <= self.limit

    def used_up(self) -> bool:
        return (cache.get(self.key) or 0) >= self.limit


class ConfirmLoginCodeForm(AllauthConfirmLoginCodeForm):
    """allauth's form, taking a number from the shared counter before it compares the code."""

    def __init__(self, *args, attempts: CodeAttempts | None = None, **kwargs) -> None:
        self.attempts = attempts
        super().__init__(*args, **kwargs)

    def clean_code(self) -> str:
        if self.attempts is not None and not self.attempts.take():
            raise get_adapter().validation_error("too_many_login_attempts")
        return super().clean_code()


class ConfirmLoginCodeView(allauth_views.ConfirmLoginCodeView):
    """allauth's "enter your code" page (``account_confirm_login_code``) with the shared counter."""

    form_class = ConfirmLoginCodeForm

    @cached_property
    def _attempts(self) -> CodeAttempts:
        return CodeAttempts.for_pending_code(self._process.state, limit=self._process.max_attempts,
                                             timeout=self._process.timeout)

    def get_form_kwargs(self) -> dict:
        kwargs = super().get_form_kwargs()
        if self._action == "verify":
            kwargs["attempts"] = self._attempts
        return kwargs

    def form_invalid(self, form):
        if self._action != "verify":
            return super().form_invalid(form)
        if self._attempts.used_up():
            # The code has had all its guesses, some perhaps in parallel requests that this session's
            # own count never saw: let allauth end the pending sign-in as after its last wrong guess.
            state = self._process.state
            state["failed_attempts"] = max(state["failed_attempts"], self._process.max_attempts - 1)
        next_url = self.get_next_url()
        response = super().form_invalid(form)
        if response.status_code == 302:
            # Locked out. In a tenant's journey, go back to its sign-in page, which fills in the journey's
            # address: the invitation the session is redeeming stays bound to it, and a new code continues it.
            from .panel import sign_in_url
            from .signin import journey_tenant

            tenant = journey_tenant(self.request)
            if tenant is not None:
                next_url = next_url or reverse("directory:panel", args=[tenant.slug])
                response = HttpResponseRedirect(sign_in_url(tenant, next_url))
        return response

    def get_context_data(self, **kwargs) -> dict:
        context = super().get_context_data(**kwargs)
        if self._action == "verify" and self.request.method == "POST":
            left = min(self._process.max_attempts - self._process.state.get("failed_attempts", 0),
                       self._attempts.limit - (cache.get(self._attempts.key) or 0))
            context["last_attempt"] = left == 1
        return context


confirm_login_code = ConfirmLoginCodeView.as_view()
