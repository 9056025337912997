"""Read a customer's answer to a satisfaction request (满意度确认, procedure 6.3.6).

The input is the *new* text only: the intake adapter has already cut the quotation
(``在…写道：``, ``-----原始邮件-----``, ``On … wrote:``, ``>`` lines). The answer is only
counted in the statistics when it is clear; anything doubtful is marked ``ambiguous`` and
goes to a person (intake-rules.md, "Satisfaction replies").

How the text is read:

1. NFKC normalisation (full-width ``５``/``３分``/``：`` become ``5``/``3分``/``:``), curly
   apostrophes become ``'``, emoji variation selectors are dropped; only the first
   ``MAX_SCAN`` (500) characters are read.
2. The rule tables (their words in `satisfaction_words.py`) run in order, each masking what it
   matched so that a later table cannot match inside it: phrases to ignore (``满意度``, ``是否满意``, ``good morning``,
   courtesy words), then NEGATIVE words, then NEUTRAL, then POSITIVE. This is how
   ``不满意`` is seen before the ``满意`` inside it (and ``不是很满意`` before ``很满意``).
3. Scores: ``3分`` (not ``3分钟``, not a clock time ``10点30分``), ``4/5``, ``score: 4``,
   ``评分4``, ``5星``/``五星``, star runs (``★★★☆☆`` counts the filled stars, ``⭐`` counts as
   filled), and a lone number: a line that holds nothing but a number once rating words and
   courtesy words are removed (``5``, ``５！``, ``5 谢谢``). A decimal or out-of-range score
   (0, 6, 10, 4.5) is a doubtful signal. 4-5 = satisfied, 3 = neutral, 1-2 = unsatisfied.
   Every rating has a score: a word maps to the five-level scale (``w.WORD_SCORES``: 非常满意 5,
   满意 4, 一般 3, 不满意 2, 非常不满意 1, and their English equivalents); a score or stars
   the customer gave win over the word's (``5分，满意`` is 5), as long as both say the same
   rating.
4. Which signals decide:

   * Salutation lines without a signal (``王经理：``, ``您好！``, ``Dear Ms. Li,``) are skipped;
     the next non-empty line is the *lead line*.
   * If the lead line holds a signal, the lead line is the answer and later *words* are
     treated as explanation ("不满意\\n上次满意，这次又漏油" is unsatisfied); a later *score*
     still has to agree ("满意\\n1分" is ambiguous). If the lead signal starts after
     ``LONG_TEXT`` (200) characters it is buried in a long first paragraph: ambiguous.
   * Otherwise all signals in the scanned text count; if the text is longer than
     ``LONG_TEXT`` characters a keyword outside the lead line may belong to the story of the
     complaint rather than be a rating: ambiguous.
   * Signals that disagree (``满意 1分``; ``不满意`` and a separate ``非常满意``; two different
     scores) or any doubtful score: ambiguous.

A text that is nothing but courtesy (``谢谢``, ``收到``, ``thanks``) is no answer, and is
marked ``courtesy``: a thank-you on a closed case joins it without reopening it.

Invariant: ``ambiguous`` implies ``rating is None`` and ``score is None``; ``matched`` then
lists every signal found (``"满意 / 1分"``) for the person who decides. No signal at all gives
``rating=None, ambiguous=False``. ``NO_RESPONSE`` is never produced here; it comes from the
reminder timer. Out-of-office replies must be filtered before this is called.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from cases.domain.enums import Satisfaction
from cases.services import satisfaction_words as w

MAX_SCAN = 500
LONG_TEXT = 200


@dataclass(frozen=True, slots=True)
class SatisfactionAnswer:
    rating: Satisfaction | None  # None = not an answer we can count
    score: int | None  # 1..5 when the customer gave a score (or stars), else None
    ambiguous: bool  # conflicting or unclear signals: a person decides
    matched: str  # the word/score that decided, for the case history
    courtesy: bool = False  # nothing but thanks / received: no answer, and no new request either


@dataclass(frozen=True, slots=True)
class _Signal:
    start: int
    matched: str
    rating: Satisfaction | None  # None = doubtful (score out of range)
    score: int | None = None
    is_score: bool = False  # from a score rule, even when the score was out of range
    word_score: int | None = None  # the score a rating word stands for (w.WORD_SCORES)


def _score_signal(start: int, matched: str, number: str) -> _Signal:
    if number in w.CN_DIGITS:
        value = float(w.CN_DIGITS[number])
    else:
        value = float(number)
    if value.is_integer() and 1 <= value <= 5:
        return _Signal(start, matched, _rating_for_score(int(value)), int(value), True)
    return _Signal(start, matched, None, None, True)


def _rating_for_score(score: int) -> Satisfaction:
    if score >= 4:
        return Satisfaction.SATISFIED
    return Satisfaction.NEUTRAL if score == 3 else Satisfaction.UNSATISFIED


def _stars(start: int, run: str) -> _Signal:
    filled = sum(1 for ch in run if ch in w.FILLED)
    return _score_signal(start, run, str(filled))


_Maker = Callable[[re.Match[str]], _Signal | None]


def _ignored(match: re.Match[str]) -> None:
    return None


def word_score(word: str, rating: Satisfaction) -> int:
    """The score a rating word stands for (w.WORD_SCORES, else the rating's own)."""
    key = " ".join(word.lower().split())
    return w.WORD_SCORES.get(key, w.RATING_SCORES[rating])


def _word(rating: Satisfaction) -> _Maker:
    return lambda m: _Signal(m.start(), m.group(), rating, word_score=word_score(m.group(), rating))


def _score(match: re.Match[str]) -> _Signal:
    return _score_signal(match.start(), match.group(), match.group(1))


def _star_run(match: re.Match[str]) -> _Signal:
    return _stars(match.start(), match.group())


# The rule table. Order matters: each rule masks what it matched from the later ones.
_RULES: tuple[tuple[str, re.Pattern[str], _Maker], ...] = (
    ("ignore", w.IGNORE, _ignored),
    ("negative", w.NEGATIVE, _word(Satisfaction.UNSATISFIED)),
    ("neutral", w.NEUTRAL, _word(Satisfaction.NEUTRAL)),
    ("positive", w.POSITIVE, _word(Satisfaction.SATISFIED)),
    ("score_label", w.SCORE_LABEL, _score),
    ("score_points", w.SCORE_POINTS, _score),
    ("score_fraction", w.SCORE_FRACTION, _score),
    ("score_stars", w.SCORE_STARS_WORD, _score),
    ("star_run", w.STAR_RUN, _star_run),
)


def normalise(text: str) -> str:
    """NFKC plus the few characters NFKC leaves alone but customers type."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("\ufe0f", "").replace("\r\n", "\n")
    return text[:MAX_SCAN]


def _find_signals(text: str) -> tuple[list[_Signal], str]:
    """All signals, by position, and the text with every match masked by spaces."""
    signals: list[_Signal] = []
    masked = text
    for _name, pattern, make in _RULES:
        for match in pattern.finditer(masked):
            signal = make(match)
            if signal is not None:
                signals.append(signal)
            # Keep newlines: line offsets of `masked` must stay those of `text`.
            blank = re.sub(r"[^\n]", " ", match.group())
            masked = masked[: match.start()] + blank + masked[match.end() :]
    return signals, masked


def _lone_numbers(text: str, masked: str) -> list[_Signal]:
    """A line that is nothing but a number once words, courtesy and punctuation are gone."""
    found = []
    offset = 0
    for line, masked_line in zip(text.split("\n"), masked.split("\n"), strict=True):
        residue = w.COURTESY_RESIDUE.sub("", masked_line)
        if residue.isdigit() and len(residue) <= 3:
            match = re.search(r"\d+", masked_line)
            assert match is not None
            found.append(_score_signal(offset + match.start(), residue, residue))
        offset += len(line) + 1
    return found


def _matched(signals: list[_Signal]) -> str:
    return " / ".join(dict.fromkeys(s.matched.strip() for s in signals))


def _decide(signals: list[_Signal]) -> SatisfactionAnswer:
    matched = _matched(signals)
    ratings = {s.rating for s in signals}
    scores = {s.score for s in signals if s.score is not None}
    if None in ratings or len(ratings) > 1 or len(scores) > 1:
        return _ambiguous(matched)
    (rating,) = ratings
    if scores:
        return SatisfactionAnswer(rating, scores.pop(), False, matched)
    # Words only: the first word's score (非常满意 5, 满意 4, ...).
    first = next(s.word_score for s in signals if s.word_score is not None)
    return SatisfactionAnswer(rating, first, False, matched)


def _ambiguous(matched: str) -> SatisfactionAnswer:
    return SatisfactionAnswer(None, None, True, matched)


def _lead_line(text: str, signals: list[_Signal]) -> tuple[int, int] | None:
    """Span of the first non-empty line that is not a salutation without a signal."""
    offset = 0
    for line in text.split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        stripped = line.strip()
        if not stripped:
            continue
        if any(start <= s.start < end for s in signals) or not w.SALUTATION.match(stripped):
            return start, end
    return None


def _only_courtesy(text: str) -> bool:
    """Thanks, received, noted and nothing else (greetings and a signature aside)."""
    found = False
    for line in text.split("\n"):
        stripped = line.strip()
        if w.SIGN_OFF.match(stripped):
            break
        rest, count = w.COURTESY.subn("", stripped)
        found = found or count > 0
        rest = w.COURTESY_RESIDUE.sub("", w.IGNORE.sub("", rest))
        if rest and not (count == 0 and w.SALUTATION.match(stripped)):
            return False
    return found


def is_courtesy(text: str) -> bool:
    """A bare courtesy reply (谢谢, 收到, thanks): joins a closed case without reopening it."""
    return parse_satisfaction(text).courtesy


def parse_satisfaction(text: str) -> SatisfactionAnswer:
    """Parse the new text of a reply to a satisfaction request; see the module docstring."""
    text = normalise(text)
    signals, masked = _find_signals(text)
    signals.extend(_lone_numbers(text, masked))
    signals.sort(key=lambda s: s.start)
    if not signals:
        return SatisfactionAnswer(None, None, False, "", courtesy=_only_courtesy(text))

    span = _lead_line(text, signals)
    lead = [s for s in signals if span is not None and span[0] <= s.start < span[1]]
    if span is not None and lead:
        if lead[0].start > LONG_TEXT:
            return _ambiguous(_matched(lead))
        # Later words are explanation; a later score is still part of the answer.
        return _decide(lead + [s for s in signals if s.is_score and s.start >= span[1]])
    answer = _decide(signals)
    if len(text.strip()) > LONG_TEXT and not answer.ambiguous:
        return _ambiguous(answer.matched)
    return answer
