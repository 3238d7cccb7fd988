"""The Jinja2 environment for the few row fragments a busy page renders many times.

Pages are Django templates. A list of fifty rows rendered by the Django template language
cost about 15 ms of the lead list's server time (each variable is resolved, localised
and escaped at run time); the same rows compiled by Jinja2 cost a few. So the rows of the
lead list and of the dashboard's agenda are Jinja2 templates under ``templates/jinja2/``,
included from the Django templates with ``{% include_jinja %}`` (``crm`` tags). The view
works out every value a row shows (links, labels, dates), so the fragments only place
and escape text: autoescaping is on, and an undefined name is an error rather than an
empty cell.
"""

from jinja2 import Environment, StrictUndefined


def environment(**options) -> Environment:
    options.setdefault("undefined", StrictUndefined)
    return Environment(**options)
