from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_par.flow.purge import DEFAULT_BATCH_SIZE, purge_expired


class Command(BaseCommand):
    help = "Delete expired pushed authorization requests, in batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows deleted per statement")

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            # CommandError: exit status 2 from the shell, an exception under call_command.
            raise CommandError("--batch-size must be at least 1", returncode=2)
        deleted = purge_expired(batch_size)
        self.stdout.write(f"Deleted {deleted} expired pushed requests.")
