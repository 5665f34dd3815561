from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from assessments import scoring
from assessments.documents import analysis_context
from assessments.models import AnalysisText, Assessment, FrameworkItem, Membership, agencies_for, has_role


def _get_assessment_for_user(request, pk):
    return get_object_or_404(
        Assessment.objects.select_related("agency", "fiscal_year").filter(agency__in=agencies_for(request.user)), pk=pk
    )


@login_required
def analysis_pdf(request, pk):
    from plans.prerender import document_response

    assessment = _get_assessment_for_user(request, pk)
    return document_response(
        request, "analysis", assessment, filename=f"ita-analysis-{assessment.agency.code}-{assessment.fiscal_year.year}.pdf"
    )


@login_required
def analysis_docx(request, pk):
    from plans.prerender import document_response

    assessment = _get_assessment_for_user(request, pk)
    return document_response(
        request, "analysis", assessment, fmt="docx",
        filename=f"ita-analysis-{assessment.agency.code}-{assessment.fiscal_year.year}.docx",
    )


@login_required
def analysis_edit(request, pk):
    """Edit the analysis paragraph of each indicator; an emptied box returns to the generated text."""
    from plans.prerender import documents_enqueue_after_commit

    assessment = _get_assessment_for_user(request, pk)
    can_edit = has_role(request.user, assessment.agency_id, Membership.Role.STAFF)
    context = analysis_context(assessment)
    sections = context["sections"]
    fields = {f"text_{s['figure'].node.code}": s for s in sections}
    Form = type(
        "AnalysisForm",
        (forms.Form,),
        {name: forms.CharField(label=s["label"], required=False, max_length=8000,
                               widget=forms.Textarea(attrs={"rows": 5})) for name, s in fields.items()},
    )
    if request.method == "POST":
        if not can_edit:
            return render(request, "plans/refused.html", {"message": "แก้ไขบทวิเคราะห์ได้เฉพาะเจ้าหน้าที่ของหน่วยงานนี้"}, status=403)
        form = Form(request.POST)
        if form.is_valid():
            items = {
                i.code: i
                for i in FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year, kind=scoring.INDICATOR)
            }
            with transaction.atomic():
                for name, section in fields.items():
                    code = section["figure"].node.code
                    text = form.cleaned_data[name].strip()
                    if not text or text == section["generated"]:
                        AnalysisText.objects.filter(assessment=assessment, item=items[code]).delete()
                    else:
                        AnalysisText.objects.update_or_create(
                            assessment=assessment, item=items[code], defaults={"text": text, "updated_by": request.user}
                        )
                documents_enqueue_after_commit(assessment_ids=[assessment.pk])
            messages.success(request, "บันทึกบทวิเคราะห์แล้ว")
            return redirect("assessments:analysis_edit", pk=assessment.pk)
    else:
        form = Form(initial={name: s["analysis"] for name, s in fields.items()})
    rows = [(form[name], s) for name, s in fields.items()]
    return render(
        request,
        "assessments/analysis_edit.html",
        {"assessment": assessment, "agency": assessment.agency, "rows": rows, "can_edit": can_edit, "ctx": context},
    )

