"""Pages of export jobs: the requester's list, one job's progress (polled as JSON by
``static/js/export_job.js``, or refreshed by the page itself without script) and the download.

Every view reads through ``export_jobs_visible_to``: a job is its requester's alone, so anyone
else — another official of any county, an administrator — gets the same 404 as for a job that does
not exist, and an anonymous visitor is sent to sign in."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.generic import DetailView, ListView

from anshun.export_jobs import export_jobs_visible_to, job_state
from anshun.exports import CSV_TYPE, XLSX_TYPE
from anshun.files import protected
from anshun.models import ExportJob
from anshun.views import ScopedPageMixin

app_name = "exports"


def job_summary(job: ExportJob) -> dict:
    state = job_state(job)
    labels = dict(ExportJob.Status.choices)
    return {
        "id": job.pk,
        "state": state,
        "label": str(labels.get(state, _("Interrupted"))),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": round(100 * job.rows_done / job.rows_total)
        if job.rows_total
        else (100 if state == "done" else 0),
        "error": job.error,
        "download_url": reverse("exports:download", args=[job.pk])
        if state == ExportJob.Status.DONE
        else None,
    }


class ExportJobListView(ScopedPageMixin, ListView):
    template_name = "exports/job_list.html"
    selector = staticmethod(export_jobs_visible_to)
    context_object_name = "jobs"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(job, job_summary(job)) for job in context["jobs"]]
        return context


class ExportJobDetailView(ScopedPageMixin, DetailView):
    template_name = "exports/job_detail.html"
    selector = staticmethod(export_jobs_visible_to)
    context_object_name = "job"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = job_summary(self.object)
        context["finished"] = context["summary"]["state"] not in (
            ExportJob.Status.QUEUED,
            ExportJob.Status.RUNNING,
        )
        return context


class ExportJobStatusView(ScopedPageMixin, DetailView):
    """Progress as JSON, for the page's polling script."""

    selector = staticmethod(export_jobs_visible_to)

    def get(self, request, *args, **kwargs):
        response = JsonResponse(job_summary(self.get_object()))
        response["Cache-Control"] = "private, no-store"
        return response


class ExportJobDownloadView(ScopedPageMixin, DetailView):
    """The finished file, to its requester only, as a download that no browser renders."""

    selector = staticmethod(export_jobs_visible_to)

    def get(self, request, *args, **kwargs):
        job = self.get_object()
        state = job_state(job)
        if state == ExportJob.Status.EXPIRED:
            return HttpResponse(_("This export has expired; request it again."), status=410)
        if state != ExportJob.Status.DONE or not job.file:
            raise Http404
        content_type = CSV_TYPE if job.export_format == "csv" else XLSX_TYPE
        filename = f"{job.filename}.{job.export_format}"
        prefix = getattr(settings, "MEDIA_ACCEL_REDIRECT_PREFIX", "")
        if prefix:
            response = HttpResponse(b"", content_type=content_type)
            response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + job.file.name
            response["Content-Disposition"] = content_disposition_header(True, filename)
        else:
            try:
                handle = job.file.storage.open(job.file.name, "rb")
            except OSError:
                raise Http404 from None
            response = FileResponse(handle, content_type=content_type, as_attachment=True, filename=filename)
        return protected(response)


urlpatterns = [
    path("", ExportJobListView.as_view(), name="list"),
    path("<int:pk>/", ExportJobDetailView.as_view(), name="detail"),
    path("<int:pk>/status/", ExportJobStatusView.as_view(), name="status"),
    path("<int:pk>/download/", ExportJobDownloadView.as_view(), name="download"),
]
