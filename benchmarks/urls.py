"""The example project's URLs plus the benchmark's floor view."""

from django.urls import path

from benchmarks.floor.views import floor
from example_project.urls import urlpatterns as example_urlpatterns

urlpatterns = [path("bench/floor/", floor, name="bench-floor"), *example_urlpatterns]
