"""The floor view: parse a form body, INSERT one row, answer 201 JSON.

It goes through the same middleware and the same database as the PAR endpoint,
so the ratio of a push's server CPU to the floor's is the cost of django_par
(and DOT's validation) beyond Django's own request handling and one INSERT.
"""

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import FloorRow


@csrf_exempt
@require_POST
def floor(request):
    value = request.POST.get("value", "")[:64]
    row = FloorRow.objects.create(value=value, created_at=timezone.now())
    return JsonResponse({"id": row.pk, "value": value}, status=201)
