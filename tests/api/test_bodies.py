"""A request body's declaration (directory/api/bodies.py) reads requests and is their OpenAPI schema."""

import pytest

from directory.api.bodies import REFERENCE, Body, Field
from directory.api.errors import GraphError

ADDRESS = Body("microsoft.graph.emailAddress", {
    "address": Field("string", required=True, max_length=20),
    "name": Field("string", nullable=True),
})
THING = Body("microsoft.graph.thing", {
    "name": Field("string", required=True, max_length=5),
    "kind": Field("string", nullable=True, enum=("Red", "Green", "Blue")),
    "enabled": Field("bool"),
    "size": Field("int"),
    "tags": Field("list", max_length=2, items=Field("string", max_length=3)),
    "owner": Field("object", nested=ADDRESS),
    "copies": Field("list", max_length=2, items=ADDRESS),
    "blob": Field("object"),
    "rule": Field("any", schema={"type": "array", "items": {"type": "string"}}),
})
CHANGE = Body("microsoft.graph.thing", {"name": Field("string", max_length=5)}, update=True)


def refused(body: Body, data: dict) -> str:
    with pytest.raises(GraphError) as caught:
        body.read(data)
    assert caught.value.status_code == 400 and caught.value.code == "Request_BadRequest"
    return caught.value.message


def test_a_valid_body_is_read_with_its_nested_values_and_annotations_skipped():
    data = {"@odata.type": "#microsoft.graph.thing", "name": "ab", "kind": None, "enabled": False, "size": 3,
            "tags": ["x", "yz"], "owner": {"address": "a@b.example"},
            "copies": [{"address": "c@d.example", "name": None}], "blob": {"free": ["form"]}, "rule": 7}
    cleaned = THING.read(data)
    assert cleaned == {k: v for k, v in data.items() if k != "@odata.type"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "a", "colour": "x"}, "Property 'colour' does not exist on type 'microsoft.graph.thing' or is "
                                       "read-only."),
        ({"kind": "Red"}, "Property 'name' is required."),
        ({"name": 5}, "Property 'name' must be a string."),
        ({"name": None}, "Property 'name' must be a string."),  # not nullable
        ({"name": "abcdef"}, "Property 'name' is longer than 5 characters."),
        ({"name": "a\x00"}, "Property 'name' contains a NUL character."),
        ({"name": "a", "kind": "red"}, "Property 'kind' must be Red, Green or Blue."),
        ({"name": "a", "enabled": "true"}, "Property 'enabled' must be true or false."),
        ({"name": "a", "size": True}, "Property 'size' must be a number."),
        ({"name": "a", "tags": "x"}, "Property 'tags' must be a list."),
        ({"name": "a", "tags": ["a", "b", "c"]}, "Property 'tags' may hold at most 2 items."),
        ({"name": "a", "tags": ["a", 5]}, "Property 'tags[1]' must be a string."),
        ({"name": "a", "tags": ["abcd"]}, "Property 'tags[0]' is longer than 3 characters."),
        ({"name": "a", "owner": "a@b.example"}, "Property 'owner' must be an object."),
        ({"name": "a", "owner": {}}, "Property 'address' is required."),
        ({"name": "a", "owner": {"address": "a@b.example", "x": 1}},
         "Property 'x' does not exist on type 'microsoft.graph.emailAddress' or is read-only."),
        ({"name": "a", "copies": ["a@b.example"]}, "Each of copies must be an emailAddress object."),
        ({"name": "a", "copies": [{"name": "A"}]}, "Property 'address' is required."),
        ({"name": "a", "blob": []}, "Property 'blob' must be an object."),
    ],
)
def test_bad_input_is_a_precise_400(data, message):
    assert refused(THING, data) == message


def test_an_update_names_at_least_one_property_and_none_is_required():
    assert CHANGE.read({"name": "b"}) == {"name": "b"}
    assert refused(CHANGE, {}) == "The request body names no property to update."
    assert refused(CHANGE, {"@odata.type": "#microsoft.graph.thing"}) == "The request body names no property to update."
    with pytest.raises(ValueError):
        Body("microsoft.graph.thing", {"name": Field("string", required=True)}, update=True)


def test_declarations_that_cannot_be_read_or_documented_are_refused_at_import():
    with pytest.raises(ValueError):
        Field("any")  # the handler checks it, so its shape must be written down
    with pytest.raises(ValueError):
        Field("string", items=Field("string"))
    with pytest.raises(ValueError):
        Field("bool", enum=(True,))
    with pytest.raises(ValueError):
        Field("date")


def test_the_schema_is_the_declaration():
    schema = THING.json_schema()
    assert schema["required"] == ["name"] and schema["additionalProperties"] is False
    assert "minProperties" not in schema
    properties = schema["properties"]
    assert properties["name"] == {"type": "string", "maxLength": 5}
    assert properties["kind"] == {"type": "string", "enum": ["Red", "Green", "Blue"], "nullable": True}
    assert properties["enabled"] == {"type": "boolean"}
    assert properties["size"] == {"type": "integer"}
    assert properties["tags"] == {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2}
    assert properties["owner"] == ADDRESS.json_schema()
    assert properties["owner"]["required"] == ["address"]
    assert properties["copies"] == {"type": "array", "items": ADDRESS.json_schema(), "maxItems": 2}
    assert properties["blob"] == {"type": "object", "additionalProperties": True}
    assert properties["rule"] == {"type": "array", "items": {"type": "string"}}
    assert CHANGE.json_schema() == {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}},
                                    "additionalProperties": False, "minProperties": 1}


def test_a_fragment_adds_what_the_kind_cannot_say():
    field = Field("string", max_length=254, description="Where to write.", schema={"format": "email"})
    assert field.json_schema() == {"type": "string", "maxLength": 254, "description": "Where to write.",
                                   "format": "email"}


def test_a_reference_body_holds_only_odata_id():
    url = "https://graph.microsoft.com/v1.0/directoryObjects/8f2e5b0a-2f59-4a5b-9c0f-5b1f7a0e1d11"
    assert REFERENCE.read({"@odata.id": url}) == {"@odata.id": url}
    assert refused(REFERENCE, {}) == "Property '@odata.id' is required."
    assert refused(REFERENCE, {"@odata.id": url, "@odata.type": "#x"}) == (
        "Property '@odata.type' is not valid in a reference; send only '@odata.id'.")
    assert REFERENCE.json_schema()["required"] == ["@odata.id"]
