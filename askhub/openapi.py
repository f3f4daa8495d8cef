"""What the API documents about its errors: every error body, and which codes an operation
can answer with besides success (so clients and schema-driven tests can rely on the schema)."""

from __future__ import annotations

from typing import Annotated

import msgspec

# Litestar's own plugin for msgspec structs, extended below (it is not exported publicly).
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar._openapi.schema_generation.schema import SchemaCreator
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Schema
from litestar.params import Parameter
from litestar.typing import FieldDefinition

from askhub.validation import MAX_ID


class FieldError(msgspec.Struct):
    field: str
    source: str | None
    message: str | None


class ErrorBody(msgspec.Struct):
    """Every error the API returns: the status again, a sentence, and for 422 each field."""

    status_code: int
    detail: str
    errors: list[FieldError] | msgspec.UnsetType = msgspec.UNSET


DESCRIPTIONS = {
    401: "No valid bearer token: send 'Authorization: Bearer <token>'.",
    403: "The token's person may not do this.",
    404: "The thing named in the path does not exist (ids beyond 2^31-1 never do).",
    409: (
        "The request conflicts with the current state: a closed or full call, a second"
        " volunteering, an email address someone else uses."
    ),
    413: "The body is larger than ASKHUB_MAX_BODY_BYTES.",
    429: "A budget is spent (a manager's introductions of the week); `Retry-After` says when.",
    422: "Invalid input; `errors` names each field (too deep JSON is reported on `body`).",
    503: "The database is unavailable for a moment (it restarts); `Retry-After` says when to retry.",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a route handler: 401 always (every API route needs a token), 422
    always (bad query or path values), 503 always (the database is away for a moment), and the
    ``codes`` this operation can also answer."""
    return {
        code: ResponseSpec(
            data_container=ErrorBody, description=DESCRIPTIONS[code], generate_examples=False
        )
        for code in sorted({401, 422, 503, *codes})
    }


# Path and query numbers, bounded to what every database stores.
Id = Annotated[int, Parameter(ge=1, le=MAX_ID)]
Limit = Annotated[int, Parameter(ge=1, le=200)]
Offset = Annotated[int, Parameter(ge=0, le=MAX_ID)]
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
# Paged lists give the total over all pages in this header.
TOTAL = "X-Total-Count"
# A post repeated under the same Idempotency-Key answers with the first one and says so here.
REPLAYED = "Idempotent-Replayed"


class StrictStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's struct schemas, with two things the API enforces and Litestar leaves out:
    structs that refuse unknown fields say so (``additionalProperties: false``), and list items
    keep their limits (a tag's length and pattern)."""

    def to_openapi_schema(
        self, field_definition: FieldDefinition, schema_creator: SchemaCreator
    ) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        struct = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(struct, msgspec.inspect.StructType)
        if struct.forbid_unknown_fields:
            schema.additional_properties = False
        for field in struct.fields:
            item = _list_item(field.type)
            prop = (schema.properties or {}).get(field.encode_name)
            if item is not None and isinstance(prop, Schema):
                for array in _arrays(prop):
                    if isinstance(array.items, Schema):
                        array.items.min_length = item.min_length
                        array.items.max_length = item.max_length
                        array.items.pattern = item.pattern
        return schema


def _list_item(kind: msgspec.inspect.Type) -> msgspec.inspect.StrType | None:
    """The string type of a list's items (also inside ``X | None``), if that is what it is."""
    options = kind.types if isinstance(kind, msgspec.inspect.UnionType) else (kind,)
    for option in options:
        if isinstance(option, msgspec.inspect.ListType) and isinstance(
            option.item_type, msgspec.inspect.StrType
        ):
            return option.item_type
    return None


def _arrays(schema: Schema) -> list[Schema]:
    found = [schema] if schema.items is not None else []
    for option in [*(schema.one_of or []), *(schema.any_of or [])]:
        if isinstance(option, Schema):
            found.extend(_arrays(option))
    return found
