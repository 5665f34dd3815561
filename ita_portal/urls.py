from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ita_portal import views

admin.site.site_header = "ITA Portal ระบบวางแผนยกระดับผลการประเมิน ITA"
admin.site.site_title = "ITA Portal"
admin.site.index_title = "การจัดการข้อมูล"

# A 500 page that shows the request id to quote (ita_portal.views.server_error).
handler500 = "ita_portal.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(template_name="registration/password/change_form.html"),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="registration/password/change_done.html"),
        name="password_change_done",
    ),
    path("accounts/password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="registration/password/reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(template_name="registration/password/reset_complete.html"),
        name="password_reset_complete",
    ),
    path("", include("assessments.urls")),
    path("", include("plans.urls")),
]

