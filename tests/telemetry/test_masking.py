"""Masking removes API keys, bearer tokens, e-mails and card numbers, and nothing else."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from demo_app.telemetry.masking import PATTERNS, REDACTIONS, contains_secret, mask, mask_text

# Surrounding text that cannot itself form a secret: letters and punctuation, no digits, no @.
_filler = st.text(alphabet=string.ascii_letters + " .,;:!?()", max_size=40)
_sep = st.sampled_from([" ", "\n", ", ", " (", ": ", "\t"])
_api_key = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["sk-", "sk-proj-", "sk-svcacct-"]),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=8, max_size=60),
)
_email = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.text(alphabet=string.ascii_letters + string.digits + "._%+-", min_size=1, max_size=20),
    st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=15),
    st.sampled_from(["com", "org", "co.uk", "io", "example"]),
)
_card = st.builds(
    lambda digits, sep: sep.join(digits[i : i + 4] for i in range(0, len(digits), 4)),
    st.text(alphabet=string.digits, min_size=13, max_size=19),
    st.sampled_from(["", " ", "-"]),
)
_bearer = st.builds(
    lambda word, token: f"{word} {token}",
    st.sampled_from(["Bearer", "bearer", "BEARER"]),
    st.text(alphabet=string.ascii_letters + string.digits + "._~+/=-", min_size=1, max_size=60),
)
_secret = st.one_of(_api_key, _email, _card, _bearer)


class TestExamples:
    """Known secrets are replaced by fixed markers; ordinary text is untouched."""

    def test_masks_each_kind(self) -> None:
        text = (
            "key sk-proj-AbC123def456GHI and sk-test1234567890, mail jane.doe+x@mail.example.com, "
            "Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9-x, card 4111 1111 1111 1111 or 5500-0000-0000-0004"
        )
        masked = mask_text(text)
        for secret in ("AbC123def456GHI", "sk-test", "jane.doe", "example.com", "eyJhbGciOi", "4111", "5500"):
            assert secret not in masked
        assert masked.count(REDACTIONS["card"]) == 2
        assert masked.count(REDACTIONS["api_key"]) == 2

    def test_leaves_ordinary_text_alone(self) -> None:
        text = "task-12345678 asked for 3 items at 12:30, trace a1234567890123456789b, tel 555-1234"
        assert mask_text(text) == text

    def test_recurses_into_containers(self) -> None:
        value = {"user bob@example.com": ["sk-abcdefgh12345678", ("x", 3, None)], "n": 4, "ok": True}
        assert mask(value) == {
            "user [REDACTED_EMAIL]": ["[REDACTED_API_KEY]", ("x", 3, None)],
            "n": 4,
            "ok": True,
        }


class TestProperties:
    """Properties over generated text: no secret survives, and masking is stable."""

    @given(before=_filler, sep1=_sep, secret=_secret, sep2=_sep, after=_filler)
    def test_secret_never_survives(self, before: str, sep1: str, secret: str, sep2: str, after: str) -> None:
        masked = mask_text(before + sep1 + secret + sep2 + after)
        assert secret not in masked

    @given(st.text(max_size=200))
    def test_idempotent(self, text: str) -> None:
        once = mask_text(text)
        assert mask_text(once) == once

    @given(_filler)
    def test_text_without_secrets_unchanged(self, text: str) -> None:
        assert mask_text(text) == text

    @given(
        st.recursive(
            st.one_of(st.none(), st.integers(), _secret),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(string.ascii_letters, max_size=5), c, max_size=3),
            max_leaves=10,
        )
    )
    def test_nested_values_hold_no_secret(self, value: object) -> None:
        rendered = repr(mask(value))
        for marker in REDACTIONS.values():
            rendered = rendered.replace(marker, "")
        assert "@" not in rendered and "sk-" not in rendered


def _every_pattern(text: str) -> str:
    """The masking rule without its fast path: every pattern substituted, in order."""
    for _, pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# Arbitrary Unicode with secrets and near-misses spliced in ("sk-" alone, "@", odd-case "bEaReR").
_mixed = st.lists(
    st.one_of(st.text(max_size=30), _secret, st.sampled_from(["sk-", "@", "bEaReR ", "1234 5678 9012", "\u017f", "\u212a"])),
    max_size=6,
).map("".join)


class TestFastPath:
    """The shortcut for clean values changes no result, and clean values are not copied."""

    @given(_mixed)
    def test_same_result_as_every_pattern(self, text: str) -> None:
        assert mask_text(text) == _every_pattern(text)
        assert contains_secret(text) == any(p.search(text) for _, p, _ in PATTERNS)

    def test_clean_values_are_returned_as_they_are(self) -> None:
        value = {"model": "sim-small", "ids": ["doc-1", ("a", 2)], "n": 3}
        assert mask(value) is value
        text = "nothing to hide here"
        assert mask_text(text) is text

    def test_a_secret_deep_inside_still_copies_and_masks(self) -> None:
        value = {"ids": ["doc-1", ("a", "ops@example.com")]}
        masked = mask(value)
        assert masked == {"ids": ["doc-1", ("a", "[REDACTED_EMAIL]")]} and value["ids"][1][1] == "ops@example.com"

    def test_shortest_secrets_are_still_found(self) -> None:
        # The length shortcut's bounds: each of these is the shortest text its pattern matches.
        for text, marker in (("a@b.co", "email"), ("sk-abcdefgh", "api_key"), ("bearer x", "bearer"), ("1" * 13, "card")):
            assert contains_secret(text) and mask_text(text) == REDACTIONS[marker], text
            assert not contains_secret(text[:-1]), text[:-1]
