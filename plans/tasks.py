"""Background tasks of the plans app (django-tasks). With the database backend they
run in a worker started with `manage.py db_worker`."""

from django_tasks import task

from plans.bulk import bulk_job_run


@task()
def bulk_render(job_id):
    """Render a BulkRenderJob into its ZIP (plans.bulk.bulk_job_run)."""
    job = bulk_job_run(job_id=job_id)
    return {"status": job.status, "done": job.done, "failures": len(job.failures)}
