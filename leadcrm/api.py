"""What every API endpoint shares: keyset pages, and the services' refusals as clear 400s."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.views import exception_handler as drf_exception_handler


class Pages(CursorPagination):
    """Newest first, by id: the next page is a cursor, never an OFFSET or a COUNT."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def service_errors(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError, field by field, as DRF's 400."""
    if hasattr(error, "error_dict"):
        return ValidationError({field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()})
    return ValidationError({"non_field_errors": error.messages})


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = service_errors(exc)
    return drf_exception_handler(exc, context)
