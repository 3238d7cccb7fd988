"""The API's schema class, the default of every API view (REST_FRAMEWORK's
DEFAULT_SCHEMA_CLASS), and the hook that polishes the schema. Apart from the Swagger page
(``pipeline/api/schema.py``): drf-spectacular's views read the default schema class as
they are imported, so this module must not import them."""

from __future__ import annotations

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, get_doc
from rest_framework import serializers
from rest_framework.fields import empty

from leadcrm.shared.api import ERRORS, PROBLEM_TYPE

# The schema ------------------------------------------------------------------------------


# What the standard actions do, for their summaries; custom actions are summed up by the
# first sentence of their docstring.
ACTION_SUMMARIES = {"list": "List {plural}", "retrieve": "Read {singular}", "create": "Create {singular}",
                    "update": "Replace {singular}", "partial_update": "Change {singular}",
                    "destroy": "Delete {singular}"}
_FIRST_SENTENCE = re.compile(r"^(.+?[.:])(?:\s|$)", re.DOTALL)


def first_sentence(text: str) -> str:
    """The docstring's first sentence, on one line, without its reST quoting or end stop."""
    text = " ".join(text.replace("``", "`").split())
    match = _FIRST_SENTENCE.match(text)
    return (match.group(1) if match else text).rstrip(".:")


def with_article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


class ApiSchema(AutoSchema):
    """Each operation's own answers plus the errors every endpoint can give: 400 (input),
    401 (no token, or an expired one), 403, 404, 413 and 415 (unsafe methods: a role's
    permission, or CSRF with a session; an id in the body the caller may not see; a body
    too large; a body that is not JSON), 404 (a path naming an object, or a list's cursor)
    and 429 (the throttle). Every error is ``application/problem+json``. Every operation
    has a summary, and a response component marks required every field it always has."""

    def get_summary(self):
        summary = super().get_summary()
        if summary:
            return summary
        action = getattr(self.view, "action", None)
        if action in ACTION_SUMMARIES and (doc := self._model_names()):
            return ACTION_SUMMARIES[action].format(singular=with_article(doc[0]), plural=doc[1])
        method_doc = get_doc(getattr(self.view, action or self.method.lower(), None))
        return first_sentence(method_doc or get_doc(self.view.__class__)) or None

    def _model_names(self) -> tuple[str, str] | None:
        serializer = self.view.get_serializer_class() if hasattr(self.view, "get_serializer_class") else None
        model = getattr(getattr(serializer, "Meta", None), "model", None)
        if model is None:
            return None
        return str(model._meta.verbose_name), str(model._meta.verbose_name_plural)

    def _map_basic_serializer(self, serializer, direction):
        # An answer has every field it lists but those DRF skips when the data lacks them:
        # a field of a plain serializer, writable, not required and with no default (a row
        # of a model serializer has them all). drf-spectacular marks only the read-only ones.
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response":
            instance = serializer if isinstance(serializer, serializers.BaseSerializer) else serializer()
            fields = instance.fields
            required = [name for name in schema.get("properties", {})
                        if isinstance(instance, serializers.ModelSerializer) or not _may_be_absent(fields[name])]
            if required:
                schema["required"] = required
        return schema

    def _resolve_path_parameters(self, variables):
        # Ids are integers; the routes take any segment (ANY_ID) only so that a wrong one is
        # answered by the API's JSON 404.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id":
                parameter["schema"] = {"type": "integer"}
                parameter["description"] = "The object's id."
        return parameters

    def _get_filter_parameters(self):
        # django-filter reads an empty value as no filter at all: say so.
        return [{**parameter, "allowEmptyValue": True} for parameter in super()._get_filter_parameters()]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        # 403 on reads too: a token without the `read` scope (pipeline/api/permissions.py).
        codes = ["400", "401", "403", "429"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["404", "413", "415"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        codes = list(dict.fromkeys(codes))
        for code in sorted(codes):
            if code in responses:
                continue
            name, schema, description = ERRORS[code]
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            self.registry.register_on_missing(component)
            responses[code] = {"content": {PROBLEM_TYPE: {"schema": component.ref}}, "description": description}
        for code, response in responses.items():
            # Every error is a problem body (leadcrm.shared.api.exception_handler,
            # problem_response), the operations' own 409s too.
            content = response.get("content", {})
            if code.startswith(("4", "5")) and "application/json" in content:
                content[PROBLEM_TYPE] = content.pop("application/json")
        return dict(sorted(responses.items()))


def _may_be_absent(field) -> bool:
    return not field.read_only and not field.required and field.default is empty


# The schema's tags: one per resource, each described (Spectral's operation-tag-defined).
# A tag with no entry here is still listed, with a description made from its name.
TAG_DESCRIPTIONS = {
    "leads": "The caller's leads (an agent's own, a team lead's team's, a broker's all) and their records.",
    "follow-ups": "Follow-ups on the caller's leads.",
    "outreach": "The outreach log, and logging an attempt through the compliance gate.",
    "compliance": "What the compliance gate would say of a contact now.",
    "imports": "List imports: upload a file, then poll its status.",
    "plans": "Action plans, and putting a lead in one or taking it out.",
    "plan-enrollments": "The plans the caller's leads are or were in.",
    "lead-sources": "Leads posted by a lead source with its own key.",
}
# A page's link, as a client gets it (DRF's own example is not a valid URI).
PAGE_LINK_EXAMPLE = "http://127.0.0.1:8000/api/leads/?cursor=cD0yMDI2LTAxLTAx"


NULL_ENUM = str({"$ref": "#/components/schemas/NullEnum"})


def polish(result, generator, request, public):
    """A postprocessing hook: every tag used listed with a description, and the pages'
    ``next``/``previous`` links required, their examples valid URIs."""
    used = dict.fromkeys(tag for operations in result.get("paths", {}).values()
                         for operation in operations.values() for tag in operation.get("tags", []))
    result["tags"] = [{"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag.replace("-", " ").capitalize())}
                      for tag in sorted(used)]
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.startswith("Patched") and "version" in component.get("properties", {}):
            # A change's fields are each optional, but never its version (pipeline/api/editing.py).
            component["required"] = list(dict.fromkeys([*component.get("required", []), "version"]))
        for prop in component.get("properties", {}).values():
            # A nullable choice is oneOf its enum and NullEnum, which already admits null;
            # drf-spectacular also writes `nullable` beside it, with no `type`, which OAS 3.0
            # does not define.
            if prop.get("nullable") and "type" not in prop and NULL_ENUM in map(str, prop.get("oneOf", [])):
                del prop["nullable"]
        links = [link for link in ("next", "previous") if link in component.get("properties", {})]
        for link in links:
            prop = component["properties"][link]
            if prop.get("format") == "uri" and "example" in prop:
                prop["example"] = PAGE_LINK_EXAMPLE
        if links and "results" in component["properties"]:
            # A page always has both links, null at either end.
            component["required"] = list(dict.fromkeys([*links, *component.get("required", [])]))
    return result
