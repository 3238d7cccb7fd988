import gc
import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings.production")

application = get_wsgi_application()


def _settle() -> None:
    """Load now what every worker ends up holding for its whole life, then take it out of
    the garbage collector's sight.

    The large, never-changing tables (the ZIP-to-zone table, the phone geocoder's data),
    every view module the URLconf imports, and the compiled templates: had they loaded on
    the first requests instead, each full collection would walk them again (some 80,000
    objects, 50-70 ms here), a pause that shows as the pages' slowest requests.
    """
    from django.template import engines
    from django.urls import get_resolver, reverse

    from compliance.places import area_code_state, warm_up

    warm_up()
    area_code_state("918")
    get_resolver().url_patterns  # imports every view module  # noqa: B018
    reverse("pipeline:dashboard")  # builds the reverse lookup tables
    for engine in engines.all():
        for directory in engine.template_dirs:
            for path in Path(directory).rglob("*.html"):
                name = str(path.relative_to(directory))
                try:
                    engine.get_template(name)
                except Exception:  # not this engine's language (or a fragment): loaded when used
                    continue
    gc.collect()
    gc.freeze()


_settle()
