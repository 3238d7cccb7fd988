"""A homeowner's privacy requests: find everything held about them, download it, erase it.
See docs/privacy.md."""
