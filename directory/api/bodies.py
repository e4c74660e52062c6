"""Request bodies, declared once: the declaration reads (validates) a JSON body and is its OpenAPI schema.

A view names the body each write method takes, ``bodies = {"POST": CREATE_USER}``, and its handler
reads it with ``self.body()``; ``directory.api.schema`` documents the same declaration as the
operation's requestBody. A property whose shape is not simple (a policy's JSON definition, a value
only some handler can check) is declared with kind ``"any"`` and a hand-written ``schema`` fragment;
the handler checks its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import bad_request

_PYTHON_TYPES = {"string": str, "bool": bool, "int": int, "object": dict, "list": list}
_JSON_TYPES = {"string": "string", "bool": "boolean", "int": "integer", "object": "object", "list": "array"}
_TYPE_ERRORS = {"string": "must be a string", "bool": "must be true or false", "int": "must be a number",
                "object": "must be an object", "list": "must be a list"}


def _one_of(choices) -> str:
    choices = [str(c) for c in choices]
    return choices[0] if len(choices) == 1 else ", ".join(choices[:-1]) + " or " + choices[-1]


@dataclass(frozen=True, eq=False)
class Field:
    """One property of a body."""

    kind: str  # string | bool | int | object | list | any (the handler checks it; ``schema`` documents it)
    required: bool = False
    nullable: bool = False  # null is accepted (and read as None)
    max_length: int | None = None  # characters of a string, items of a list
    enum: tuple[str, ...] | None = None  # a string's only values (compared exactly)
    description: str = ""
    nested: Body | None = None  # an object's shape
    items: Field | Body | None = None  # a list's items
    schema: dict | None = None  # OpenAPI the above cannot say (format, example, …), laid over the generated one

    def __post_init__(self):
        if self.kind not in (*_PYTHON_TYPES, "any"):
            raise ValueError(f"Unknown body field kind {self.kind!r}")
        if self.kind == "any" and not self.schema:
            raise ValueError("A field of kind 'any' needs its schema fragment")
        if (self.nested is not None and self.kind != "object") or (self.items is not None and self.kind != "list"):
            raise ValueError("nested= belongs to objects, items= to lists")
        if self.enum is not None and self.kind != "string":
            raise ValueError("enum= belongs to strings (a fragment in schema= documents others)")

    def read(self, name: str, value):
        """The value, checked; a Graph-style 400 naming the property when it does not fit."""
        if value is None and self.nullable:
            return None
        if self.kind == "any":
            return value
        expected = _PYTHON_TYPES[self.kind]
        if not isinstance(value, expected) or (self.kind == "int" and isinstance(value, bool)):
            raise bad_request(f"Property '{name}' {_TYPE_ERRORS[self.kind]}.")
        if self.kind == "string":
            if self.max_length and len(value) > self.max_length:
                raise bad_request(f"Property '{name}' is longer than {self.max_length} characters.")
            if "\x00" in value:
                raise bad_request(f"Property '{name}' contains a NUL character.")
            if self.enum is not None and value not in self.enum:
                raise bad_request(f"Property '{name}' must be {_one_of(self.enum)}.")
        elif self.kind == "object" and self.nested is not None:
            return self.nested.read(value)
        elif self.kind == "list":
            if self.max_length is not None and len(value) > self.max_length:
                raise bad_request(f"Property '{name}' may hold at most {self.max_length} "
                                  f"item{'' if self.max_length == 1 else 's'}.")
            if isinstance(self.items, Body):
                item_name = self.items.odata_type.rsplit(".", 1)[-1]
                if not all(isinstance(item, dict) for item in value):
                    article = "an" if item_name[0] in "aeiou" else "a"
                    raise bad_request(f"Each of {name} must be {article} {item_name} object.")
                return [self.items.read(item) for item in value]
            if self.items is not None:
                return [self.items.read(f"{name}[{index}]", item) for index, item in enumerate(value)]
        return value

    def json_schema(self) -> dict:
        if self.kind == "any":
            schema = {}
        elif self.nested is not None:
            schema = self.nested.json_schema()
        else:
            schema = {"type": _JSON_TYPES[self.kind]}
        if self.kind == "string" and self.max_length:
            schema["maxLength"] = self.max_length
        if self.kind == "list":
            schema["items"] = self.items.json_schema() if self.items is not None else {}
            if self.max_length is not None:
                schema["maxItems"] = self.max_length
        if self.kind == "object" and self.nested is None:
            schema["additionalProperties"] = True
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.nullable:
            schema["nullable"] = True
        if self.description:
            schema["description"] = self.description
        return {**schema, **(self.schema or {})}


@dataclass(frozen=True, eq=False)
class Body:
    """A JSON object a write takes: its Graph type (named in errors), its properties, and whether it is
    an update (a PATCH names at least one property, none is required)."""

    odata_type: str
    fields: dict[str, Field] = field(default_factory=dict)
    update: bool = False
    description: str = ""

    def __post_init__(self):
        if self.update and any(f.required for f in self.fields.values()):
            raise ValueError("An update body has no required property")

    @property
    def required(self) -> list[str]:
        return [name for name, f in self.fields.items() if f.required]

    def read(self, data: dict) -> dict:
        """The declared properties of ``data``, checked. Unknown properties, wrong types, oversized values
        and missing required properties are a Graph-style 400; OData annotations ("@odata.type") are
        skipped."""
        cleaned = {}
        for name, value in data.items():
            if name.startswith("@odata."):
                continue
            declared = self.fields.get(name)
            if declared is None:
                raise bad_request(f"Property '{name[:60]}' does not exist on type '{self.odata_type}' or is "
                                  "read-only.")
            cleaned[name] = declared.read(name, value)
        missing = [name for name in self.required if name not in cleaned]
        if missing:
            raise bad_request(f"Property '{missing[0]}' is required.")
        if self.update and not cleaned:
            raise bad_request("The request body names no property to update.")
        return cleaned

    def json_schema(self) -> dict:
        schema = {"type": "object", "properties": {name: f.json_schema() for name, f in self.fields.items()},
                  "additionalProperties": False}
        if self.required:
            schema["required"] = self.required
        if self.update:
            schema["minProperties"] = 1
        if self.description:
            schema["description"] = self.description
        return schema


class Reference(Body):
    """Graph's reference body for ``…/$ref``: ``{"@odata.id": url}`` and nothing else. Here "@odata.id"
    is the content, not an annotation."""

    def read(self, data: dict) -> dict:
        unknown = [key for key in data if key not in self.fields]
        if unknown:
            raise bad_request(f"Property '{str(unknown[0])[:60]}' is not valid in a reference; send only "
                              f"'{_one_of(self.fields)}'.")
        missing = [name for name in self.required if name not in data]
        if missing:
            raise bad_request(f"Property '{missing[0]}' is required.")
        return {name: self.fields[name].read(name, value) for name, value in data.items()}


REFERENCE = Reference("microsoft.graph.directoryObject", {
    "@odata.id": Field("any", required=True, schema={
        "type": "string", "format": "uri", "maxLength": 2048,
        "example": "https://graph.microsoft.com/v1.0/directoryObjects/{id}",
        "description": "The URL of the user to add."}),
})
