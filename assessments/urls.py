from django.urls import path

from assessments import compare_views, views
from assessments.converters import AgencyCodeConverter  # noqa: F401 (registers <agency_code:…>)

app_name = "assessments"

urlpatterns = [
    path("assessments/<int:pk>/analysis.pdf", views.analysis_pdf, name="analysis_pdf"),
    path("assessments/<int:pk>/analysis.docx", views.analysis_docx, name="analysis_docx"),
    path("assessments/<int:pk>/analysis/", views.analysis_edit, name="analysis_edit"),
    path("compare/", compare_views.province_table, name="compare"),
    path("compare/agency/<agency_code:code>/trend/", compare_views.agency_trend, name="compare_trend"),
    path("compare/agency/<agency_code:code>/<int:year>/", compare_views.agency_compare, name="compare_agency"),
]
