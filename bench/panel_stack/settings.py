"""The project's settings with one extra route: the bare signed-in view the panel benchmark compares with."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "panel_stack.urls"
