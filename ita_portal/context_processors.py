from django.utils.functional import SimpleLazyObject


def roles(request):
    """Navigation flags; evaluated only when a template asks, so pages that do not show them run no query."""

    def can_bulk_render():
        from assessments.models import Membership

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        return user.is_superuser or Membership.objects.filter(user=user, role=Membership.Role.PROVINCIAL).exists()

    return {"can_bulk_render": SimpleLazyObject(can_bulk_render)}
