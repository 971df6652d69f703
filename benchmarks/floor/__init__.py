"""The benchmark's floor: the cheapest useful POST a Django project can answer here."""
