from django.utils.functional import SimpleLazyObject


def roles(request):
    """Navigation flags; evaluated only when a template asks, so pages that do not show them run no query."""

    def can_bulk_render():
        from assessments.models import Membership

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        return user.is_superuser or Membership.objects.filter(user=user, role=Membership.Role.PROVINCIAL).exists()

    def my_work_count():
        from plans.my_work import my_work_count as count

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        # A fixed number of queries (plans.my_work), whatever the number of plans.
        return count(user)

    return {"can_bulk_render": SimpleLazyObject(can_bulk_render), "my_work_count": SimpleLazyObject(my_work_count)}
