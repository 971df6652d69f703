"""Load benchmark of django_par: see benchmarks/README.md."""
