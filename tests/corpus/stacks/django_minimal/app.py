"""A one-view Django project served as WSGI: settings in code, no database."""

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="not-a-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes"],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
)
django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402


def health(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("health", health)]
application = WSGIHandler()


def lambda_handler(event, context):
    return {"statusCode": 200, "body": "ok"}
