"""The core's error sentences are front-end neutral; the CLI words the retry as a command."""

from __future__ import annotations

import pytest

from yachat.cli.common import failed_answer_line
from yachat.core.errors import ServerGone, StreamIdleTimeout, connection_failure, explain, phrase_retry

# What gRPC 1.8x says when it cannot connect, as captured from the loopback cases in test_unreachable.
GRPC_SAYS = {
    "errors resolving nonexistent.invalid:443: [field:hostname lookup error:address lookup failed for "
    "nonexistent.invalid:443: Domain name not found]": "its name does not resolve",
    "DNS resolution failed for api.cloud.yandex.net:443: C-ares status is not ARES_SUCCESS": "its name does not resolve",
    "errors resolving foo.test:443: [field:hostname lookup error:address lookup failed for foo.test:443: DNS query "
    "cancelled]": "no DNS server answered within 5 s to look up its name",
    "errors resolving foo.test:443: [field:hostname lookup error:address lookup failed for foo.test:443: Timeout "
    "while contacting DNS servers]": "no DNS server answered within 5 s",
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Failed to connect to remote host: "
    "Connection refused": "the connection was refused",
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:46235: Tls handshake failed "
    "(TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED: "
    "self signed certificate: OK": "the TLS handshake failed (the server's certificate is not trusted: self signed",
    "failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:45251: Tls handshake failed "
    "(TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER: "
    "Invalid certificate verification context: OK": "the TLS handshake failed (the server does not speak TLS)",
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:42011: Handshake read failed "
    "(Endpoint closing)": "no answer within 5 s",
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:41227: Handshake read failed "
    "(Socket closed)": "the connection was closed by 127.0.0.1:41227 before it was set up",
    "failed to connect to all addresses; last error: UNAVAILABLE: ipv4:10.1.1.1:443: Something new": "no connection "
    "could be made (Something new)",
}


@pytest.mark.parametrize("details,cause", GRPC_SAYS.items())
def test_a_connection_failure_is_named_by_its_cause(details: str, cause: str) -> None:
    found = connection_failure(details, 5.0)
    assert found is not None and found.startswith(cause)


@pytest.mark.parametrize(
    "details",
    [
        "overloaded",
        "the model is restarting",
        "Socket closed",
        "upstream connect error: Connection refused",
        "",
    ],
)
def test_a_server_that_answered_is_not_a_connection_failure(details: str) -> None:
    # A status the server sent, or a connection dropped mid-answer, may heal: retried as before.
    assert connection_failure(details) is None


def test_a_resolved_address_is_named_only_when_it_is_not_the_endpoint() -> None:
    refused = "failed to connect to all addresses; last error: UNKNOWN: ipv4:10.0.0.7:443: Connection refused"
    assert connection_failure(refused, endpoint="10.0.0.7:443") == "the connection was refused"
    assert (
        connection_failure(refused, endpoint="llm.example:443")
        == "the connection was refused by 10.0.0.7:443"
    )


def test_no_core_sentence_tells_a_front_end_which_button_to_press() -> None:
    sentences = [
        explain(ServerGone(), backend_kind="local"),
        explain(ServerGone(), backend_kind="cloud"),
        explain(StreamIdleTimeout(60)),
        explain(TimeoutError()),
        explain(RuntimeError("boom")),
        explain(OSError(5, "I/O error")),
    ]
    for sentence in sentences:
        assert "Retry" not in sentence and "retry" in sentence, sentence


def test_the_retry_hint_is_worded_by_each_front_end() -> None:
    core = (
        "The model sent nothing for 60 s, so the answer was stopped; retry, or raise stream_idle_timeout_s."
    )
    assert phrase_retry(core, "press Retry (ctrl+r)") == (
        "The model sent nothing for 60 s, so the answer was stopped; press Retry (ctrl+r), "
        "or raise stream_idle_timeout_s."
    )
    # Rows written by older versions (and the store's "interrupted" mark) say "press Retry".
    stored = "yachat stopped while this answer streamed; press Retry."
    assert failed_answer_line(stored, 3) == (
        "yachat stopped while this answer streamed; retry with `yachat ask --thread 3 --retry`."
    )
    # "retries" and a command's own --retry are not hints.
    quota = "Quota exceeded even after retries: wait a minute and retry, or raise the folder's quota."
    assert failed_answer_line(quota, 4) == (
        "Quota exceeded even after retries: wait a minute and retry with `yachat ask --thread 4 --retry`, "
        "or raise the folder's quota."
    )
    assert failed_answer_line("Not found: no such model; check the model name.", 5) == (
        "Not found: no such model; check the model name; then retry with `yachat ask --thread 5 --retry`."
    )
