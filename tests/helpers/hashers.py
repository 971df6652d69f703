"""Django's PBKDF2 hasher with fewer iterations, so the suite is not dominated by it.

Same algorithm name and code path as the production hasher; the spies on
PBKDF2PasswordHasher.encode still see every run. Benchmarks use the real cost.
"""

from django.contrib.auth.hashers import PBKDF2PasswordHasher


class FastPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000
