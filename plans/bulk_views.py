from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from plans import bulk
from plans.models import BulkRenderJob

RECENT_JOBS = 10


def _get_job_for_user(request, pk):
    # Only the job's owner (or a superuser) sees it; anyone else gets 404, not 403.
    jobs = BulkRenderJob.objects.select_related("user")
    if not request.user.is_superuser:
        jobs = jobs.filter(user=request.user)
    return get_object_or_404(jobs, pk=pk)


def _error_text(error):
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


class BulkForm(forms.Form):
    kind = forms.ChoiceField(label="เอกสาร", choices=BulkRenderJob.Kind.choices, widget=forms.RadioSelect)
    fiscal_year = forms.TypedChoiceField(label="ปีงบประมาณที่ประเมิน", coerce=int)
    province = forms.ChoiceField(label="จังหวัด", required=False)

    def __init__(self, *args, provinces, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fiscal_year"].choices = years
        self.fields["province"].choices = provinces
        # "" is a real choice (every province) only for a superuser.
        self.fields["province"].required = "" not in dict(provinces)
        if years:
            self.fields["fiscal_year"].initial = years[0][0]
        self.fields["kind"].initial = BulkRenderJob.Kind.ANNOUNCEMENT


@login_required
def bulk_home(request):
    provinces = bulk.bulk_province_choices(request.user)
    if not provinces:
        return render(request, "plans/refused.html", {"message": bulk.NO_ASSESSMENT_ROLE}, status=403)
    form = BulkForm(request.POST or None, provinces=provinces, years=bulk.bulk_year_choices())
    if request.method == "POST" and form.is_valid():
        try:
            job = bulk.bulk_job_start(user=request.user, **form.cleaned_data)
        except (PermissionDenied, ValidationError) as error:
            form.add_error(None, _error_text(error))
        else:
            messages.success(request, "รับคำสั่งแล้ว ระบบกำลังสร้างเอกสารอยู่เบื้องหลัง หน้านี้จะแสดงความคืบหน้าให้")
            return redirect("plans:bulk_detail", pk=job.pk)
    jobs = list(BulkRenderJob.objects.filter(user=request.user)[:RECENT_JOBS])
    return render(request, "plans/bulk_home.html", {"form": form, "jobs": jobs})


@login_required
def bulk_detail(request, pk):
    job = _get_job_for_user(request, pk)
    running = job.status in (BulkRenderJob.Status.QUEUED, BulkRenderJob.Status.RUNNING)
    context = {
        "job": job,
        "running": running,
        "rendered": job.done - len(job.failures),
        "can_download": job.status == BulkRenderJob.Status.DONE and bool(job.archive),
    }
    return render(request, "plans/bulk_detail.html", context)


@login_required
def bulk_download(request, pk):
    job = _get_job_for_user(request, pk)
    if job.status != BulkRenderJob.Status.DONE or not job.archive:
        raise Http404("ยังไม่มีไฟล์ ZIP ของงานนี้")
    filename = f"{job.kind}-{job.fiscal_year}-{job.province or 'all'}.zip"
    return FileResponse(job.archive.open("rb"), as_attachment=True, filename=filename, content_type="application/zip")
