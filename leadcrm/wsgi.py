import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings.production")

application = get_wsgi_application()


def _settle() -> None:
    """Load the large, never-changing tables now (the ZIP-to-zone table, the phone
    geocoder's data) and take everything loaded so far out of the garbage collector's
    sight: otherwise every full collection walks them again, a 50-100 ms pause that shows
    as the pages' slowest requests."""
    from compliance.places import area_code_state, warm_up

    warm_up()
    area_code_state("918")
    gc.freeze()


_settle()
