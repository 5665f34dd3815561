"""Background tasks of the plans app (django-tasks). With the database backend they
run in a worker started with `manage.py db_worker`."""

from django_tasks import task

from plans.bulk import bulk_job_run


@task()
def bulk_render(job_id):
    """Render a BulkRenderJob into its ZIP (plans.bulk.bulk_job_run)."""
    job = bulk_job_run(job_id=job_id)
    return {"status": job.status, "done": job.done, "failures": len(job.failures)}


@task()
def prerender_document(kind, object_id, fmt="pdf"):
    """Render one document ahead and store it with the hash of its inputs (plans.prerender)."""
    from plans.prerender import document_prerender_by_id

    return {"stored": document_prerender_by_id(kind, object_id, fmt)}


@task()
def prerender_many(assessment_ids, plan_ids):
    """Enqueue the documents of many assessments and plans (after an import)."""
    from plans.prerender import documents_enqueue_for_ids

    documents_enqueue_for_ids(assessment_ids=assessment_ids, plan_ids=plan_ids)
