from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from ita_portal import views

admin.site.site_header = "ITA Portal ระบบวางแผนยกระดับผลการประเมิน ITA"
admin.site.site_title = "ITA Portal"
admin.site.index_title = "การจัดการข้อมูล"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("assessments.urls")),
    path("", include("plans.urls")),
]

