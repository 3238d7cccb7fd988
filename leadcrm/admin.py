from django.contrib import admin

from .models import IdempotencyKey


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """The API's Idempotency-Keys of the last 24 hours, to read when a client asks why its
    retry got an old answer. Read-only: a key is the client's, and its answer what was
    sent; the answers themselves are not shown (they may name homeowners)."""

    list_display = ["key", "user", "method", "path", "status", "created_at"]
    list_filter = ["method", "status"]
    search_fields = ["key", "path", "user__username"]
    fields = ["key", "user", "method", "path", "fingerprint", "status", "created_at"]
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
