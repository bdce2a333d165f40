"""Terms our pages share with third-party packages, in the platform's words.

Django merges every catalogue and the project's ``locale/`` ranks highest, so a msgid listed
here is shown with our root catalogue's Chinese wherever it appears, the admin and the
browsable API included: django-filter and the admin say 过滤器 where 综治 staff say 筛选,
and django-celery-beat's 任务名 ("task name") would otherwise name a person. django-axes
ships no Chinese at all, so its admin (sign-in lock-outs) is translated here too.

Nothing calls these: ``gettext_noop`` only keeps the msgids in ``make messages``, so the
root catalogue does not mark their translations obsolete. tests/test_translations.py checks
that each is shown as our catalogue says.
"""

from django.utils.translation import gettext_noop

SHARED_TERMS = (
    gettext_noop("Filter"),
    gettext_noop("Filters"),
    gettext_noop("Action"),
    gettext_noop("Name"),
)

# django-axes: the admin of sign-in attempts, lock-outs and the sign-in log.
AXES_TERMS = (
    gettext_noop("Locked Out"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Cleaned up {count} expired access attempts."),
    gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("User Agent"),
    gettext_noop("IP Address"),
    gettext_noop("HTTP Accept"),
    gettext_noop("Path"),
    gettext_noop("Attempt Time"),
    gettext_noop("Access lock out"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("GET Data"),
    gettext_noop("POST Data"),
    gettext_noop("Failed Logins"),
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Logout Time"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("Account locked: too many login attempts. Please try again later."),
    gettext_noop("Account locked: too many login attempts. Contact an admin to unlock your account."),
)
