"""Request middleware of the project."""

from django.utils.deprecation import MiddlewareMixin


class ChineseUnlessChosenMiddleware(MiddlewareMixin):
    """Speak Chinese unless the user picked another language with the switch.

    Django's LocaleMiddleware would otherwise follow the browser's
    Accept-Language, and the shared PCs of township offices often run browsers
    with an English locale. The explicit choice (the language cookie set by
    the switch) still wins, because LocaleMiddleware reads it first.
    """

    def process_request(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
