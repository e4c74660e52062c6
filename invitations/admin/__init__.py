"""Admin console pages for invitations (:mod:`.pages`) and what the app adds to the console's home page
and to a user's page (:mod:`.overview`). Django's admin autodiscovery imports this package."""

from . import overview, pages  # noqa: F401  (registers the admins, the overview cards and the user section)
