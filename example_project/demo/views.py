from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods


def _pairs(parameters: QueryDict) -> list[tuple[str, str]]:
    """Every (name, value), repeated names included, in the order received."""
    return [(name, value) for name, values in parameters.lists() for value in values]


@csrf_exempt  # an authorization server posts here with response_mode=form_post
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    """The demo clients' redirect URI: shows whatever the authorization response carried."""
    context = {"query": _pairs(request.GET), "form": _pairs(request.POST)}
    return render(request, "demo/callback.html", context)
