"""A real DNS server for the tests: UDP on 127.0.0.1, answering TXT queries from records the test sets.

Built on dnspython's wire format (the same library the platform resolves with), in a thread. Use the
``dns_server`` fixture: ``dns_server.txt["contoso.example"] = ["b2bportal-verification=…"]``; the fixture
points ``settings.DNS_RESOLVER`` at it. Names it does not know answer NXDOMAIN, like a real zone.
"""

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest


class DnsServer:
    def __init__(self) -> None:
        self.txt: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = self._socket.getsockname()[1]
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="test-dns", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "DnsServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                data, client = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:  # not DNS: ignore it, as a server would
                continue
            self._socket.sendto(self._answer(query).to_wire(), client)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.queries.append(name)
        values = self.txt.get(name)
        if values is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.TXT and values:
            quoted = [f'"{value}"' for value in values]
            response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *quoted))
        return response  # a known name without TXT values: NOERROR with no answer


@pytest.fixture
def dns_server(settings):
    server = DnsServer().start()
    settings.DNS_RESOLVER = server.address
    settings.DNS_RESOLVER_TIMEOUT = 2.0
    yield server
    server.stop()
