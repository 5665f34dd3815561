"""The progress report (รายงานผลการดำเนินการ): context, rendering, publishing. To be implemented."""


def render_progress(plan):
    raise NotImplementedError


def progress_publish(*, plan, user):
    raise NotImplementedError
