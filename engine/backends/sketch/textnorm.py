"""Script text as the aligner needs it: lower-case dictionary words, numbers spelled out.

A line of dialogue is written for actors ("It's 9:30, Dr. Lee - 42% done!"); the phone
aligner wants the words as spoken. Punctuation is dropped but remembered as a pause
after the word (a good place to cut long audio), digits become words, accents are
folded to ASCII, and anything left without a letter is skipped. Words the pronouncing
dictionary lacks get a rough letter-to-sound spelling so one odd name does not lose the
alignment of the whole line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
_SYMBOLS = {"&": " and ", "%": " percent ", "+": " plus ", "@": " at ", "=": " equals ", "$": " dollars "}
_ABBREVIATIONS = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miz", "st": "saint", "vs": "versus",
                  "etc": "etcetera", "ok": "okay"}
_PAUSE = re.compile(r"[.,;:!?\u2026\u2014\u2013()\[\]\"]|\s-\s")
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)*|\d+")


@dataclass(frozen=True)
class Word:
    """One spoken word of the script; ``pause_after`` marks punctuation after it."""

    text: str
    pause_after: bool = False


def number_words(n: int) -> list[str]:
    """``42`` -> ``["forty", "two"]`` (cardinal numbers, as a reader would say them)."""
    if n < 20:
        return [_ONES[n]]
    if n < 100:
        return [_TENS[n // 10]] + ([_ONES[n % 10]] if n % 10 else [])
    for value, name in _SCALES:
        if n >= value:
            rest = n % value
            return number_words(n // value) + [name] + (number_words(rest) if rest else [])
    return [str(n)]  # pragma: no cover - every n >= 0 is handled above


def _spoken_number(digits: str) -> list[str]:
    n = int(digits)
    if len(digits) == 4 and 1100 <= n <= 2099 and n % 100 and not 2000 <= n <= 2009:
        return number_words(n // 100) + (["oh"] if n % 100 < 10 else []) + number_words(n % 100)  # a year
    if len(digits) > 12:
        return [w for d in digits for w in number_words(int(d))]
    return number_words(n)


def script_words(text: str) -> list[Word]:
    """The words of a line in the order spoken, ready for the pronouncing dictionary."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = folded.replace("\u2019", "'").lower()
    for symbol, spoken in _SYMBOLS.items():
        folded = folded.replace(symbol, spoken)
    folded = re.sub(r"(\d)[:.,](\d)", r"\1 \2", folded)  # 9:30, 3.5, 1,000 are read on
    words: list[Word] = []
    pos = 0
    after_abbreviation = False
    for match in _TOKEN.finditer(folded):
        if words and not after_abbreviation and _PAUSE.search(folded[pos:match.start()]):
            words[-1] = Word(words[-1].text, True)
        token = match.group(0)
        after_abbreviation = token in _ABBREVIATIONS and folded[match.end():match.end() + 1] == "."
        spoken = _spoken_number(token) if token.isdigit() else [_ABBREVIATIONS.get(token, token)]
        words.extend(Word(w) for w in spoken)
        pos = match.end()
    if words:
        words[-1] = Word(words[-1].text, True)
    return words


# Letter-to-sound rules, longest spelling first: crude, but close enough for lip shapes.
_RULES: tuple[tuple[str, str], ...] = (
    ("tch", "CH"), ("sch", "SH"), ("igh", "AY"), ("ough", "OW"), ("augh", "AO"),
    ("ch", "CH"), ("sh", "SH"), ("th", "TH"), ("ph", "F"), ("wh", "W"), ("ck", "K"), ("ng", "NG"),
    ("qu", "K W"), ("ee", "IY"), ("ea", "IY"), ("oo", "UW"), ("ou", "AW"), ("ow", "OW"), ("oi", "OY"),
    ("oy", "OY"), ("ai", "EY"), ("ay", "EY"), ("au", "AO"), ("aw", "AO"), ("ie", "IY"), ("ei", "EY"),
    ("ue", "UW"), ("ew", "UW"), ("kn", "N"), ("wr", "R"), ("gh", "G"),
    ("a", "AE"), ("b", "B"), ("c", "K"), ("d", "D"), ("e", "EH"), ("f", "F"), ("g", "G"), ("h", "HH"),
    ("i", "IH"), ("j", "JH"), ("k", "K"), ("l", "L"), ("m", "M"), ("n", "N"), ("o", "AA"), ("p", "P"),
    ("q", "K"), ("r", "R"), ("s", "S"), ("t", "T"), ("u", "AH"), ("v", "V"), ("w", "W"), ("x", "K S"),
    ("y", "Y"), ("z", "Z"),
)


def spell_phones(word: str) -> str:
    """A rough ARPAbet pronunciation of a word the dictionary lacks (space-separated phones)."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) > 3 and w.endswith("e") and w[-2] not in "aeiouy":
        w = w[:-1]  # silent final e
    phones: list[str] = []
    i = 0
    while i < len(w):
        for spelling, sound in _RULES:
            if w.startswith(spelling, i):
                if spelling == "y" and i > 0:
                    sound = "IY"  # a y after the first letter is a vowel
                for p in sound.split():
                    if not phones or phones[-1] != p:
                        phones.append(p)
                i += len(spelling)
                break
        else:  # pragma: no cover - w holds letters a-z only
            i += 1
    return " ".join(phones) or "AH"


__all__ = ["Word", "number_words", "script_words", "spell_phones"]
