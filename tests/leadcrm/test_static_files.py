"""Static files as production serves them: hashed names, a Brotli and a gzip copy beside
each, sent to the browsers that ask and cached for a year; the icon font fetched early
(docs/operations.md#static-files)."""

import ast
import re
from pathlib import Path
from urllib.parse import urljoin

import brotli
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import FileSystemStorage
from django.http import HttpResponseNotFound
from django.test import RequestFactory
from django.urls import reverse
from whitenoise.middleware import WhiteNoiseMiddleware

from tests.leadcrm.test_settings import PRODUCTION_ENV, settings_in_subprocess

SOURCE = FileSystemStorage(location=Path(settings.BASE_DIR) / "static")


def production_static_storage() -> dict:
    result = settings_in_subprocess("leadcrm.settings.production", "repr(settings.STORAGES['staticfiles'])",
                                    **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip())


def test_production_serves_a_hashed_brotli_copy_cached_for_a_year(settings, tmp_path):
    # given: production's static storage, collecting app.css into an empty STATIC_ROOT
    settings.STORAGES = {**settings.STORAGES, "staticfiles": production_static_storage()}
    settings.STATIC_ROOT = str(tmp_path)
    settings.WHITENOISE_USE_FINDERS = False
    with SOURCE.open("css/app.css") as source:
        original = source.read()
        source.seek(0)
        staticfiles_storage.save("css/app.css", source)
    list(staticfiles_storage.post_process({"css/app.css": (staticfiles_storage, "css/app.css")}))
    url = staticfiles_storage.url("css/app.css")
    assert re.fullmatch(r"/static/css/app\.[0-9a-f]{12}\.css", url), url
    assert brotli.decompress((tmp_path / url.removeprefix("/static/")).with_suffix(".css.br").read_bytes()) == original

    # when: a browser that accepts Brotli asks for it, and one that accepts nothing
    whitenoise = WhiteNoiseMiddleware(lambda request: HttpResponseNotFound())
    compressed = whitenoise(RequestFactory().get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br, zstd"))
    plain = whitenoise(RequestFactory().get(url))

    # then
    assert compressed.status_code == 200 and compressed["Content-Encoding"] == "br"
    assert brotli.decompress(b"".join(compressed.streaming_content)) == original
    assert compressed["Cache-Control"] == "max-age=315360000, public, immutable"
    assert compressed["Vary"] == "Accept-Encoding"
    assert not plain.has_header("Content-Encoding") and b"".join(plain.streaming_content) == original
    for response in (compressed, plain):
        response.file_to_stream.close()  # not close(): that would signal the end of a request


@pytest.mark.django_db
def test_the_icon_font_is_preloaded_at_the_address_its_stylesheet_asks_for(agent, client_as):
    """A preload whose address differs from the stylesheet's by so much as the query string
    is fetched a second time, not used."""
    page = client_as(agent).get(reverse("pipeline:dashboard")).content.decode()
    icons_css = re.search(r'<link rel="stylesheet" href="([^"]*bootstrap-icons[^"]*\.css)">', page).group(1)
    font = re.search(r'url\("([^"]+\.woff2[^"]*)"\)', Path(finders.find(
        icons_css.removeprefix(settings.STATIC_URL))).read_text()).group(1)

    preload = re.search(r'<link rel="preload" [^>]*as="font"[^>]*>', page[:page.index(icons_css)]).group(0)

    assert f'href="{urljoin(icons_css, font)}"' in preload
    assert 'type="font/woff2"' in preload and " crossorigin" in preload
