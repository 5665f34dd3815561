class ThaiFirstMiddleware:
    """Serve Thai unless the user picked English (the language cookie set by /i18n/setlang/).

    Office PCs often run an English browser, and LocaleMiddleware would follow its
    Accept-Language header; the portal is Thai first, so that header is ignored."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
