"""Read a customer's answer to a satisfaction request (满意度确认, procedure 6.3.6).

The input is the *new* text only: the intake adapter has already cut the quotation
(``在…写道：``, ``-----原始邮件-----``, ``On … wrote:``, ``>`` lines). The answer is only
counted in the statistics when it is clear; anything doubtful is marked ``ambiguous`` and
goes to a person (intake-rules.md, "Satisfaction replies").

How the text is read:

1. NFKC normalisation (full-width ``５``/``３分``/``：`` become ``5``/``3分``/``:``), curly
   apostrophes become ``'``, emoji variation selectors are dropped; only the first
   ``MAX_SCAN`` (500) characters are read.
2. The rule tables below run in order, each masking what it matched so that a later table
   cannot match inside it: phrases to ignore (``满意度``, ``是否满意``, ``good morning``,
   courtesy words), then NEGATIVE words, then NEUTRAL, then POSITIVE. This is how
   ``不满意`` is seen before the ``满意`` inside it (and ``不是很满意`` before ``很满意``).
3. Scores: ``3分`` (not ``3分钟``, not a clock time ``10点30分``), ``4/5``, ``score: 4``,
   ``评分4``, ``5星``/``五星``, star runs (``★★★☆☆`` counts the filled stars, ``⭐`` counts as
   filled), and a lone number: a line that holds nothing but a number once rating words and
   courtesy words are removed (``5``, ``５！``, ``5 谢谢``). A decimal or out-of-range score
   (0, 6, 10, 4.5) is a doubtful signal. 4-5 = satisfied, 3 = neutral, 1-2 = unsatisfied.
   Every rating has a score: a word maps to the five-level scale (``WORD_SCORES``: 非常满意 5,
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
    word_score: int | None = None  # the score a rating word stands for (WORD_SCORES)


def _words(*words: str) -> str:
    """Alternation of literal words, longest first, English ones bounded by \\b."""
    parts = []
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word).replace(r"\ ", r"\s+")
        # ASCII-letter bounds, not \b: "ok收到" has no \b between k and 收.
        parts.append(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])" if word.isascii() else escaped)
    return "|".join(parts)


# Never signals; masked first. Includes the request's own wording quoted back to us.
_IGNORE = re.compile(
    _words(
        "满意度",
        "是否满意",
        "满不满意",
        "满意与否",
        "满意吗",
        "满意么",
        "一般来说",
        "一般情况",
        "一般是",
        "一般都",
        "谢谢",
        "多谢",
        "感谢",
        "您好",
        "你好",
        "good morning",
        "good afternoon",
        "good evening",
        "good day",
        "good luck",
        "have a good",
        "have a great",
        "thanks",
        "thank you",
        "many thanks",
        "hi",
        "hello",
        "satisfaction",
    ),
    re.IGNORECASE,
)

# English negation of a positive word: "not very satisfied", "wasn't happy", "not good".
_EN_NEGATION = (
    r"\b(?:not|never|no\s+longer|isn't|aren't|wasn't|weren't|don't|didn't|doesn't)"
    r"(?:\s+(?:very|really|so|too|quite|that|completely|fully|entirely|all|feel|be|been))*"
    r"\s+(?:satisfied|happy|pleased|good|great|excellent|ok|okay)\b"
)

_BAD = r"(?<![A-Za-z])(?<!not\s)(?<!not\stoo\s)(?<!not\sso\s)(?<!not\sthat\s)bad(?![A-Za-z])"
_NEGATIVE = re.compile(
    _EN_NEGATION
    + "|"
    + _BAD
    + "|"
    + _words(
        "非常不满意",
        "很不满意",
        "十分不满意",
        "特别不满意",
        "极不满意",
        "very dissatisfied",
        "very unsatisfied",
        "extremely dissatisfied",
        "very unhappy",
        "very poor",
        "very bad",
        "不太满意",
        "不满意的",
        "不满意",
        "差评",
        "不是很满意",
        "不是太满意",
        "不是特别满意",
        "不是非常满意",
        "不怎么满意",
        "不大满意",
        "不够满意",
        "不算满意",
        "没有很满意",
        "谈不上满意",
        "说不上满意",
        "not satisfied",
        "unsatisfied",
        "dissatisfied",
        "not happy",
        "unhappy",
        "poor",
        "disappointed",
        "terrible",
    )
    + "|"
    + r"不满(?!足)",  # 尺寸不满足要求 (does not meet the requirement) is not a rating
    re.IGNORECASE,
)
# 基本满意 is the middle of the common five-level scale 非常满意/满意/基本满意/不满意/非常不满意.
_NEUTRAL = re.compile(
    _words(
        "一般般",
        "一般",
        "还行",
        "还可以",
        "中评",
        "基本满意",
        "ok",
        "okay",
        "average",
        "neutral",
        "so-so",
        "so so",
    ),
    re.IGNORECASE,
)
# 不错 / "not bad" read as approval, as Chinese customers use 不错 for "good".
_POSITIVE = re.compile(
    _words(
        "非常满意",
        "很满意",
        "十分满意",
        "特别满意",
        "满意的",
        "满意",
        "好评",
        "不错",
        "very satisfied",
        "extremely satisfied",
        "satisfied",
        "good",
        "great",
        "excellent",
        "happy",
        "pleased",
        "not bad",
        "not too bad",
        "not so bad",
        "not that bad",
    ),
    re.IGNORECASE,
)

# The five-level scale a rating word stands for; a word not named here scores as its rating
# does by default (RATING_SCORES). Keys are lower case, spaces collapsed.
WORD_SCORES: dict[str, int] = {
    "非常满意": 5,
    "很满意": 5,
    "十分满意": 5,
    "特别满意": 5,
    "very satisfied": 5,
    "extremely satisfied": 5,
    "excellent": 5,
    "非常不满意": 1,
    "很不满意": 1,
    "十分不满意": 1,
    "特别不满意": 1,
    "极不满意": 1,
    "very dissatisfied": 1,
    "very unsatisfied": 1,
    "extremely dissatisfied": 1,
    "very unhappy": 1,
    "very poor": 1,
    "very bad": 1,
    "terrible": 1,
}
RATING_SCORES: dict[Satisfaction, int] = {
    Satisfaction.SATISFIED: 4,  # 满意, satisfied, good, 不错 ...
    Satisfaction.NEUTRAL: 3,  # 一般, 还行, neutral, average, ok ...
    Satisfaction.UNSATISFIED: 2,  # 不满意, not satisfied, poor, 差评 ...
}

_CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_NUMBER = r"(\d{1,3}(?:\.\d+)?)"
# 分 is also 分钟 (minutes), 分析 (analysis), 分公司 ...; a digit after 点/时/: is a clock time.
_SCORE_POINTS = re.compile(r"(?<![\d.:点时])" + _NUMBER + r"\s*分(?!钟|析|别|享|类|配|开|批|公司|厂|期|之|数)")
_SCORE_FRACTION = re.compile(r"(?<![\d./-])" + _NUMBER + r"\s*/\s*5(?![\d/.])")
_SCORE_LABEL = re.compile(
    r"(?:(?<![A-Za-z])(?:score|rating|rate)|评分|打分|分数|得分)\s*(?:is|of|[:=])?\s*"
    + _NUMBER
    + r"(?:\s*/\s*5(?![\d/.]))?",
    re.IGNORECASE,
)
_SCORE_STARS_WORD = re.compile(
    r"(?<![\d.])" + r"(\d{1,2}|[一二两三四五六七八九十])\s*(?:颗星|星|stars?\b)", re.IGNORECASE
)
_STAR_RUN = re.compile(r"[★☆⭐]+")
_FILLED = frozenset("★⭐")
_COURTESY_RESIDUE = re.compile(r"[\s\W_]+")
_SALUTATION = re.compile(
    r"^(?:(?:尊敬的|亲爱的).*|(?:dear|hi|hello|hey)\b.*|.{0,20}(?:您好|你好)|.{1,20}[:,])[\s!?.。:,~]*$",
    re.IGNORECASE,
)


def _score_signal(start: int, matched: str, number: str) -> _Signal:
    if number in _CN_DIGITS:
        value = float(_CN_DIGITS[number])
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
    filled = sum(1 for ch in run if ch in _FILLED)
    return _score_signal(start, run, str(filled))


_Maker = Callable[[re.Match[str]], _Signal | None]


def _ignored(match: re.Match[str]) -> None:
    return None


def word_score(word: str, rating: Satisfaction) -> int:
    """The score a rating word stands for (WORD_SCORES, else the rating's own)."""
    key = " ".join(word.lower().split())
    return WORD_SCORES.get(key, RATING_SCORES[rating])


def _word(rating: Satisfaction) -> _Maker:
    return lambda m: _Signal(m.start(), m.group(), rating, word_score=word_score(m.group(), rating))


def _score(match: re.Match[str]) -> _Signal:
    return _score_signal(match.start(), match.group(), match.group(1))


def _star_run(match: re.Match[str]) -> _Signal:
    return _stars(match.start(), match.group())


# The rule table. Order matters: each rule masks what it matched from the later ones.
_RULES: tuple[tuple[str, re.Pattern[str], _Maker], ...] = (
    ("ignore", _IGNORE, _ignored),
    ("negative", _NEGATIVE, _word(Satisfaction.UNSATISFIED)),
    ("neutral", _NEUTRAL, _word(Satisfaction.NEUTRAL)),
    ("positive", _POSITIVE, _word(Satisfaction.SATISFIED)),
    ("score_label", _SCORE_LABEL, _score),
    ("score_points", _SCORE_POINTS, _score),
    ("score_fraction", _SCORE_FRACTION, _score),
    ("score_stars", _SCORE_STARS_WORD, _score),
    ("star_run", _STAR_RUN, _star_run),
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
        residue = _COURTESY_RESIDUE.sub("", masked_line)
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
        if any(start <= s.start < end for s in signals) or not _SALUTATION.match(stripped):
            return start, end
    return None


_COURTESY = re.compile(
    _words(
        "谢谢",
        "谢谢你",
        "谢谢您",
        "多谢",
        "感谢",
        "非常感谢",
        "谢了",
        "收到",
        "好的",
        "知道了",
        "辛苦了",
        "thanks",
        "thank you",
        "many thanks",
        "thanks a lot",
        "thx",
        "received",
        "noted",
        "well received",
        "got it",
    ),
    re.IGNORECASE,
)
# A signature starts here: nothing after such a line is part of the answer.
_SIGN_OFF = re.compile(
    r"^(?:--\s*|(?:best|kind|warm)?\s*regards\b.*|best\b.*|cheers\b.*|sincerely\b.*|yours\b.*|此致.*|祝好.*|"
    r"顺祝.*|祝商祺.*|sent from\b.*|发自.*)$",
    re.IGNORECASE,
)


def _only_courtesy(text: str) -> bool:
    """Thanks, received, noted and nothing else (greetings and a signature aside)."""
    found = False
    for line in text.split("\n"):
        stripped = line.strip()
        if _SIGN_OFF.match(stripped):
            break
        rest, count = _COURTESY.subn("", stripped)
        found = found or count > 0
        rest = _COURTESY_RESIDUE.sub("", _IGNORE.sub("", rest))
        if rest and not (count == 0 and _SALUTATION.match(stripped)):
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
