"""A local stand-in for Twilio's REST API, for tests that go through the real ``twilio`` library.

It listens on 127.0.0.1 (a random port), answers the requests the app makes
(``POST /2010-04-01/Accounts/{sid}/Messages.json`` and ``Calls.json``, and the caller ID
check's ``GET IncomingPhoneNumbers.json?PhoneNumber=...``) as Twilio does,
checks the basic auth, and records every request. After a send it posts signed status
callbacks back to the URL the app gave, as Twilio would; for a call it also fetches the
bridge TwiML and reports the homeowner's leg to the ``<Number statusCallback>`` it names.

The account's numbers are said with ``hold_number`` (where each one's "A call comes in"
goes); ``call_in`` and ``gather`` play a homeowner calling one of them back.

What it should do wrong is said per number (``fail_number``, ``deliver_as``) or for the
next request (``next_request``): a Twilio error, 429, 503, hang past the client's
timeout, or drop the connection after reading the request.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs
from xml.etree import ElementTree

import requests
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "standin-auth-token-0123456789abc"

# Twilio's words for the errors tests ask for (https://www.twilio.com/docs/api/errors).
ERRORS = {
    "21211": "The 'To' number is not a valid phone number.",
    "21610": "Attempt to send to unsubscribed recipient",
    "21614": "'To' number is not a valid mobile number",
    "20429": "Too Many Requests",
    "20503": "Service Unavailable",
    "30007": "Message filtered",
}


@dataclass
class Recorded:
    method: str
    path: str
    form: dict[str, list[str]]
    authorised: bool
    status: int = 0  # what the stand-in answered; 0: nothing (hung up, dropped)

    def value(self, name: str) -> str:
        return (self.form.get(name) or [""])[0]


@dataclass
class Callback:
    url: str
    params: dict
    status_code: int
    body: str = ""


@dataclass
class CallPlan:
    agent_answers: bool = True
    homeowner_answers: bool = True
    homeowner_status: str = "completed"  # or busy, no-answer, failed
    talk_seconds: int = 42


@dataclass
class Behaviour:
    kind: str  # "error", "hang", "drop"
    status: int = 400
    code: str = ""
    message: str = ""
    seconds: float = 0.0


@dataclass
class _State:
    requests: list[Recorded] = field(default_factory=list)
    callbacks: list[Callback] = field(default_factory=list)
    bridges: list[str] = field(default_factory=list)  # the TwiML each bridge answered
    announcements: list[str] = field(default_factory=list)  # what each homeowner heard on answering
    next: deque = field(default_factory=deque)
    number_errors: dict[str, Behaviour] = field(default_factory=dict)
    deliveries: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: dict[str, CallPlan] = field(default_factory=dict)
    numbers: dict[str, dict] = field(default_factory=dict)  # IncomingPhoneNumbers, by number


class TwilioStandIn:
    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.validator = RequestValidator(auth_token)
        self.state = _State()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None

    # Life --------------------------------------------------------------------------------

    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="twilio-standin").start()
        return self

    def stop(self) -> None:
        self.wait_for_callbacks(timeout=10)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # What to do ------------------------------------------------------------------------

    def next_request(self, kind: str, *, status: int = 400, code: str = "", message: str = "",
                     seconds: float = 3.0) -> None:
        """The next request (then the one after, in order) fails as told."""
        self.state.next.append(Behaviour(kind, status, str(code), message or ERRORS.get(str(code), ""), seconds))

    def fail_number(self, number: str, *, code: str, status: int = 400, message: str = "") -> None:
        """Every send to ``number`` is refused with Twilio's error ``code``."""
        self.state.number_errors[number] = Behaviour("error", status, str(code), message or ERRORS.get(str(code), ""))

    def deliver_as(self, number: str, status: str, *, error_code: str = "") -> None:
        """Texts to ``number`` end ``status`` (undelivered, failed) with the carrier's ``error_code``."""
        self.state.deliveries[number] = (status, str(error_code))

    def call_plan(self, number: str, **plan) -> None:
        """How a call to the agent's phone ``number`` goes (CallPlan's fields)."""
        self.state.calls[number] = CallPlan(**plan)

    def hold_number(self, number: str, *, voice_url: str = "", voice_method: str = "POST",
                    voice_application_sid: str = "", trunk_sid: str = "") -> None:
        """The account holds ``number``; a call to it goes to ``voice_url`` with
        ``voice_method`` (or to an app, a trunk)."""
        self.state.numbers[number] = {"voice_url": voice_url or None, "voice_method": voice_method,
                                      "voice_application_sid": voice_application_sid or None,
                                      "trunk_sid": trunk_sid or None}

    def release_number(self, number: str) -> None:
        self.state.numbers.pop(number, None)

    # What happened ---------------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        return list(self.state.requests)

    def created(self, kind: str = "Messages") -> list[Recorded]:
        return [r for r in self.state.requests if r.method == "POST" and r.path.endswith(f"/{kind}.json")]

    @property
    def accepted(self) -> list[Recorded]:
        """Sends and calls Twilio took (answered 201)."""
        return [r for r in self.state.requests if r.status == 201]

    @property
    def texts(self) -> list[Recorded]:
        return self.created("Messages")

    @property
    def calls(self) -> list[Recorded]:
        return self.created("Calls")

    @property
    def announcements(self) -> list[str]:
        """The TwiML played to each homeowner on answering (a ``<Number url>``), in order."""
        return list(self.state.announcements)

    @property
    def bridges(self) -> list[str]:
        """The TwiML each call's bridge answered, in order."""
        return list(self.state.bridges)

    @property
    def callbacks(self) -> list[Callback]:
        return list(self.state.callbacks)

    def wait_for_callbacks(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                workers = [worker for worker in self._workers if worker.is_alive()]
                self._workers = workers
            if not workers:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("The stand-in's callbacks did not finish")
            workers[0].join(remaining)

    # Posting to the app ----------------------------------------------------------------

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)

    def post_signed(self, url: str, params: dict, *, signature: str | None = None) -> requests.Response:
        signature = self.sign(url, params) if signature is None else signature
        headers = {"X-Twilio-Signature": signature} if signature else {}
        response = requests.post(url, data=params, headers=headers, timeout=30)
        self.state.callbacks.append(Callback(url, dict(params), response.status_code, response.text))
        return response

    def send_inbound(self, url: str, *, from_: str, to: str, body: str, sid: str | None = None,
                     signature: str | None = None) -> requests.Response:
        """A homeowner's text, as Twilio posts it to the number's "A message comes in" URL."""
        params = {
            "MessageSid": sid or _sid("SM"), "SmsSid": "", "AccountSid": self.account_sid, "From": from_,
            "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        params["SmsSid"] = params["MessageSid"]
        return self.post_signed(url, params, signature=signature)

    def call_in(self, url: str, *, from_: str, to: str, sid: str | None = None,
                signature: str | None = None) -> requests.Response:
        """A homeowner calls ``to``, as Twilio posts it to the number's "A call comes in" URL."""
        params = {"CallSid": sid or _sid("CA"), "AccountSid": self.account_sid, "From": from_, "To": to,
                  "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        return self.post_signed(url, params, signature=signature)

    def gather(self, url: str, *, sid: str, from_: str, to: str, **answer) -> requests.Response:
        """What the caller did at a ``<Gather>`` (``Digits``, ``SpeechResult``), or a ``<Dial>``'s
        or a ``<Record>``'s end (``DialCallStatus``, ``RecordingUrl``...), posted to its action."""
        params = {"CallSid": sid, "AccountSid": self.account_sid, "From": from_, "To": to,
                  "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01", **answer}
        return self.post_signed(url, params)

    def transcribed(self, url: str, *, sid: str, from_: str, to: str, text: str, status: str = "completed",
                    recording_sid: str = "RE" + "1" * 32, transcription_sid: str = "TR" + "1" * 32,
                    **extra) -> requests.Response:
        """A ``<Record transcribe>``'s transcript, as Twilio posts it to ``transcribeCallback``
        (no RecordingDuration there; ``TranscriptionText`` absent when it failed)."""
        params = {"CallSid": sid, "AccountSid": self.account_sid, "From": from_, "To": to,
                  "RecordingSid": recording_sid,
                  "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/Recordings/"
                                  f"{recording_sid}",
                  "TranscriptionSid": transcription_sid, "TranscriptionStatus": status,
                  "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}/"
                                      f"Transcriptions/{transcription_sid}",
                  "TranscriptionType": "fast", "CallStatus": "completed", "ApiVersion": "2010-04-01", **extra}
        if status == "completed":
            params["TranscriptionText"] = text
        return self.post_signed(url, params)

    def _numbers_listed(self, query: dict) -> tuple[int, dict]:
        wanted = _one(query, "PhoneNumber")
        uri = f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers.json"
        records = [{
            "sid": "PN" + uuid.uuid5(uuid.NAMESPACE_OID, number).hex, "account_sid": self.account_sid,
            "phone_number": number, "friendly_name": number, "voice_method": "POST", "api_version": "2010-04-01",
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False}, **settings,
        } for number, settings in self.state.numbers.items() if not wanted or number == wanted]
        return 200, {"incoming_phone_numbers": records, "end": max(len(records) - 1, 0), "first_page_uri": uri,
                     "next_page_uri": None, "page": 0, "page_size": 50, "previous_page_uri": None, "start": 0,
                     "uri": uri}

    def _later(self, work) -> None:
        worker = threading.Thread(target=self._guarded(work), daemon=True)
        with self._lock:
            self._workers.append(worker)
        worker.start()

    def _guarded(self, work):
        def run():
            try:
                work()
            except requests.RequestException as error:
                self.state.callbacks.append(Callback("", {}, 0, repr(error)))
        return run

    # Answering the library -------------------------------------------------------------

    def _message_created(self, form: dict) -> tuple[int, dict]:
        to = _one(form, "To")
        sid = _sid("SM")
        sender = _one(form, "From")
        service = _one(form, "MessagingServiceSid")
        callback = _one(form, "StatusCallback")
        if callback:
            final, error_code = self.state.deliveries.get(to, ("delivered", ""))
            base = {"MessageSid": sid, "SmsSid": sid, "AccountSid": self.account_sid, "From": sender or "+15005550006",
                    "To": to, "ApiVersion": "2010-04-01"}

            def report():
                for status in ("queued", "sent", final):
                    params = {**base, "MessageStatus": status, "SmsStatus": status}
                    if status in ("failed", "undelivered") and error_code:
                        params["ErrorCode"] = error_code
                    self.post_signed(callback, params)
            self._later(report)
        return 201, {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender or None,
            "messaging_service_sid": service or None, "body": _one(form, "Body"), "status": "queued",
            "direction": "outbound-api", "num_segments": "1", "num_media": "0", "error_code": None,
            "error_message": None, "price": None, "api_version": "2010-04-01",
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _call_created(self, form: dict) -> tuple[int, dict]:
        agent = _one(form, "To")
        sid = _sid("CA")
        caller_id = _one(form, "From")
        plan = self.state.calls.get(agent, CallPlan())
        callback, bridge = _one(form, "StatusCallback"), _one(form, "Url")
        base = {"CallSid": sid, "AccountSid": self.account_sid, "From": caller_id, "To": agent,
                "Direction": "outbound-api", "ApiVersion": "2010-04-01"}

        def progress():
            def parent(status, **extra):
                if callback:
                    self.post_signed(callback, {**base, "CallStatus": status, **extra})
            parent("initiated")
            parent("ringing")
            if not plan.agent_answers:
                parent("no-answer", CallDuration="0")
                return
            parent("in-progress")
            talked = 0
            if bridge:
                response = self.post_signed(bridge, {**base, "CallStatus": "in-progress"})
                self.state.bridges.append(response.text)
                talked = self._homeowner_leg(response.text, parent_sid=sid, caller_id=caller_id, plan=plan)
            parent("completed", CallDuration=str(talked + 5))
        self._later(progress)
        return 201, {
            "sid": sid, "account_sid": self.account_sid, "to": agent, "from": caller_id, "status": "queued",
            "direction": "outbound-api", "api_version": "2010-04-01", "duration": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
        }

    def _homeowner_leg(self, twiml: str, *, parent_sid: str, caller_id: str, plan: CallPlan) -> int:
        """Dial the ``<Number>`` the bridge asked for; report its leg to its statusCallback."""
        try:
            number = ElementTree.fromstring(twiml).find("./Dial/Number")
        except ElementTree.ParseError:
            return 0
        if number is None:
            return 0
        callback = number.get("statusCallback", "")
        if not callback:
            return 0
        child = {"CallSid": _sid("CA"), "ParentCallSid": parent_sid, "AccountSid": self.account_sid,
                 "From": caller_id, "To": (number.text or "").strip(), "Direction": "outbound-dial",
                 "ApiVersion": "2010-04-01"}
        self.post_signed(callback, {**child, "CallStatus": "initiated"})
        self.post_signed(callback, {**child, "CallStatus": "ringing"})
        if not plan.homeowner_answers:
            status = plan.homeowner_status if plan.homeowner_status != "completed" else "no-answer"
            self.post_signed(callback, {**child, "CallStatus": status, "CallDuration": "0"})
            return 0
        self.post_signed(callback, {**child, "CallStatus": "in-progress"})
        if number.get("url"):
            # Twilio plays this to the homeowner before connecting the two.
            self.state.announcements.append(self.post_signed(number.get("url"), {**child, "CallStatus": "in-progress"}).text)
        self.post_signed(callback, {**child, "CallStatus": "completed", "CallDuration": str(plan.talk_seconds)})
        return plan.talk_seconds

    def handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        form = parse_qs(raw, keep_blank_values=True)
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        authorised = handler.headers.get("Authorization", "") == expected
        recorded = Recorded(handler.command, handler.path, form, authorised)
        self.state.requests.append(recorded)
        handler.recorded = recorded
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/"
        if not authorised or not handler.path.startswith(prefix):
            return handler.answer(401, _error(401, "20003", "Authenticate"))
        resource, _, query = handler.path[len(prefix):].partition("?")
        listing = handler.command == "GET" and resource == "IncomingPhoneNumbers.json"
        if not listing and (handler.command != "POST" or resource not in ("Messages.json", "Calls.json")):
            return handler.answer(404, _error(404, "20404", "The requested resource was not found"))
        behaviour = self.state.next.popleft() if self.state.next else None
        if behaviour is None:
            behaviour = self.state.number_errors.get(_one(form, "To"))
        if behaviour is not None:
            if behaviour.kind == "hang":
                time.sleep(behaviour.seconds)
                return handler.drop()
            if behaviour.kind == "drop":
                return handler.drop()
            return handler.answer(behaviour.status, _error(behaviour.status, behaviour.code, behaviour.message))
        if listing:
            return handler.answer(*self._numbers_listed(parse_qs(query, keep_blank_values=True)))
        status, body = (self._message_created if resource == "Messages.json" else self._call_created)(form)
        handler.answer(status, body)


class _Handler(BaseHTTPRequestHandler):
    owner: TwilioStandIn
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - the name BaseHTTPRequestHandler looks up
        self.owner.handle(self)

    do_GET = do_POST  # noqa: N815

    recorded: Recorded | None = None

    def answer(self, status: int, body: dict) -> None:
        if self.recorded is not None:
            self.recorded.status = status
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def drop(self) -> None:
        """Close the connection without a word (as a load balancer dying mid-request)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        return


def _one(form: dict, name: str) -> str:
    return (form.get(name) or [""])[0]


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _error(status: int, code: str, message: str) -> dict:
    return {"code": int(code) if code.isdigit() else code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}
