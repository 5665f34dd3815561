"""The portal's admin site: Django's, with the side menu's app list remembered per user.

The app list asks every registered admin for its module and model permissions and reverses
two addresses per model: about as much Python as the rest of an admin page's view. It is
kept in this process, keyed by everything those permission questions read (the user's
flags, Django permissions, agency memberships and the language), so that a change to any of
them gives a new key, and the menu built from the new permissions, on the very next request
in every worker: nothing has to be told to forget it."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.db.models import Q
from django.template.defaultfilters import urlencode
from django.template.loader import render_to_string
from django.utils import translation

# Remembered app lists; bounded, so a process serving many users stays small.
APP_LIST_CACHE_SIZE = 500


class PortalAdminSite(admin.AdminSite):
    _app_lists = {}
    _sidebars = {}

    def app_list_key(self, request, app_label=None):
        """What the registered admins' has_module_permission and has_*_permission read for
        the app list (obj=None): the user's flags, Django permissions (user and group) and
        memberships (assessments.admin._memberships). None: not remembered."""
        from django.contrib.auth.models import Permission

        from assessments.admin import _memberships

        user = request.user
        if not user.is_authenticated:
            return None
        perms = ()
        if not user.is_superuser:  # a superuser holds every permission: the flag says it all
            # The user's own and their groups' permissions, as ModelBackend reads them, in one query (it takes two).
            perms = frozenset(
                Permission.objects.filter(Q(user=user) | Q(group__user=user)).values_list(
                    "content_type__app_label", "codename"
                )
            )
        return (
            app_label, user.pk, user.is_active, user.is_staff, user.is_superuser, perms,
            frozenset(_memberships(request)), translation.get_language(),
        )

    def each_context(self, request):
        context = super().each_context(request)
        key = getattr(request, "_ita_app_list_key", None)
        if key is not None:
            context["nav_sidebar_html"] = self.nav_sidebar_html(request, key, context["available_apps"])
        return context

    def nav_sidebar_html(self, request, key, app_list):
        """admin/nav_sidebar_menu.html (Django's side menu) for this user's app list, rendered once
        for each way the page's address marks the current app and model (the template compares
        each link with request.path), then remembered like the app list."""
        path = urlencode(request.path)
        current = tuple(
            (app["app_url"] in path, *(model["admin_url"] in path for model in app["models"] if model["admin_url"]))
            for app in app_list
        )
        html = self._sidebars.get((key, current))
        if html is None:
            html = render_to_string("admin/nav_sidebar_menu.html", {"available_apps": app_list}, request)
            if len(self._sidebars) >= APP_LIST_CACHE_SIZE:
                self._sidebars.clear()
            self._sidebars[(key, current)] = html
        return html

    def get_app_list(self, request, app_label=None):
        key = self.app_list_key(request, app_label)
        if key is None:
            return super().get_app_list(request, app_label)
        if app_label is None:
            request._ita_app_list_key = key  # the side menu's (each_context)
        app_list = self._app_lists.get(key)
        if app_list is None:
            app_list = super().get_app_list(request, app_label)
            if len(self._app_lists) >= APP_LIST_CACHE_SIZE:
                self._app_lists.clear()  # rebuilt as users come back
            self._app_lists[key] = app_list
        # A copy: a view may add to the list or its dicts without changing the remembered one.
        return [
            {**app, "models": [{**model, "perms": dict(model["perms"])} for model in app["models"]]}
            for app in app_list
        ]


class PortalAdminConfig(AdminConfig):
    default_site = "ita_portal.admin_site.PortalAdminSite"
