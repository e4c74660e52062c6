from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import User


@login_required
def home(request):
    """The signed-in person's organisations: where they are a member or a guest."""
    memberships = (
        User.objects.active()
        .filter(account=request.user, account_enabled=True)
        .select_related("tenant")
        .order_by("tenant__name")
    )
    return render(request, "directory/home.html", {"memberships": memberships})
