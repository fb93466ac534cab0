"""Text the service must scrub, and text it must leave alone, for the redaction tests.

`PII` holds (kind, value, sentence): the sentence contains the value, and after redaction it
must contain `[REDACTED:<kind>]` and no longer the value. `CLEAN` holds ordinary strings (log
values, ids, timestamps, prices, prose in several languages, code, lookalikes that fail their
checksum) that must come out unchanged. Both are shared by the unit tests of the redactor and
by the end-to-end tests that push them through requests, errors and model calls.

`starting_a_line` and `escaped` write a value the ways libraries log it: first on a line of
escaped text (JSON, a repr), where `\\n` or `\\u00a0` comes right before it.

Card numbers are the networks' public test numbers and IBANs the registries' examples; both
pass their checksums. API keys are fake but well-formed, and are assembled from two parts so
that secret scanners do not flag this file.
"""

from __future__ import annotations

import json
import re

_SK_KEY = "sk-" + "EXAMPLEfake0key1for2redaction3tests"
_SK_PROJECT_KEY = "sk-proj-" + "Ex4mpleProjectKey_0123456789-abcdefABCDEF"
_SK_ANT_KEY = "sk-ant-" + "api03-EXAMPLEfakeKey0123456789abcdefghij-AAAA"
_AWS_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
_GITHUB_TOKEN = "ghp_" + "EXAMPLE0fake1github2token3value4abcd"
_GITHUB_OAUTH_TOKEN = "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a"
_GITHUB_APP_TOKEN = "ghs_" + "EXAMPLEserverToServerToken0123456789"
_GITHUB_PAT = "github_pat_" + "11ABCDEFG0123456789_EXAMPLEfinegrainedPersonalAccessToken"
_SLACK_TOKEN = "xoxb-" + "1234567890-0987654321-EXAMPLEslackBotToken"
_GOOGLE_KEY = "AIza" + "SyEXAMPLE-fakeGoogleApiKey_012345678"
_STRIPE_KEY = "sk_live_" + "51EXAMPLEfakeStripeSecretKey0123"
_STRIPE_RESTRICTED_KEY = "rk_live_" + "51EXAMPLEfakeRestrictedKey456789"
_JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    + ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
_OPAQUE_TOKEN = "mF_9.B5f-4.1JqM"
_RANDOM_TOKEN = "d1c5a7f0e9b84c3fa2e6b0d4c8f1a3e5"

PII: tuple[tuple[str, str, str], ...] = (
    # Emails: plus-addressing, subdomains, non-ASCII, markup and JSON.
    ("email", "jane.doe@example.com", "Please reply to jane.doe@example.com before Friday."),
    ("email", "ops+alerts@mail.example.co.uk", "Forwarded by ops+alerts@mail.example.co.uk."),
    ("email", "j.smith_92@eu.example-corp.org", "j.smith_92@eu.example-corp.org"),
    ("email", "marie.dupont@exemple.fr", "Écrivez-moi à marie.dupont@exemple.fr, merci."),
    ("email", "müller.hans@beispiel.de", "Bitte an müller.hans@beispiel.de schicken."),
    ("email", "billing@example.net", '<a href="mailto:billing@example.net">billing</a>'),
    ("email", "kim.lee@example.kr", '{"customer": {"email": "kim.lee@example.kr"}}'),
    ("email", "first.last+triage@support.example.io", "From: first.last+triage@support.example.io"),
    # Phone numbers: North American, European and Asian formats, international and national.
    ("phone", "(415) 555-0132", "Call me at (415) 555-0132 after 5pm."),
    ("phone", "415-555-0132", "415-555-0132"),
    ("phone", "415.555.0173", "Cell: 415.555.0173"),
    ("phone", "+1 (212) 555-0147", "Our office line is +1 (212) 555-0147."),
    ("phone", "+1 415 555 0132", "tel:+1 415 555 0132"),
    ("phone", "+44 20 7946 0958", "Reach the London team on +44 20 7946 0958."),
    ("phone", "020 7946 0958", "Ring 020 7946 0958 during office hours."),
    ("phone", "07700 900123", "My mobile is 07700 900123, text first."),
    ("phone", "06 12 34 56 78", "Mon numéro : 06 12 34 56 78."),
    ("phone", "+33 6 12 34 56 78", "Appelez le +33 6 12 34 56 78 demain."),
    ("phone", "01.23.45.67.89", "Standard : 01.23.45.67.89"),
    ("phone", "+49 30 12345678", "Rückruf bitte unter +49 30 12345678."),
    ("phone", "030 12345678", "Telefon: 030 12345678"),
    ("phone", "+49 (0)151 23456789", "Handy +49 (0)151 23456789"),
    ("phone", "+81 3-1234-5678", "東京オフィス: +81 3-1234-5678"),
    ("phone", "+91 98765 43210", "WhatsApp me on +91 98765 43210."),
    ("phone", "+55 11 91234-5678", "Celular: +55 11 91234-5678"),
    ("phone", "+61 2 9374 4000", "Sydney: +61 2 9374 4000"),
    ("phone", "+34 912 345 678", "Llámeme al +34 912 345 678, por favor."),
    ("phone", "+31 20 123 4567", "Bel +31 20 123 4567 voor support."),
    ("phone", "06-12345678", "Mijn nummer is 06-12345678."),
    ("phone", "+41 44 668 18 00", "Zentrale (+41 44 668 18 00)"),
    ("phone", "+4915123456789", "+4915123456789"),
    # Payment cards: Visa, Mastercard, Amex, Discover, Diners, JCB, UnionPay; all pass Luhn.
    ("card", "4111 1111 1111 1111", "Card 4111 1111 1111 1111 exp 12/27 was declined."),
    ("card", "4012888888881881", "4012888888881881"),
    ("card", "4242-4242-4242-4242", "Paid with 4242-4242-4242-4242 yesterday."),
    ("card", "5555 5555 5555 4444", "Mastercard 5555 5555 5555 4444, CVC 123"),
    ("card", "2223003122003222", "card_number=2223003122003222"),
    ("card", "3782 822463 10005", "Amex: 3782 822463 10005."),
    ("card", "371449635398431", "Please refund 371449635398431 (Amex)."),
    ("card", "6011 1111 1111 1117", "Discover card 6011 1111 1111 1117 expired"),
    ("card", "6011000990139424", '{"pan": "6011000990139424"}'),
    ("card", "30569309025904", "Diners Club 30569309025904"),
    ("card", "3530111333300000", "JCB 3530111333300000 を使いました。"),
    ("card", "6200000000000005", "UnionPay: 6200000000000005"),
    ("card", "6011000990139420007", "19-digit card 6011000990139420007 on file"),
    # IBANs from across Europe, bare and in groups of four; all pass mod-97.
    ("iban", "DE89 3704 0044 0532 0130 00", "Bitte auf DE89 3704 0044 0532 0130 00 überweisen."),
    ("iban", "DE89370400440532013000", "DE89370400440532013000"),
    ("iban", "GB29 NWBK 6016 1331 9268 19", "Sort it out: GB29 NWBK 6016 1331 9268 19."),
    ("iban", "FR1420041010050500013M02606", "IBAN : FR1420041010050500013M02606"),
    ("iban", "NL91 ABNA 0417 1643 00", "Rekening NL91 ABNA 0417 1643 00 graag."),
    ("iban", "ES91 2100 0418 4502 0005 1332", "IBAN ES91 2100 0418 4502 0005 1332 BIC CAIXESBB"),
    ("iban", "CH9300762011623852957", "Konto CH9300762011623852957"),
    ("iban", "BE68 5390 0754 7034", "Refund to BE68 5390 0754 7034 EUR 40"),
    ("iban", "IT60X0542811101000000123456", "Bonifico su IT60X0542811101000000123456"),
    ("iban", "AT61 1904 3002 3457 3201", "AT61 1904 3002 3457 3201"),
    ("iban", "PL61109010140000071219812874", "Konto: PL61109010140000071219812874."),
    # API keys of the well-known shapes.
    ("api_key", _SK_KEY, f"PROVIDER_API_KEY={_SK_KEY}"),
    ("api_key", _SK_PROJECT_KEY, f"Invalid key {_SK_PROJECT_KEY} (401)"),
    ("api_key", _SK_ANT_KEY, f'{{"x-api-key": "{_SK_ANT_KEY}"}}'),
    ("api_key", _AWS_KEY_ID, f"aws_access_key_id = {_AWS_KEY_ID}"),
    ("api_key", _GITHUB_TOKEN, _GITHUB_TOKEN),
    ("api_key", _GITHUB_OAUTH_TOKEN, f"token {_GITHUB_OAUTH_TOKEN} expired"),
    ("api_key", _GITHUB_APP_TOKEN, f"GITHUB_TOKEN: {_GITHUB_APP_TOKEN}"),
    ("api_key", _GITHUB_PAT, f"git clone https://{_GITHUB_PAT}@github.com/acme/app.git"),
    ("api_key", _SLACK_TOKEN, f"slack token={_SLACK_TOKEN}"),
    ("api_key", _GOOGLE_KEY, f"https://maps.example.com/api?key={_GOOGLE_KEY}&q=paris"),
    ("api_key", _STRIPE_KEY, f"stripe.api_key = '{_STRIPE_KEY}'"),
    ("api_key", _STRIPE_RESTRICTED_KEY, _STRIPE_RESTRICTED_KEY),
    ("api_key", _JWT, f"session={_JWT}; Path=/"),
    # Authorization credentials.
    ("bearer", _RANDOM_TOKEN, f"Authorization: Bearer {_RANDOM_TOKEN}"),
    ("bearer", _OPAQUE_TOKEN, f"authorization: bearer {_OPAQUE_TOKEN}"),
    ("bearer", _JWT, f"curl -H 'Authorization: Bearer {_JWT}' https://api.example.com"),
    ("bearer", "dXNlcjpwYXNzd29yZA==", "Authorization: Basic dXNlcjpwYXNzd29yZA=="),
    ("bearer", "YWxhZGRpbjpvcGVuc2VzYW1l", '{"authorization": "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}'),
    ("bearer", "acme-test-token-0001", "Bearer acme-test-token-0001"),
)

CLEAN: tuple[str, ...] = (
    # Log values: models, routes, methods, statuses, durations, sizes.
    "vendor:large-model-2026-05-13",
    "local_server:llama-3.1-8b-instruct",
    "classical:keywords",
    "POST",
    "GET /v1/triage HTTP/1.1",
    "/v1/triage",
    "/healthz",
    "200",
    "HTTP/1.1 502 Bad Gateway",
    "1500 ms",
    "latency_ms=1532.7 status=429 retries=3",
    "took 0.842s, 1234 tokens in, 567 out",
    "Retry-After: 30",
    "max_tokens=1024 temperature=0.2",
    # Timestamps and dates.
    "2026-11-25T13:45:12Z",
    "2026-11-25T13:45:12.123456+01:00",
    "2026-11-25 13:45:12,031",
    "13:45:12",
    "25/11/2026",
    "01.02.2026 10:30",
    "1764075912",
    "1732541112123",
    # Ids: UUIDs, request and trace ids, hashes.
    "123e4567-e89b-12d3-a456-426614174000",
    "550e8400-e29b-41d4-a716-446655440000",
    "0af7651916cd43dd8448eb211c80319c",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00f067aa0ba902b7",
    "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "ticket TCK-2026-004512",
    # Versions, addresses, standards.
    "1.2.3",
    "v2.10.4",
    "ai-service 0.1.0 on Python 3.12.7",
    "192.168.1.254",
    "10.0.0.12:8000",
    "ISBN 978-3-16-148410-0, RFC 9110, ISO 8601",
    # Money and orders.
    "$1,299.00",
    "12.50 EUR",
    "1 299,00 €",
    "€49.99/month",
    "#48213",
    "order 123456",
    "My invoice #48213 from 2026-11-02 was charged twice",
    "Refund of 2 x 1500 for order 4417 on 2026-11-03",
    # Prose.
    "The export keeps failing with a timeout after about thirty seconds.",
    "The basic plan includes basic features, the bearer of good news said.",
    "Bonjour, je n'arrive plus à me connecter depuis la mise à jour de l'application.",
    "Die Rechnung vom 02.11.2026 wurde doppelt abgebucht, bitte prüfen.",
    "請求書が二重に請求されました。確認をお願いします。",
    "El pedido 4417 llegó roto el 3 de noviembre.",
    # Code and stack traces.
    "def triage(ticket: Ticket) -> Label:\n    return model.predict(ticket.text)",
    "for i in range(10): total += prices[i] * 1.2",
    'File "/srv/app/ai_service/api/routes.py", line 142, in triage',
    "Traceback (most recent call last):",
    "ValueError: invalid literal for int() with base 10: 'abc'",
    '{"status": "ok", "latency_ms": 12, "user_id": 42, "tenant": "acme"}',
    # Lookalikes that fail their checksum.
    "4111 1111 1111 1112",
    "5555555555554445",
    "4242-4242-4242-4241",
    "DE00 3704 0044 0532 0130 00",
    "GB00NWBK60161331926819",
    "Basic features",
)


def starting_a_line(kind: str, value: str, sentence: str) -> str:
    """`value` as the first word of a line: a credential with its scheme word, without which
    it is not recognisable."""
    if kind != "bearer":
        return value
    credential = re.search(r"[Bb](?:earer|asic) " + re.escape(value), sentence)
    assert credential is not None
    return credential.group()


def escaped(text: str) -> tuple[str, ...]:
    """`text` after a line break, tab or other space, written as libraries log it: JSON (ASCII
    or not), a repr, a repr of a dict, JSON in a repr, JSON in JSON."""
    return (
        json.dumps(f"Ticket:\n{text}"),
        json.dumps(f"Ticket:\r\n{text}", ensure_ascii=False),
        json.dumps(f"Ticket:\u00a0{text}"),
        json.dumps(f"Ticket:\b{text}"),
        repr(f"Ticket:\t{text}"),
        repr(f"Ticket:\x0b{text}"),
        repr(f"Ticket:\u2028{text}"),
        repr(f"Ticket:\U000e0001{text}"),
        repr({"messages": [{"role": "user", "content": f"Ticket:\n{text}"}]}),
        repr(json.dumps({"body": f"Ticket:\n{text}"})),
        json.dumps(json.dumps({"summary": f"Ticket:\f{text}"})),
    )


def spellings(value: str) -> set[str]:
    """`value` as it reads in text and in escaped text."""
    return {value, json.dumps(value)[1:-1], repr(value)[1:-1]}
