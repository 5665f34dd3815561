from django.urls import path

from assessments.converters import AgencyCodeConverter  # noqa: F401 (registers <agency_code:…>)
from plans import bulk_views, documents, home_views, public_views, verify_views, views

app_name = "plans"

urlpatterns = [
    path("", home_views.home, name="home"),
    path("my-work/", views.my_work_page, name="my_work"),
    path("agencies/<agency_code:code>/", views.agency_detail, name="agency"),
    path("assessments/<int:pk>/draft-plan/", views.draft_plan, name="draft"),
    path("plans/<int:pk>/", views.plan_detail, name="detail"),
    path("plans/<int:pk>/comment/", views.plan_comment, name="comment"),
    path("plans/<int:pk>/revise/", views.plan_revise, name="revise"),
    path("plans/<int:pk>/measures/add/", views.measure_add, name="measure_add"),
    path("plans/<int:pk>/measures/<int:measure_id>/", views.measure_update, name="measure_update"),
    path("plans/<int:pk>/measures/<int:measure_id>/edit/", views.measure_edit, name="measure_edit"),
    path("plans/<int:pk>/measures/<int:measure_id>/move/", views.measure_move, name="measure_move"),
    path("plans/<int:pk>/measures/<int:measure_id>/delete/", views.measure_delete, name="measure_delete"),
    path("plans/<int:pk>/sign/", views.plan_sign, name="sign"),
    path("plans/<int:pk>/progress/", views.plan_progress, name="progress"),
    path("plans/<int:pk>/evidence/<int:progress_id>/", views.evidence_file, name="evidence"),
    path("plans/<int:pk>/documents/<str:kind>.pdf", documents.download, name="document"),
    path("plans/<int:pk>/documents/<str:kind>.docx", documents.download_docx, name="document_docx"),
    path("plans/<int:pk>/publish-progress/", views.publish_progress, name="publish_progress"),
    path("p/<agency_code:code>/", public_views.public_agency, name="public_agency"),
    path("p/<agency_code:code>/<str:verify_code>.pdf", public_views.public_document, name="public_document"),
    path("v/", verify_views.verify_lookup, name="verify_lookup"),
    path("v/<str:code>/", verify_views.verify_document, name="verify"),
    path("bulk/", bulk_views.bulk_home, name="bulk"),
    path("bulk/<int:pk>/", bulk_views.bulk_detail, name="bulk_detail"),
    path("bulk/<int:pk>/download/", bulk_views.bulk_download, name="bulk_download"),
    path("plans/<int:pk>/<str:action>/", views.plan_transition, name="transition"),
]
