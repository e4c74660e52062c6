"""``$expand`` on directory objects, for single items and list pages alike (``GraphView.apply_expand``).

Graph's rules for directory objects, which we follow:

- one navigation per request (``$expand=manager``; ``$expand=manager,memberOf`` is a 400),
- at most 20 expanded objects per navigation and object (a collection is cut at 20, sorted by
  displayName; there is no nextLink inside an expansion),
- a nested ``$select`` is allowed: ``$expand=manager($select=id,displayName)``; no other nested option.

Expanded objects carry their ``@odata.type`` and are only those the caller may read (the
``*_visible_to`` selectors). A page costs a fixed number of queries whatever its size: one per
navigation (a windowed prefetch cuts each collection at 20 in the database). Guests are the
exception for a group's members and owners, whose visibility depends on the group: those are read
per group, through the same selectors the members and owners endpoints use.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet, prefetch_related_objects

from ..actors import Actor
from ..models import Group, User
from ..selectors import group_members_visible_to, groups_visible_to, owners_visible_to, users_visible_to
from . import odata
from .errors import bad_request, unsupported_query
from .resources import GROUP, USER

MAX_EXPANDED = 20  # Graph: $expand returns up to 20 objects per relationship


@dataclass(frozen=True)
class Navigation:
    name: str  # Graph's name, e.g. "memberOf"
    resource: odata.Resource  # the type it holds
    model: type
    relation: str  # the ORM relation on the parent: "member_of", "manager"
    many: bool
    #: The objects of ``model`` the actor may see through this navigation, whatever the parent.
    visible: Callable[[Actor], QuerySet]
    #: For guests, when what they see depends on the parent: (actor, parent) → queryset.
    per_parent: Callable[[Actor, object], QuerySet] | None = None


NAVIGATIONS: dict[str, dict[str, Navigation]] = {
    USER.odata_type: {
        "manager": Navigation("manager", USER, User, "manager", False, users_visible_to),
        "memberOf": Navigation("memberOf", GROUP, Group, "member_of", True, groups_visible_to),
        "sponsors": Navigation("sponsors", USER, User, "sponsors", True, users_visible_to),
    },
    GROUP.odata_type: {
        "members": Navigation("members", USER, User, "members", True, users_visible_to,
                              per_parent=group_members_visible_to),
        "owners": Navigation("owners", USER, User, "owners", True, users_visible_to, per_parent=owners_visible_to),
    },
}


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_request("Parsing OData Select and Expand failed: unbalanced parentheses in $expand.")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise bad_request("Parsing OData Select and Expand failed: unbalanced parentheses in $expand.")
    return [*parts, current]


def parse_expand(resource: odata.Resource, text: str) -> tuple[Navigation, list[odata.Prop] | None]:
    """The navigation ``text`` names on ``resource`` and its nested $select (None: the default set)."""
    if len(text) > 1000 or "\x00" in text:
        raise bad_request("The $expand option is too long or holds a NUL character.")
    items = [item.strip() for item in _split_top_level(text)]
    if not items or not items[0]:
        raise bad_request("Parsing OData Select and Expand failed: $expand names no property.")
    if len(items) > 1:
        raise unsupported_query("Only one navigation property can be expanded per request on directory objects.")
    item = items[0]
    name, _, rest = item.partition("(")
    name = name.strip()
    navigations = NAVIGATIONS.get(resource.odata_type, {})
    navigation = next((nav for key, nav in navigations.items() if key.lower() == name.lower()), None)
    if navigation is None:
        if name == "*":
            raise unsupported_query("$expand=* is not supported; name one navigation property.")
        raise bad_request(f"Parsing OData Select and Expand failed: Could not find a property named "
                          f"'{name[:60]}' on type '{resource.odata_type}'.")
    select = None
    if rest:
        if not rest.endswith(")"):
            raise bad_request("Parsing OData Select and Expand failed: text after the nested options.")
        for option in (o.strip() for o in rest[:-1].split(";")):
            key, _, value = option.partition("=")
            if key.strip().lower() != "$select":
                raise unsupported_query(f"The nested option '{key.strip()[:40]}' is not supported in $expand; "
                                        "only $select is.")
            select = odata.parse_select(navigation.resource, value)
    return navigation, select


def _ordered(navigation: Navigation, queryset: QuerySet, select) -> QuerySet:
    """In Graph's order for an expansion, with the related rows its selected properties read."""
    return queryset.order_by("display_name", "id").prefetch_related(*navigation.resource.prefetches(select))


def _related(actor: Actor, navigation: Navigation, objects: list, select) -> list:
    """For each object, its expanded value: a list (at most 20) or one object or None."""
    if not navigation.many:
        attname = f"{navigation.relation}_id"
        wanted = {getattr(obj, attname) for obj in objects} - {None}
        found = {o.pk: o for o in _ordered(navigation, navigation.visible(actor).filter(pk__in=wanted), select)} \
            if wanted else {}
        return [found.get(getattr(obj, attname)) for obj in objects]
    if navigation.per_parent is not None and actor.is_guest:
        return [list(_ordered(navigation, navigation.per_parent(actor, obj), select)[:MAX_EXPANDED]) for obj in objects]
    visible = navigation.model.objects.filter(pk__in=navigation.visible(actor).values("pk"))
    attr = f"_expanded_{navigation.name}"
    prefetch_related_objects(objects, Prefetch(
        navigation.relation, queryset=_ordered(navigation, visible, select)[:MAX_EXPANDED], to_attr=attr))
    return [getattr(obj, attr) for obj in objects]


def _typed(resource: odata.Resource, obj, select) -> dict:
    return {"@odata.type": f"#{resource.odata_type}", **resource.represent(obj, select)}


def expand(view, objects: list, represented: list[dict]) -> list[dict]:
    """``represented`` (the objects' Graph shapes), each with the navigation ``$expand`` names."""
    text = view.request.query_params.get("$expand")
    if text is None or not objects:
        if text is not None:
            parse_expand(view.resource, text)  # a bad $expand is a 400 on an empty page too
        return represented
    navigation, select = parse_expand(view.resource, text)
    for data, value in zip(represented, _related(view.principal, navigation, objects, select), strict=True):
        if navigation.many:
            data[navigation.name] = [_typed(navigation.resource, o, select) for o in value]
        elif value is not None:
            data[navigation.name] = _typed(navigation.resource, value, select)
    return represented
