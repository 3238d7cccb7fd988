"""Small helpers shared by tests (fixtures live in conftest.py)."""


def jobs(callbacks):
    """The on-commit callbacks that send work, without the rule cache's own refresh."""
    from compliance.rulebook import _clear

    return [callback for callback in callbacks if callback is not _clear]
