from django.urls import path

from assessments import views

app_name = "assessments"

urlpatterns = [
    path("assessments/<int:pk>/analysis.pdf", views.analysis_pdf, name="analysis_pdf"),
    path("assessments/<int:pk>/analysis/", views.analysis_edit, name="analysis_edit"),
]
