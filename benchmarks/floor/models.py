from django.db import models


class FloorRow(models.Model):
    """One row per floor request: the floor pays for one INSERT, as a push does."""

    value = models.CharField(max_length=64)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.value
