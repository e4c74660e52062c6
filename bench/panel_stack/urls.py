"""The project's routes plus the bare signed-in views bench/panel.py compares My Apps with, served through
the same middleware (sessions, authentication, CSRF, CSP, allauth, django-otp, WhiteNoise):

- ``/bench/bare/``: ``login_required`` rendering the site's base layout (``base.html``) with one line, the
  least a signed-in page of this site renders — the baseline of the goal;
- ``/bench/bytes/``: ``login_required`` returning a few bytes without a template (printed for reference).
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.template import engines
from django.urls import path

from config.urls import *  # noqa: F403
from config.urls import urlpatterns as project_urlpatterns

_PAGE = engines["django"].from_string(
    '{% extends "base.html" %}{% block content %}<p>{{ user.email }}</p>{% endblock %}')


@login_required
def bare(request):
    return HttpResponse(_PAGE.render({}, request))


@login_required
def bytes_only(request):
    return HttpResponse(f"<!doctype html><title>bare</title><p>{request.user.email}</p>")


urlpatterns = [path("bench/bare/", bare), path("bench/bytes/", bytes_only), *project_urlpatterns]
