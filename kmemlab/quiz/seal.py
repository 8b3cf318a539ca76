"""Sealing: answers replaced by salted, slow hashes, explanations encrypted.

How a sealed question is checked (see ``README`` "Sealing" for the instructor's view):

* A *token* is the canonical text of an answer: the correct choice's text, the sorted
  set of correct choices, an accepted text answer (normalised), the exact value of a
  numeric answer, or — with a tolerance — the *cell* the answer falls in.
* Each token is stretched with PBKDF2-HMAC-SHA256 (per-file random salt, quiz id and
  question id mixed in). The first 32 bytes are stored as the hash; the next 32 bytes
  are a key that encrypts the question's explanation, so the explanation can only be
  read by someone who has given a correct answer.
* Numeric with absolute tolerance ``t``: cells of width ``2t`` are laid so that the
  answer's accepted interval ``[a-t, a+t]`` is exactly one cell; the grid's offset
  (``a - t`` modulo ``2t``) is stored in the clear and the cell's index is hashed. A
  response is correct iff it falls in that cell — the same set of responses as the
  unsealed check (arithmetic is done with exact fractions). What leaks: ``a`` modulo
  ``2t`` (the answer's position inside a cell), not its magnitude.
* Relative tolerance ``r``: the same on a logarithmic grid (cell width
  ``ln((1+r)/(1-r))``), the sign hashed with the cell; float rounding can move a response
  lying exactly on an interval edge by one cell (1e-9 relative).

Hashes stop a student from *reading* answers. They do not stop guessing: a single-choice
question has a handful of candidate tokens and anyone with the file can try them all —
exactly what they could do by clicking. Grade from the instructor's unsealed file (or a
sealed one, same result) on collected responses; the sealed file is what students get.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import unicodedata
from fractions import Fraction
from functools import lru_cache

DEFAULT_ITERATIONS = 20_000


@lru_cache(maxsize=4096)
def derive(token: str, salt_hex: str, iterations: int, quiz_id: str, qid: str) -> bytes:
    """64 bytes: hash (first 32) and explanation key (last 32) for one token."""
    password = "\0".join(("kmemlab-quiz-v1", quiz_id, qid, token)).encode("utf-8")
    return hashlib.pbkdf2_hmac("sha256", password, bytes.fromhex(salt_hex), iterations, 64)


def token_hash(token: str, salt_hex: str, iterations: int, quiz_id: str, qid: str) -> str:
    return derive(token, salt_hex, iterations, quiz_id, qid)[:32].hex()


def _keystream(key: bytes, nonce: bytes, n: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hmac.new(key, b"ks" + nonce + counter.to_bytes(8, "big"), "sha256").digest()
        counter += 1
    return bytes(out[:n])


def encrypt(text: str, key: bytes, nonce: bytes) -> str:
    """HMAC-SHA256 counter-mode stream cipher with an HMAC tag (stdlib only)."""
    data = text.encode("utf-8")
    ct = bytes(a ^ b for a, b in zip(data, _keystream(key, nonce, len(data)), strict=True))
    tag = hmac.new(key, b"tag" + nonce + ct, "sha256").digest()[:16]
    return base64.b64encode(nonce + ct + tag).decode("ascii")


def decrypt(blob: str, key: bytes) -> str | None:
    """The plaintext, or ``None`` if ``key`` is not the right one."""
    try:
        raw = base64.b64decode(blob.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) < 32:
        return None
    nonce, ct, tag = raw[:16], raw[16:-16], raw[-16:]
    if not hmac.compare_digest(tag, hmac.new(key, b"tag" + nonce + ct, "sha256").digest()[:16]):
        return None
    data = bytes(a ^ b for a, b in zip(ct, _keystream(key, nonce, len(ct)), strict=True))
    return data.decode("utf-8")


# ---------------------------------------------------------------- canonical tokens
def normalize_text(text: str, case_sensitive: bool = False) -> str:
    """Trim, NFC, collapse inner whitespace; casefold unless case-sensitive."""
    text = unicodedata.normalize("NFC", str(text))
    text = re.sub(r"\s+", " ", text.strip())
    return text if case_sensitive else text.casefold()


def fraction_token(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction:
    return Fraction(text)


def grid_for(answer: Fraction, tol: Fraction) -> tuple[Fraction, Fraction, int]:
    """(step, shift, cell) of the absolute-tolerance grid for ``answer``."""
    step = 2 * tol
    lo = answer - tol
    shift = lo % step
    cell = (lo - shift) / step
    assert cell.denominator == 1
    return step, shift, int(cell)


def grid_cells(response: Fraction, step: Fraction, shift: Fraction) -> list[int]:
    """The cell(s) whose closed interval holds ``response`` (two on a boundary)."""
    x = (response - shift) / step
    k = math.floor(x)
    return [k, k - 1] if x == k else [k]


def loggrid_for(answer: float, rel: float) -> tuple[float, float, str]:
    step = math.log((1 + rel) / (1 - rel))
    lo = math.log(abs(answer)) + math.log(1 - rel)
    shift = lo % step
    cell = round((lo - shift) / step)
    return step, shift, f"{'-' if answer < 0 else '+'}{cell}"


def loggrid_cells(response: float, step: float, shift: float) -> list[str]:
    if response == 0:
        return []
    x = (math.log(abs(response)) - shift) / step
    sign = "-" if response < 0 else "+"
    cells = {math.floor(x), math.floor(x + 1e-9), math.floor(x - 1e-9)}
    return [f"{sign}{k}" for k in sorted(cells)]
