"""An email backend for benchmarks: real message building, no network.

Each message is rendered to the MIME bytes an SMTP backend would hand over, then one
line is appended to the file ``BENCH_MAILBOX`` names: the notification key header, the
recipients and the size. Several worker processes write the same file; each line goes
in one ``write`` on a file opened with ``O_APPEND``, which the kernel keeps whole, so the
bench can count lines and duplicate keys afterwards.
"""

from __future__ import annotations

import os

from django.core.mail.backends.base import BaseEmailBackend

KEY_HEADER = "X-LeadCRM-Notification"


class EmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs):
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.path = os.environ["BENCH_MAILBOX"]
        self.fd: int | None = None

    def open(self) -> bool:
        # Like SMTP's connection: opened once for a ``with get_connection()`` block.
        if self.fd is not None:
            return False
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def send_messages(self, email_messages) -> int:
        if not email_messages:
            return 0
        opened = self.open()
        try:
            for message in email_messages:
                raw = message.message().as_bytes(linesep="\r\n")
                key = message.extra_headers.get(KEY_HEADER, "")
                os.write(self.fd, f"{key}\t{','.join(message.recipients())}\t{len(raw)}\n".encode())
        finally:
            if opened:
                self.close()
        return len(email_messages)
