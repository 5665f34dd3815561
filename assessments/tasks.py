"""Background work of the assessments app (django-tasks; the worker is `manage.py db_worker`)."""

from django_tasks import task

from assessments.resources import import_batch_run


@task()
def import_batch_task(batch_id):
    """Import a confirmed file too large for a request (more than IMPORT_SYNC_MAX_ROWS figures).
    The ImportBatch carries the file, the progress and the outcome; a batch runs once."""
    import_batch_run(batch_id)


@task()
def fiscal_year_restate_task(fiscal_year_id):
    """Store again the summary of every assessment of a year whose level rules or framework
    changed (services.fiscal_year_restate)."""
    from assessments.services import fiscal_year_restate

    return {"changed": fiscal_year_restate(fiscal_year_id=fiscal_year_id)}
