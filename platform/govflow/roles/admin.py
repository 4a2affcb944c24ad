from django.contrib import admin

from .models import Area, Role, RoleAssignment, UserProfile
from .services import role_assign, role_revoke


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "level", "parent")
    list_filter = ("level",)
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("key", "name_zh", "name_en", "can_design", "can_supervise", "can_act")
    readonly_fields = ("permission",)


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    """Grants go through roles.services so guardian and the audit log stay in step."""

    list_display = ("user", "role", "area", "granted_at", "granted_by")
    list_filter = ("role",)
    search_fields = ("user__username", "area__code", "area__name")
    raw_id_fields = ("user", "area")
    fields = ("user", "role", "area")

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        created = role_assign(user=obj.user, role=obj.role, area=obj.area, actor=request.user)
        obj.pk = created.pk

    def delete_model(self, request, obj):
        role_revoke(assignment=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            role_revoke(assignment=obj, actor=request.user)


admin.site.register(UserProfile)
