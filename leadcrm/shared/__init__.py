"""Helpers every app uses (docs/architecture.md): keyset pagination, CSV export,
append-only models, the ``__any_of`` lookup, the Content Security Policy, row helpers, the
Jinja2 environment, periodic schedules and the API's shared error answers. The bottom
layer: nothing here imports an app."""
