"""What every API endpoint shares: keyset pages, the services' refusals as clear 400s,
and the error answers every operation documents in the schema (``ERRORS``; the schema
class that adds them is ``pipeline.api.schema.ApiSchema``: drf-spectacular cannot be imported
here, while DRF's settings import this module)."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.views import exception_handler as drf_exception_handler

BAD_PAGE_SIZE = "A page size is a whole number from 1 up (at most {limit} are returned)."


class Pages(CursorPagination):
    """Newest first, by id: the next page is a cursor, never an OFFSET or a COUNT."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """A page size that is not a whole number of 1 or more is a 400 (DRF would quietly
        serve the default instead); one above the maximum still gets the maximum."""
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [BAD_PAGE_SIZE.format(limit=self.max_page_size)]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["allowEmptyValue"] = True
                parameter["description"] = (f"Results per page: {self.page_size} unless asked, "
                                            f"at most {self.max_page_size} (more is served as {self.max_page_size}).")
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = "The `next` or `previous` link's cursor; an unreadable one is a 404."
        return parameters


def service_errors(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError, field by field, as DRF's 400."""
    if hasattr(error, "error_dict"):
        return ValidationError({field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()})
    return ValidationError({"non_field_errors": error.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = service_errors(exc)
    return drf_exception_handler(exc, context)


# The schema's error answers ----------------------------------------------------------------

DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
# Field name (or non_field_errors) -> its messages; a body that cannot be parsed at all
# is {"detail": "..."}, hence a string allowed too.
FIELD_ERRORS = {
    "type": "object",
    "description": "What was wrong, by field (`non_field_errors` for the request as a whole).",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
}
ERRORS = {
    "400": ("ValidationErrors", FIELD_ERRORS, "A parameter or the body could not be read or was refused."),
    "401": ("ErrorDetail", DETAIL, "No token, or a token that is not valid (`Authorization: Token <key>`)."),
    "403": ("ErrorDetail", DETAIL, "Your role may not do this."),
    "404": ("ErrorDetail", DETAIL, "No such object among those you may see (or an unreadable cursor)."),
    "415": ("ErrorDetail", DETAIL, "The body is in a content type this endpoint does not read."),
    "429": ("ErrorDetail", DETAIL, "Too many requests: wait as long as Retry-After says."),
}
