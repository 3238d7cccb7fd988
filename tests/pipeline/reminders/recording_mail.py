"""An email backend for worker processes started by tests: one line per message sent,
appended to the file named by ``LEADCRM_TEST_MAILBOX`` (the notification's key), after an
optional delay per message (``LEADCRM_TEST_MAIL_DELAY``, seconds) that makes a batch slow
enough to kill a worker in the middle of it."""

import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class RecordingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        delay = float(os.environ.get("LEADCRM_TEST_MAIL_DELAY", "0"))
        path = os.environ["LEADCRM_TEST_MAILBOX"]
        for message in email_messages:
            if delay:
                time.sleep(delay)
            # O_APPEND: lines from several processes never interleave.
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, f"{message.extra_headers.get('X-LeadCRM-Notification', '?')}\n".encode())
            finally:
                os.close(fd)
        return len(email_messages)
