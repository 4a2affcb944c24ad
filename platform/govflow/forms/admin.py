from django.contrib import admin

from .models import FormVersion


@admin.register(FormVersion)
class FormVersionAdmin(admin.ModelAdmin):
    list_display = ("key", "version", "status", "title_zh", "published_at")
    list_filter = ("status",)
    search_fields = ("key", "title_zh")
    readonly_fields = [f.name for f in FormVersion._meta.fields]

    def has_add_permission(self, request):
        return False
