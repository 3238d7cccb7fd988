"""A Python client generated from the API's published schema, as an integrator makes one.

``generate`` runs openapi-python-client on the schema (offline: a file, no project metadata,
no formatting hooks) into a folder; ``import_every_module`` imports each module it wrote and
names the ones that fail; ``Integrator`` calls operations by their ``operationId`` with a
token, the way a script built on the client does. Used by
tests/pipeline/api/test_generated_client.py (docs/api.md#generated-client).
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import subprocess
import sys
import traceback
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PACKAGE = "leadcrm_client"
# Written as a file, not flags: openapi-python-client takes the package name and the hooks
# only from its config. No post hooks: they would run ruff from PATH over the generated code,
# which formats it and nothing more, so the test would depend on which ruff is found.
CONFIG = {"package_name_override": PACKAGE, "project_name_override": "leadcrm-client", "post_hooks": []}
# A version at the start of an operation's module name (api_v1_leads_list).
VERSION_PREFIX = re.compile(r"^(?:api_)?v\d+_")
GENERATE_TIMEOUT = 180  # seconds; it takes about one on this project's machine


def generate(schema: dict, into: Path) -> Path:
    """The client package generated from ``schema`` under ``into``; the folder to put on
    sys.path is ``into``. Any warning of the generator's is a failure: it skips the
    operations it cannot read, and a client missing them is not the API."""
    into.mkdir(parents=True, exist_ok=True)
    schema_path = into / "schema.json"
    schema_path.write_text(json.dumps(schema))
    config_path = into / "config.json"
    config_path.write_text(json.dumps(CONFIG))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema_path),
               "--meta", "none", "--config", str(config_path), "--output-path", str(into / PACKAGE),
               "--overwrite", "--fail-on-warning"]
    run = subprocess.run(command, cwd=into, capture_output=True, text=True, timeout=GENERATE_TIMEOUT, check=False)
    if run.returncode != 0 or not (into / PACKAGE / "__init__.py").exists():
        raise AssertionError(f"openapi-python-client failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
    return into


def module_names(root: Path) -> list[str]:
    """Every module of the generated package under ``root``, packages first."""
    names = []
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(names, key=lambda name: (name.count("."), name))


def import_every_module(root: Path) -> dict[str, str]:
    """Each module's import, tried one by one: module name -> the error it raised (empty
    when every module imports). One failure does not hide the next."""
    failures = {}
    for name in module_names(root):
        try:
            importlib.import_module(name)
        except Exception as error:  # any error at import is the finding: name it and go on
            where = traceback.extract_tb(error.__traceback__)[-1]
            failures[name] = f"{type(error).__name__}: {error} ({Path(where.filename).name}:{where.lineno})"
    return failures


@contextmanager
def importable(root: Path) -> Iterator[None]:
    """The generated package importable while inside; forgotten after, so a later
    generation in the same process imports its own code, not this one's."""
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def operation_module_name(operation_id: str) -> str:
    """The module name openapi-python-client gives an operation (snake case)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", operation_id)
    return re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()


def operation_ids(schema: dict) -> list[str]:
    return sorted(operation["operationId"] for item in schema["paths"].values() for method, operation in item.items()
                  if method in ("get", "put", "post", "patch", "delete", "head", "options"))


def operation_modules(root: Path) -> dict[str, str]:
    """Operation module name -> its dotted path, wherever the generator filed it (under the
    operation's tag, which is wording and may change; the operationId is the contract)."""
    api = root / PACKAGE / "api"
    return {path.stem: ".".join(path.relative_to(root).with_suffix("").parts)
            for path in api.rglob("*.py") if path.stem != "__init__"}


def body_model(function) -> type:
    """The model class of an operation's ``body`` argument: JSON is the one body type the
    API reads, so there is exactly one (a Union of several is what broke the client)."""
    annotation = inspect.signature(function).parameters["body"].annotation
    candidates = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or typing.get_origin(
        annotation) is typing.Union else (annotation,)
    models = {candidate for candidate in candidates if hasattr(candidate, "from_dict")}
    if len(models) != 1:
        raise AssertionError(f"{function.__module__} takes bodies of {len(models)} models: {annotation!r}")
    return models.pop()


class Integrator:
    """A script's view of the API through the generated client: a token, and calls by
    operationId with plain JSON-shaped bodies turned into the client's typed models."""

    def __init__(self, root: Path, *, base_url: str, token: str):
        self.modules = operation_modules(root)
        self.package = importlib.import_module(PACKAGE)
        self.base_url, self.token = base_url, token
        self.client = self.signed_in()

    def signed_in(self, headers: dict[str, str] | None = None):
        """A client with the token and ``headers`` on every call. A new one for each set of
        headers: the generated ``with_headers`` also adds them to the client it is called on,
        once that has made a call, so an Idempotency-Key would stick to every later POST.
        ``raise_on_unexpected_status``: an answer the schema does not document fails the call."""
        return self.package.AuthenticatedClient(base_url=self.base_url, token=self.token, prefix="Token",
                                                headers=headers or {}, raise_on_unexpected_status=True)

    def operation(self, operation_id: str):
        """The operation's module. An id given without the version (``leads_list``) also
        finds ``v1_leads_list``, should the schema's ids come to carry it: the flow is about
        what an integrator does, not how the ids are spelled."""
        name = operation_module_name(operation_id)
        found = [dotted for stem, dotted in self.modules.items() if VERSION_PREFIX.sub("", stem) == name]
        dotted = self.modules.get(name) or (found[0] if len(found) == 1 else None)
        if dotted is None:
            raise AssertionError(f"The generated client has no operation {operation_id!r}: the schema lacks it.")
        return importlib.import_module(dotted)

    def call(self, operation_id: str, *, body: dict | None = None, headers: dict[str, str] | None = None, **params):
        """``sync_detailed`` of the operation: the status, the headers and the typed answer."""
        function = self.operation(operation_id).sync_detailed
        client = self.signed_in(headers) if headers else self.client
        if body is not None:
            params["body"] = body_model(function).from_dict(body)
        return function(client=client, **params)
