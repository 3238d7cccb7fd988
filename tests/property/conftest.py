"""Hypothesis settings for the property tests: no example database written into the work
tree, no per-example deadline (a shared CI machine's pauses are not failures), and the
same examples on every run, so CI never fails on an example it did not draw before.
``HYPOTHESIS_PROFILE=explore`` draws new ones, ten times as many, for a session of its own."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", database=None, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile(
    "explore", parent=settings.get_profile("ci"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
