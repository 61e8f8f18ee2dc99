"""The owner-configured hosts (the model's, the SMTP server's) under the same rule as
fetches: resolved once, every address checked, the connection made to a checked address,
TLS still checked against the name. Loopback only: a name whose answer holds a refused
address is refused whole, before any connection (a broken guard would connect to the
loopback address listed first, and the test would see it).
"""

from __future__ import annotations

import ipaddress
import ssl
from email.message import EmailMessage
from pathlib import Path

import openai
import pytest
import trustme

from digest import addresses
from digest.addresses import Rule, model_http_client
from digest.config import Delivery
from digest.deliver import DeliveryError, send
from tests import smtp
from tests.dns import scripted
from tests.llm_server import ModelServer

METADATA = "169.254.169.254"


@pytest.mark.parametrize(
    ("address", "fetched", "owner"),
    [
        ("93.184.215.14", True, True),
        ("127.0.0.1", False, True),
        ("10.1.2.3", False, True),
        ("100.64.0.7", False, True),  # carrier-grade NAT (a Tailscale address)
        ("fd12::1", False, True),
        (METADATA, False, False),
        ("169.254.0.1", False, False),
        ("fe80::1", False, False),
        ("fd00:ec2::254", False, False),
        ("168.63.129.16", False, False),
        ("100.100.100.200", False, False),
        ("::ffff:169.254.169.254", False, False),
        ("0.0.0.0", False, False),
        ("224.0.0.1", False, False),
        ("240.0.0.1", False, False),
    ],
)
def test_the_two_rules(address: str, fetched: bool, owner: bool) -> None:
    ip = ipaddress.ip_address(address)
    assert Rule().allows("h.test", 443, ip) is fetched
    assert Rule(owner_local=True).allows("h.test", 443, ip) is owner
    assert Rule(frozenset({f"{ip}:443"})).allows("h.test", 443, ip)
    assert Rule(frozenset({"h.test:443"}), owner_local=True).allows("h.test", 443, ip)


def chat(base_url: str) -> str:
    client = openai.OpenAI(
        base_url=base_url, api_key="test-key", max_retries=0, http_client=model_http_client()
    )
    with client:
        answer = client.chat.completions.create(
            model="test-model", messages=[{"role": "user", "content": "hello"}]
        )
    return answer.choices[0].message.content or ""


def test_the_model_client_connects_to_the_checked_address_and_keeps_the_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ModelServer() as server:
        port = server.host_port.rpartition(":")[2]
        dns = scripted(monkeypatch, {"model.test": ["127.0.0.1", f"127.0.0.1 {METADATA}"]})
        assert chat(f"http://model.test:{port}/v1") == "OK"
        assert server.requests[0].headers["host"] == f"model.test:{port}"
        assert dns.asked == ["model.test"]
        with pytest.raises(openai.APIConnectionError) as caught:
            chat(f"http://model.test:{port}/v1")
        assert f"refused model.test:{port} ({METADATA} is a link-local" in str(
            caught.value.__cause__
        )
        assert len(server.requests) == 1


def message() -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Digest <digest@example.org>"
    mail["To"] = "reader@example.org"
    mail["Subject"] = "Test Motoring Weekly"
    mail.set_content("This week in autos.")
    return mail


def delivery(port: int, security: str = "none") -> Delivery:
    return Delivery.model_validate(
        {"smtp_host": "mail.test", "smtp_port": port, "security": security, "retry_delay": 0}
    )


def test_smtp_refuses_a_host_that_resolves_to_a_metadata_address(
    inbox: tuple[smtp.Inbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    box, port = inbox
    scripted(monkeypatch, {"mail.test": [f"127.0.0.1 {METADATA}"]})
    with pytest.raises(DeliveryError) as caught:
        send(message(), delivery(port))
    assert f"refused mail.test:{port} ({METADATA} is a link-local" in str(caught.value)
    assert not caught.value.transient and not caught.value.maybe_sent
    assert box.messages == []


def test_smtp_starttls_to_the_checked_address_verifies_the_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("mail.test").configure_cert(context)
    box = smtp.Inbox()
    controller = smtp.start(box, tls=context)
    try:
        dns = scripted(monkeypatch, {"mail.test": ["127.0.0.1"]})
        assert send(message(), delivery(controller.port, "starttls")) == []
        assert dns.asked == ["mail.test"]
        # reached by its address, the server's certificate (for mail.test) does not match
        raw = delivery(controller.port, "starttls").model_copy(update={"smtp_host": "127.0.0.1"})
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            send(message(), raw)
    finally:
        controller.stop()
    assert [m["Subject"] for m in box.messages] == ["Test Motoring Weekly"]


def test_the_smtp_classes_keep_smtplibs_tls_layering() -> None:
    assert addresses.SMTP_SSL.__mro__[1:4] == (
        addresses.smtplib.SMTP_SSL,
        addresses.SMTP,
        addresses.smtplib.SMTP,
    )
