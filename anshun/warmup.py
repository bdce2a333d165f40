"""Work a web process would otherwise do on its first request, done when it starts.

A new process (each gunicorn worker, ``runserver``) imports the URLconf on its first request:
every app's views, DRF and its router, the schema generator, the admin's URLs. It also builds
the URL resolver's reverse table, compiles the templates it renders and loads each language's
translation catalogues. Measured (``bench/bench_signin.py``), that first request took seconds,
several times the password hash, and after a start or a worker restart the sign-in form, the
POST and the home page could each meet a different cold worker. ``anshun.wsgi`` calls
``warm_up`` once the application is loaded, before the server hands the process a request.
Nothing here reads or writes the database.
"""

from __future__ import annotations

from django.conf import settings

# The sign-in path and the pages people land on after it.
TEMPLATES_FIRST_MET = (
    "base.html",
    "accounts/login.html",
    "accounts/login_verify.html",
    "home/official.html",
    "home/grid_worker.html",
    "home/dispatcher.html",
    "home/mediator.html",
    "home/case_officer.html",
)


def warm_up() -> None:
    from django.conf.urls.i18n import is_language_prefix_patterns_used
    from django.template.loader import get_template
    from django.urls import get_resolver, reverse
    from django.utils import translation

    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 - the import of every app's URLs and views
    reverse("login")  # builds the reverse table
    is_language_prefix_patterns_used(settings.ROOT_URLCONF)
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("Sign in")  # loads every app's catalogue for the language
            for name in TEMPLATES_FIRST_MET:
                get_template(name)
    # jieba's dictionary (about a second to load): the first search would otherwise pay it.
    from search.text import warm_up as warm_up_search

    warm_up_search()
