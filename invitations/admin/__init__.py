"""Admin console pages for invitations (:mod:`.pages`) and what the app adds to the console's home page
and to a user's page (:mod:`.overview`). Django's admin autodiscovery imports this package."""

from . import inactive_guests, overview, pages  # noqa: F401  (registers the admins, the overview cards, the user
# section and the inactive-guests report)
