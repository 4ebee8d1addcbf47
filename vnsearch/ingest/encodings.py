"""Decoding input bytes: UTF-8 (BOM or not), UTF-16 with BOM, and the legacy 8-bit Vietnamese
encodings (TCVN3/ABC, VNI Windows, VISCII, Windows-1258) that still fill government archives,
which are recognised and converted to Unicode NFC; so are the two usual accidents of Unicode
text (UTF-8 read as Windows-1252 and saved again, legacy text saved as UTF-8).

Recognition works on whole words: bytes that are not UTF-8 are read through each legacy table
and we count how many of the resulting words are well-formed Vietnamese syllables. Western
Latin-1 text ("café", "über") does not turn into syllables under any table, so it is not
mistaken for Vietnamese.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata

from vnsearch.text.normalize import TONE_MARKS

#: Bytes we look at when sniffing a file (BOM, NUL bytes).
SNIFF_SIZE = 8192


class DecodeError(ValueError):
    """The bytes are not text we can read; ``str(err)`` is the one-line reason for users."""

    def __init__(self, reason: str, *, binary: bool = False):
        super().__init__(reason)
        self.binary = binary


# --- TCVN3 (ABC, TCVN 5712:1993 VN3) --------------------------------------------------------
# One byte per letter. The ABC fonts have no separate upper-case accented letters (an upper-case
# font draws the lower-case codes), so only these 7 capitals have codes of their own.
_TCVN3_LETTERS = {
    "à": 0xB5, "á": 0xB8, "ả": 0xB6, "ã": 0xB7, "ạ": 0xB9,
    "ă": 0xA8, "ằ": 0xBB, "ắ": 0xBE, "ẳ": 0xBC, "ẵ": 0xBD, "ặ": 0xC6,
    "â": 0xA9, "ầ": 0xC7, "ấ": 0xCA, "ẩ": 0xC8, "ẫ": 0xC9, "ậ": 0xCB,
    "đ": 0xAE,
    "è": 0xCC, "é": 0xD0, "ẻ": 0xCE, "ẽ": 0xCF, "ẹ": 0xD1,
    "ê": 0xAA, "ề": 0xD2, "ế": 0xD5, "ể": 0xD3, "ễ": 0xD4, "ệ": 0xD6,
    "ì": 0xD7, "í": 0xDD, "ỉ": 0xD8, "ĩ": 0xDC, "ị": 0xDE,
    "ò": 0xDF, "ó": 0xE3, "ỏ": 0xE1, "õ": 0xE2, "ọ": 0xE4,
    "ô": 0xAB, "ồ": 0xE5, "ố": 0xE8, "ổ": 0xE6, "ỗ": 0xE7, "ộ": 0xE9,
    "ơ": 0xAC, "ờ": 0xEA, "ớ": 0xED, "ở": 0xEB, "ỡ": 0xEC, "ợ": 0xEE,
    "ù": 0xEF, "ú": 0xF3, "ủ": 0xF1, "ũ": 0xF2, "ụ": 0xF4,
    "ư": 0xAD, "ừ": 0xF5, "ứ": 0xF8, "ử": 0xF6, "ữ": 0xF7, "ự": 0xF9,
    "ỳ": 0xFA, "ý": 0xFD, "ỷ": 0xFB, "ỹ": 0xFC, "ỵ": 0xFE,
    "Ă": 0xA1, "Â": 0xA2, "Đ": 0xA7, "Ê": 0xA3, "Ô": 0xA4, "Ơ": 0xA5, "Ư": 0xA6,
}  # fmt: skip
_TCVN3_DECODE = {byte: ch for ch, byte in _TCVN3_LETTERS.items()}

# --- VNI Windows ------------------------------------------------------------------------------
# A base letter followed by a mark byte (shown here as its cp1252 character); a few letters
# (đ, ơ, ư and some i/y forms) have single bytes.
_VNI_MARKS = {"\u0301": "ù", "\u0300": "ø", "\u0309": "û", "\u0303": "õ", "\u0323": "ï"}
_VNI_HAT_MARKS = {
    "": "â",
    "\u0301": "á",
    "\u0300": "à",
    "\u0309": "å",
    "\u0303": "ã",
    "\u0323": "ä",
}  # â ê ô
_VNI_BREVE_MARKS = {
    "": "ê",
    "\u0301": "é",
    "\u0300": "è",
    "\u0309": "ú",
    "\u0303": "ü",
    "\u0323": "ë",
}  # ă
_VNI_SINGLE = {
    "đ": "ñ", "Đ": "Ñ", "ơ": "ô", "Ơ": "Ô", "ư": "ö", "Ư": "Ö",
    "í": "í", "ì": "ì", "ỉ": "æ", "ĩ": "ó", "ị": "ò",
    "Í": "Í", "Ì": "Ì", "Ỉ": "Æ", "Ĩ": "Ó", "Ị": "Ò", "ỵ": "î", "Ỵ": "Î",
}  # fmt: skip


def _build_vni() -> dict[str, str]:
    table = dict(_VNI_SINGLE)
    for base in "aeouyAEOUYơưƠƯ":
        for tone, mark in _VNI_MARKS.items():
            letter = unicodedata.normalize("NFC", base + tone)
            if letter in table:
                continue
            prefix = _VNI_SINGLE.get(base, base)
            table[letter] = prefix + (mark.upper() if base.isupper() else mark)
    for base, marks in (("a", _VNI_HAT_MARKS), ("e", _VNI_HAT_MARKS), ("o", _VNI_HAT_MARKS),
                        ("a", _VNI_BREVE_MARKS)):  # fmt: skip
        shape = "\u0302" if marks is _VNI_HAT_MARKS else "\u0306"
        for tone, mark in marks.items():
            for b in (base, base.upper()):
                letter = unicodedata.normalize("NFC", b + shape + tone)
                table[letter] = b + (mark.upper() if b.isupper() else mark)
    return table


_VNI_LETTERS = _build_vni()
_VNI_DECODE = {v: k for k, v in _VNI_LETTERS.items()}
_VNI_DECODE_RE = re.compile("|".join(sorted(map(re.escape, _VNI_DECODE), key=len, reverse=True)))


def encode_tcvn3(text: str) -> bytes:
    """Encode Unicode Vietnamese as TCVN3 (ABC) bytes; accented capitals become lower-case codes,
    as in the ABC fonts. Used to build test files and to document the table."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        code = _TCVN3_LETTERS.get(ch)
        if code is None and ch.lower() in _TCVN3_LETTERS and ch not in "ĂÂĐÊÔƠƯ":
            code = _TCVN3_LETTERS[ch.lower()]
        out += bytes([code]) if code is not None else ch.encode("latin-1")
    return bytes(out)


def encode_vni(text: str) -> bytes:
    """Encode Unicode Vietnamese as VNI Windows bytes (cp1252 mark characters)."""
    mapped = "".join(_VNI_LETTERS.get(ch, ch) for ch in unicodedata.normalize("NFC", text))
    return mapped.encode("cp1252")


def decode_tcvn3(data: bytes) -> str:
    """TCVN3 bytes to Unicode (capitals drawn by an upper-case font come back lower-case)."""
    return data.decode("latin-1").translate(_TCVN3_DECODE)


def decode_vni(data: bytes) -> str:
    """VNI Windows bytes to Unicode."""
    text = data.decode("cp1252", errors="replace")
    return _VNI_DECODE_RE.sub(lambda m: _VNI_DECODE[m.group(0)], text)


def encode_cp1258(text: str) -> bytes:
    """Encode Unicode Vietnamese as Windows-1258 the way Vietnamese keyboards type it: the
    letter (with its hat, breve or horn) and then a combining tone mark (to build test files)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in TONE_MARKS)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        out += (base + tones).encode("cp1258")
    return bytes(out)


# --- VISCII (RFC 1456) ------------------------------------------------------------------------
# The 134 Vietnamese letters on one byte each: Latin-1 where Latin-1 has the letter, and these
# 103 codes (6 of them control codes) for the others.
_VISCII_CODES = bytes.fromhex(
    "02050614191e808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4"
    "a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc4c5c6c7cbcecfd0d1d5d6d7d8dbdcde"
    "dfe4e5e6e7ebeeeff0f1f6f7f8fbfcfeff"
)
_VISCII_LETTERS = (
    "ẲẴẪỶỸỴẠẮẰẶẤẦẨẬẼẸẾỀỂỄỆỐỒỔỖỘỢỚỜỞỊỎỌỈỦŨỤỲÕắằặấầẩậẽẹếềểễệốồổỗỠƠộờởịỰỨỪỬơớƯẢĂẳẵẺĨỳĐứạỷừửỹỵỡ"
    "ưảăữẫẻĩỉđựỏọụũủợỮ"
)
_VISCII_DECODE = dict(zip(_VISCII_CODES, _VISCII_LETTERS))
_VISCII_ENCODE = {ch: code for code, ch in _VISCII_DECODE.items()}


def decode_viscii(data: bytes) -> str:
    """VISCII bytes to Unicode."""
    return data.decode("latin-1").translate(_VISCII_DECODE)


def encode_viscii(text: str) -> bytes:
    """Encode Unicode Vietnamese as VISCII bytes (to build test files)."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        code = _VISCII_ENCODE.get(ch)
        out += bytes([code]) if code is not None else ch.encode("latin-1")
    return bytes(out)


# --- Vietnamese syllable shape ----------------------------------------------------------------
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
    r"(?:uyê|uya|uây|oai|oay|oao|oeo|yêu|iêu|ươi|ươu|uôi|"
    r"ia|iê|ya|yê|ua|uô|ưa|ươ|oa|oă|oe|uâ|uê|uy|uơ|"
    r"ai|ao|au|ay|âu|ây|eo|êu|iu|oi|ôi|ơi|ui|ưi|ưu|"
    r"[aăâeêioôơuưy])"
    r"(?:ch|ng|nh|[cmnpt])?"
)
_WORD_RE = re.compile(r"[^\s\d.,;:!?()\[\]\"'“”‘’/\\|<>{}=+*&%$#@^~`_–—-]+")


@functools.lru_cache(maxsize=1 << 16)  # words repeat: each table's decoding is checked
def is_vietnamese_syllable(word: str) -> bool:
    """True if ``word`` is shaped like one Vietnamese syllable with at most one tone mark."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    tones = sum(decomposed.count(t) for t in TONE_MARKS)
    if tones > 1:
        return False
    base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
    return _SYLLABLE_RE.fullmatch(base) is not None


def _syllable_share(text: str) -> tuple[int, int]:
    """(words with non-ASCII letters that are syllables, words with non-ASCII letters)."""
    good = total = 0
    for word in _WORD_RE.findall(text):
        if word.isascii():
            continue
        total += 1
        good += is_vietnamese_syllable(word)
    return good, total


_LEGACY = (
    ("TCVN3 (ABC)", decode_tcvn3),
    ("VNI Windows", decode_vni),
    ("VISCII", decode_viscii),
    ("Windows-1258", lambda data: unicodedata.normalize(
        "NFC", data.decode("cp1258", errors="replace"))),
)
_LEGACY_DECODERS = dict(_LEGACY)
#: Short names recorded in ``Document.encoding_source``.
LEGACY_IDS = {"TCVN3 (ABC)": "tcvn3", "VNI Windows": "vni", "VISCII": "viscii",
              "Windows-1258": "cp1258"}  # fmt: skip


def detect_legacy_encoding(data: bytes, *, min_share: float = 0.6) -> str | None:
    """Name of the legacy Vietnamese encoding ``data`` is most likely in, or None.

    Call it only on bytes that are not valid UTF-8. Each table is tried; the one under which
    most accented words are real syllables wins, if at least ``min_share`` of them are.
    """
    sample = data[:65536]
    best_name, best_share = None, 0.0
    for name, decode in _LEGACY:
        good, total = _syllable_share(decode(sample))
        if total and good / total > best_share:
            best_name, best_share = name, good / total
    return best_name if best_share >= min_share else None


# --- Legacy text that was re-saved as UTF-8 (valid UTF-8, wrong letters) ----------------------
# Letters only Vietnamese uses (â ê ô and the plain accents are in Latin-1 too, so they prove
# nothing); a real Vietnamese text of any length is full of them.
_VIETNAMESE_ONLY_RE = re.compile("[ăđơưĂĐƠƯ\u1ea0-\u1ef9]")
_LATIN1_ACCENTS_RE = re.compile(
    "[\u00a0-\u00ff\u2013-\u2122\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc]"
)
_MIN_ACCENTED_WORDS = 10


_MOJIBAKE_REASON = "UTF-8 text decoded as Windows-1252 and saved again"


def detect_misdecoded(text: str) -> str | None:
    """What happened to Unicode text that reads as gibberish Vietnamese, or None.

    Two common accidents: a TCVN3/VNI file opened as Windows-1252 and saved as UTF-8
    ("ViÖt Nam"), and UTF-8 read as Windows-1252 and saved again ("Viá»‡t Nam"). Flagged only
    when at least 10 accented words are mostly *not* Vietnamese syllables as they stand and
    mostly *are* once the accident is undone, so real Vietnamese or French text is never hit.
    """
    sample = text[:16384]
    if _VIETNAMESE_ONLY_RE.search(sample) or len(_LATIN1_ACCENTS_RE.findall(sample, 0, 4096)) < 5:
        return None  # real Vietnamese letters (neither accident produces them), or plain ASCII
    good, total = _syllable_share(sample)
    if total < _MIN_ACCENTED_WORDS or good / total >= 0.3:
        return None
    data = _as_cp1252(sample)
    repaired = data.decode("utf-8", errors="replace")
    good, total = _syllable_share(repaired)
    if total and good / total >= 0.6 and _VIETNAMESE_ONLY_RE.search(repaired):
        return _MOJIBAKE_REASON
    legacy = detect_legacy_encoding(data)
    return f"{legacy} text saved as UTF-8" if legacy else None


def _as_cp1252(text: str) -> bytes:
    """The bytes a Windows-1252 editor read ``text`` from (its 5 unused bytes as Latin-1)."""
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        out = bytearray()
        for ch in text:
            try:
                out += ch.encode("cp1252")
            except UnicodeEncodeError:
                out += ch.encode("latin-1") if ord(ch) < 256 else b"?"
        return bytes(out)


# --- Decoding ---------------------------------------------------------------------------------
def sniff_encoding(head: bytes) -> str:
    """Codec for a file that starts with ``head``: 'utf-8-sig', 'utf-16' (BOM) or 'utf-8'.

    Raises DecodeError(binary=True) for NUL bytes without a UTF-16 BOM.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00
        raise DecodeError("UTF-32 text: save as UTF-8 or UTF-16 with BOM")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        if _looks_like_bomless_utf16(head):
            raise DecodeError("UTF-16 without a byte-order mark: save as UTF-8 or UTF-16 with BOM")
        raise DecodeError("binary file (NUL bytes)", binary=True)
    return "utf-8"


def _looks_like_bomless_utf16(head: bytes) -> bool:
    even, odd = head[0::2], head[1::2]
    n = min(len(even), len(odd))
    if n < 4:
        return False
    return (
        odd[:n].count(0) > 0.4 * n
        and even[:n].count(0) < 0.05 * n
        or (even[:n].count(0) > 0.4 * n and odd[:n].count(0) < 0.05 * n)
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """``(text, encoding_source)`` for a whole text file: UTF-8 or UTF-16 text as it is
    (source ''); text in a legacy Vietnamese encoding converted to Unicode NFC (source
    'tcvn3', 'vni', 'viscii' or 'cp1258'); the usual accidents repaired (see
    :func:`repair_misdecoded`). Raises DecodeError for bytes that are none of these."""
    codec = sniff_encoding(data[:SNIFF_SIZE])
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as err:
        legacy = None if codec.startswith("utf-16") else detect_legacy_encoding(data)
        if legacy is None:
            raise DecodeError(undecodable_reason(data, err, codec)) from None
        converted = unicodedata.normalize("NFC", _LEGACY_DECODERS[legacy](data))
        return converted, LEGACY_IDS[legacy]
    return repair_misdecoded(text) or (text, "")


#: ``encoding_source`` of UTF-8 text that was read as Windows-1252 and saved again.
MOJIBAKE = "mojibake"


def repair_misdecoded(text: str) -> tuple[str, str] | None:
    """``(repaired text, encoding_source)`` for Unicode text that one of the accidents of
    :func:`detect_misdecoded` turned to gibberish, else None. UTF-8 read as Windows-1252
    ("Há»™i nghá»‹") is undone by ftfy; TCVN3/VNI text saved as UTF-8 ("ViÖt Nam") is read
    back through its table."""
    accident = detect_misdecoded(text)
    if accident is None:
        return None
    if accident == _MOJIBAKE_REASON:
        import ftfy  # only for text that needs it

        fixed = ftfy.fix_encoding(text)
        if detect_misdecoded(fixed):  # ftfy declined: undo the round trip ourselves
            fixed = _as_cp1252(text).decode("utf-8", errors="replace")
        return unicodedata.normalize("NFC", fixed), MOJIBAKE
    legacy = accident.removesuffix(" text saved as UTF-8")
    return unicodedata.normalize("NFC", _LEGACY_DECODERS[legacy](_as_cp1252(text))), LEGACY_IDS[
        legacy
    ]


def decode_bytes(data: bytes) -> str:
    """Whole-file decoding with the reasons users need when it fails (see DecodeError)."""
    codec = sniff_encoding(data[:SNIFF_SIZE])
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        raise DecodeError(undecodable_reason(data, err, codec)) from None


def undecodable_reason(data: bytes, err: UnicodeDecodeError, codec: str = "utf-8") -> str:
    """One-line reason for bytes that failed to decode: the legacy encoding if recognised."""
    if codec.startswith("utf-16"):
        return f"invalid UTF-16 at byte {err.start}"
    legacy = detect_legacy_encoding(data)
    if legacy:
        return f"{legacy} encoding: convert to UTF-8"
    return f"not UTF-8 or UTF-16 text (invalid byte 0x{data[err.start]:02X} at offset {err.start})"
