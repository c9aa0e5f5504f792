"""The chat services' robots, and an SMTP server, on loopback ports, checking what arrives.

Each robot checks a request as its service documents it (field names and types, msgtype,
mention fields, size limits), recomputes DingTalk's and Feishu's signatures from the secret it
was given, and answers as the service does: taken, or refused with the service's own code. It
records every request with the people the service would have notified, and can be told to fail
the next requests (as a 500, say). The SMTP server (aiosmtpd) requires STARTTLS (or implicit
TLS) with a self-signed certificate made by `openssl`, and AUTH LOGIN/PLAIN with a password.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import missing

__all__ = [
    "ChatReceiver",
    "DingTalkRobot",
    "Exchange",
    "FeishuBot",
    "Incoming",
    "JsonWebhook",
    "MailReceiver",
    "ReceivedMail",
    "SlackWebhook",
    "Verdict",
    "WeComRobot",
]

_ABSENT = object()
_HOUR = 3600


@dataclass(frozen=True)
class Incoming:
    """A request as it arrived: path, query (decoded), headers (lower-case names), body."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    body: Any  # the parsed JSON; None when the body is not JSON
    now: float


@dataclass(frozen=True)
class Verdict:
    """How a service answers a request, and whom it would notify."""

    status: int
    answer: bytes
    taken: bool = False
    mentioned: tuple[str, ...] = ()
    content_type: str = "application/json"


@dataclass(frozen=True)
class Exchange:
    """A request a receiver got and its answer."""

    request: Incoming
    verdict: Verdict


class ChatReceiver:
    """A service on a loopback port: `judge` says how it answers each request."""

    def __init__(self, path: str, *, clock: Callable[[], float] = time.time) -> None:
        self.received: list[Exchange] = []
        self._failures: deque[int] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                verdict = receiver._exchange(self.path, dict(self.headers), raw)
                self.send_response(verdict.status)
                self.send_header("Content-Type", verdict.content_type)
                self.send_header("Content-Length", str(len(verdict.answer)))
                self.end_headers()
                self.wfile.write(verdict.answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.base_url + path
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def taken(self) -> list[Exchange]:
        """The requests the service took."""
        with self._lock:
            return [exchange for exchange in self.received if exchange.verdict.taken]

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next `count` requests with `status`, before looking at them."""
        with self._lock:
            self._failures.extend([status] * count)

    def judge(self, incoming: Incoming) -> Verdict:
        raise NotImplementedError

    def _exchange(self, target: str, headers: dict[str, str], raw: bytes) -> Verdict:
        parts = urlsplit(target)
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        lower = {name.lower(): value for name, value in headers.items()}
        incoming = Incoming(parts.path, query, lower, raw, body, self._clock())
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is None:
            verdict = self.judge(incoming)
        else:
            verdict = Verdict(failure, b"internal error", content_type="text/plain")
        with self._lock:
            self.received.append(Exchange(incoming, verdict))
        return verdict

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _at(body: Any, path: str) -> Any:
    for name in path.split("."):
        if not isinstance(body, dict) or name not in body:
            return _ABSENT
        body = body[name]
    return body


def _shape(body: Any, fields: Mapping[str, Any], *, optional: bool = False) -> list[str]:
    """Problems with `body`'s fields: `str`, `bool`, `list` (of strings) or `dict` each."""
    problems = []
    for path, kind in fields.items():
        value = _at(body, path)
        if value is _ABSENT:
            if not optional:
                problems.append(f"missing {path}")
        elif kind is list:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"{path} is not a list of strings")
        elif not isinstance(value, kind) or (kind is str and not value.strip()):
            problems.append(f"{path} is not a non-empty {kind.__name__}")
    return problems


def _json_content_type(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").split(";")[0].strip() == "application/json"


def _answer(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


class DingTalkRobot(ChatReceiver):
    """A DingTalk custom robot; with a `secret`, it checks the signature (加签)."""

    MOBILE = re.compile(r"(\d{5,15}|\+\d{1,3}-\d{4,15})\Z")

    def __init__(
        self,
        *,
        secret: str | None = None,
        token: str = "dingtalk-token",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(f"/robot/send?access_token={token}", clock=clock)
        self.secret, self.token = secret, token

    @staticmethod
    def refuse(code: int, text: str) -> Verdict:
        return Verdict(200, _answer({"errcode": code, "errmsg": text}))

    def judge(self, incoming: Incoming) -> Verdict:
        if incoming.path != "/robot/send" or incoming.query.get("access_token") != self.token:
            return self.refuse(300001, "token is not exist")
        if self.secret is not None:
            problem = self._signature_problem(incoming)
            if problem:
                return self.refuse(310000, problem)
        if not _json_content_type(incoming.headers):
            return self.refuse(43004, "无效的HTTP HEADER Content-Type")
        if len(incoming.raw) > 20_000:
            return self.refuse(460101, "message too long, exceed 20000 bytes")
        body, text = incoming.body, ""
        problems = _shape(body, {"msgtype": str})
        if not problems and body["msgtype"] == "markdown":
            problems = _shape(body, {"markdown.title": str, "markdown.text": str})
            text = body["markdown"]["text"] if not problems else ""
        elif not problems and body["msgtype"] == "text":
            problems = _shape(body, {"text.content": str})
            text = body["text"]["content"] if not problems else ""
        elif not problems:
            problems = [f"unknown msgtype {body['msgtype']!r}"]
        at = {"at.atMobiles": list, "at.atUserIds": list, "at.isAtAll": bool}
        problems += _shape(body, at, optional=True)
        if problems:
            return self.refuse(40035, "缺少参数 or 参数不合法: " + "; ".join(problems))
        mobiles = body.get("at", {}).get("atMobiles", [])
        if any(not self.MOBILE.match(mobile) for mobile in mobiles):
            return self.refuse(40035, f"参数不合法: atMobiles {mobiles}")
        people = [*mobiles, *body.get("at", {}).get("atUserIds", [])]
        mentioned = tuple(someone for someone in people if f"@{someone}" in text)
        return Verdict(200, _answer({"errcode": 0, "errmsg": "ok"}), True, mentioned)

    def _signature_problem(self, incoming: Incoming) -> str | None:
        assert self.secret is not None
        timestamp, sign = incoming.query.get("timestamp", ""), incoming.query.get("sign", "")
        if not timestamp.isdigit() or abs(incoming.now * 1000 - int(timestamp)) > _HOUR * 1000:
            return "invalid timestamp"
        to_sign = f"{timestamp}\n{self.secret}".encode()
        digest = hmac.new(self.secret.encode(), to_sign, hashlib.sha256).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), sign):
            return "sign not match"
        return None


class WeComRobot(ChatReceiver):
    """A WeCom group robot."""

    LIMITS = {"markdown": 4096, "text": 2048}

    def __init__(self, *, key: str = "wecom-key") -> None:
        super().__init__(f"/cgi-bin/webhook/send?key={key}")
        self.key = key

    @staticmethod
    def refuse(code: int, text: str) -> Verdict:
        return Verdict(200, _answer({"errcode": code, "errmsg": text}))

    def judge(self, incoming: Incoming) -> Verdict:
        if incoming.path != "/cgi-bin/webhook/send" or incoming.query.get("key") != self.key:
            return self.refuse(93000, "invalid webhook url, hint: [test]")
        body = incoming.body
        kind = _at(body, "msgtype")
        if kind not in self.LIMITS:
            return self.refuse(40008, f"Warning: wrong json format. invalid message type {kind}")
        problems = _shape(body, {f"{kind}.content": str})
        mentions = {"text.mentioned_list": list, "text.mentioned_mobile_list": list}
        problems += _shape(body, mentions, optional=True)
        if problems:
            return self.refuse(44004, "; ".join(problems))
        content = body[kind]["content"]
        if len(content.encode()) > self.LIMITS[kind]:
            limit = self.LIMITS[kind]
            return self.refuse(40058, f"{kind}.content exceed max length {limit}")
        if kind == "markdown":
            mentioned = tuple(re.findall(r"<@([^<>\s]+)>", content))
        else:
            text = body["text"]
            mentioned = (*text.get("mentioned_list", []), *text.get("mentioned_mobile_list", []))
        return Verdict(200, _answer({"errcode": 0, "errmsg": "ok"}), True, mentioned)


class FeishuBot(ChatReceiver):
    """A Feishu custom bot; with a `secret`, it checks the signature in the body."""

    BUTTON_TYPES = ("default", "primary", "danger")

    def __init__(
        self,
        *,
        secret: str | None = None,
        token: str = "feishu-token",
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(f"/open-apis/bot/v2/hook/{token}", clock=clock)
        self.secret, self.token = secret, token

    @staticmethod
    def refuse(code: int, text: str) -> Verdict:
        return Verdict(200, _answer({"code": code, "msg": text, "data": {}}))

    def judge(self, incoming: Incoming) -> Verdict:
        if incoming.path != f"/open-apis/bot/v2/hook/{self.token}":
            return self.refuse(19001, "param invalid: incoming webhook access token invalid")
        body = incoming.body
        if not isinstance(body, dict) or len(incoming.raw) > 20_000:
            return self.refuse(9499, "Bad Request")
        if self.secret is not None and not self._signed(body, incoming.now):
            text = "sign match fail or timestamp is not within one hour from current time"
            return self.refuse(19021, text)
        if body.get("msg_type") == "interactive":
            problems = self._card_problems(_at(body, "card"))
            contents = [e.get("content", "") for e in _at(body, "card.elements") or []]
            mentioned = re.findall(r"<at id=([\w-]+)></at>", "\n".join(map(str, contents)))
        elif body.get("msg_type") == "text":
            problems = _shape(body, {"content.text": str})
            mentioned = re.findall(r'<at user_id="([\w-]+)">', str(_at(body, "content.text")))
        else:
            problems = [f"msg_type {body.get('msg_type')!r} is not text or interactive"]
        if problems:
            return self.refuse(9499, "Bad Request: " + "; ".join(problems))
        taken = _answer({"code": 0, "msg": "success", "data": {}})
        return Verdict(200, taken, True, tuple(mentioned))

    def _signed(self, body: dict[str, Any], now: float) -> bool:
        assert self.secret is not None
        timestamp, sign = body.get("timestamp"), body.get("sign")
        if not isinstance(timestamp, str) or not timestamp.isdigit() or not isinstance(sign, str):
            return False
        if abs(now - int(timestamp)) > _HOUR:
            return False
        key = f"{timestamp}\n{self.secret}".encode()
        expected = base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, sign)

    def _card_problems(self, card: Any) -> list[str]:
        problems = _shape(card, {"header.title.content": str})
        if _at(card, "header.title.tag") != "plain_text":
            problems.append("header.title.tag is not plain_text")
        elements = _at(card, "elements")
        if not isinstance(elements, list) or not elements:
            return [*problems, "card.elements is not a non-empty list"]
        for element in elements:
            tag = _at(element, "tag")
            if tag == "markdown":
                problems += _shape(element, {"content": str})
            elif tag == "action":
                problems += self._button_problems(_at(element, "actions"))
            else:
                problems.append(f"element tag {tag!r} is not used here")
        return problems

    def _button_problems(self, buttons: Any) -> list[str]:
        if not isinstance(buttons, list) or not buttons:
            return ["action.actions is not a non-empty list"]
        problems = []
        for button in buttons:
            problems += _shape(button, {"text.content": str, "url": str})
            if _at(button, "tag") != "button" or _at(button, "type") not in self.BUTTON_TYPES:
                problems.append(f"not a button: {button}")
            if not str(_at(button, "url")).startswith(("http://", "https://")):
                problems.append(f"button url {_at(button, 'url')!r} is not http(s)")
        return problems


class SlackWebhook(ChatReceiver):
    """A Slack incoming webhook: `ok`, or a 4xx with Slack's word for what was wrong."""

    def __init__(self, *, token: str = "T0001/B0001/slack-token") -> None:
        super().__init__(f"/services/{token}")
        self.token = token

    @staticmethod
    def refuse(status: int, word: str) -> Verdict:
        return Verdict(status, word.encode(), content_type="text/html")

    def judge(self, incoming: Incoming) -> Verdict:
        if incoming.path != f"/services/{self.token}":
            return self.refuse(404, "no_service")
        body = incoming.body
        if not isinstance(body, dict):
            return self.refuse(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return self.refuse(400, "no_text")
        blocks = body.get("blocks", [])
        if not isinstance(blocks, list) or len(blocks) > 50:
            return self.refuse(400, "invalid_blocks")
        texts = [str(body.get("text", ""))]
        for block in blocks:
            found = self._block_texts(block)
            if found is None:
                return self.refuse(400, "invalid_blocks")
            texts += found
        mentioned = tuple(dict.fromkeys(re.findall(r"<@([UW][A-Z0-9]+)>", "\n".join(texts))))
        return Verdict(200, b"ok", True, mentioned, content_type="text/html")

    @staticmethod
    def _block_texts(block: Any) -> list[str] | None:
        """The texts of a block, or None when Slack would refuse it."""
        kind, text = _at(block, "type"), _at(block, "text.text")
        if kind == "header":
            plain = _at(block, "text.type") == "plain_text"
            fine = plain and isinstance(text, str) and 0 < len(text) <= 150
            return [text] if fine else None
        if kind == "section":
            typed = _at(block, "text.type") in ("mrkdwn", "plain_text")
            fine = typed and isinstance(text, str) and 0 < len(text) <= 3000
            return [text] if fine else None
        if kind == "context":
            elements = _at(block, "elements")
            if not isinstance(elements, list) or not 0 < len(elements) <= 10:
                return None
            texts = [_at(element, "text") for element in elements]
            return texts if all(isinstance(t, str) and t for t in texts) else None
        return [] if kind == "divider" else None


class JsonWebhook(ChatReceiver):
    """A contact's own webhook: takes any JSON body, refuses what claims JSON and is not."""

    def __init__(self) -> None:
        super().__init__("/hooks/incidents")

    def judge(self, incoming: Incoming) -> Verdict:
        if _json_content_type(incoming.headers) and incoming.body is None:
            return Verdict(400, b"body is not JSON", content_type="text/plain")
        return Verdict(200, b"", True, content_type="text/plain")


@dataclass(frozen=True)
class ReceivedMail:
    """A message the SMTP server took, with its envelope and how the session was secured."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    login: str
    encrypted: bool


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the `openssl` command."""
    if shutil.which("openssl") is None:
        missing("the openssl command is not installed")
    certificate, key = directory / "smtp.crt", directory / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return certificate, key


class MailReceiver:
    """An aiosmtpd server on 127.0.0.1 that requires TLS and AUTH, and keeps what it takes."""

    def __init__(
        self, directory: Path, *, user: str, password: str, implicit_tls: bool = False
    ) -> None:
        certificate, key = self_signed_certificate(directory)
        self.ca_file = str(certificate)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        self.received: list[ReceivedMail] = []
        self.host, self.port = "127.0.0.1", _free_port()
        self._credentials = (user.encode(), password.encode())
        # aiosmtpd counts only STARTTLS as TLS for AUTH: over implicit TLS it cannot require
        # AUTH (without a warning), so `login` shows whether the client logged in.
        security: dict[str, Any] = (
            {"ssl_context": context, "auth_required": False, "auth_require_tls": False}
            if implicit_tls
            else {"tls_context": context, "require_starttls": True, "auth_required": True}
        )
        self._controller = Controller(
            self, hostname=self.host, port=self.port, authenticator=self._authenticate, **security
        )

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        known = isinstance(data, LoginPassword) and tuple(data) == self._credentials
        if mechanism in ("LOGIN", "PLAIN") and known:
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if session.auth_data else ""
        assert server.transport is not None
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        mail = ReceivedMail(
            envelope.mail_from or "", tuple(envelope.rcpt_tos), parsed, login, encrypted
        )
        self.received.append(mail)
        return "250 Message accepted for delivery"

    def __enter__(self) -> MailReceiver:
        self._controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
