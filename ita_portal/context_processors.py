from django.utils.functional import SimpleLazyObject


def roles(request):
    """Navigation flags; evaluated only when a template asks, so pages that do not show them run no query.
    A view that has read the user's memberships already (request.membership_rows: (role,
    agency id, province) each, see plans.views._get_plan_for_user) saves them a query each."""
    rows = getattr(request, "membership_rows", None)

    def can_bulk_render():
        from assessments.models import Membership

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if rows is not None:
            return user.is_superuser or any(role == Membership.Role.PROVINCIAL for role, _, _ in rows)
        return user.is_superuser or Membership.objects.filter(user=user, role=Membership.Role.PROVINCIAL).exists()

    def my_work_count():
        from plans.my_work import my_work_count as count

        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        # A fixed number of queries (plans.my_work), whatever the number of plans.
        return count(user, memberships=rows)

    return {"can_bulk_render": SimpleLazyObject(can_bulk_render), "my_work_count": SimpleLazyObject(my_work_count)}
