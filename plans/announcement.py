"""The signed announcement (ประกาศ): context, rendering, one-time storage with SHA-256,
optional PAdES signature (pyHanko). To be implemented."""


def render_announcement(plan):
    raise NotImplementedError


def announcement_store(*, plan, user):
    raise NotImplementedError
