"""The words and patterns a satisfaction reply is read by (cases/services/satisfaction.py runs
them in the order its rule table gives): phrases that never signal, negative, neutral and
positive rating words in Chinese and English, the scores and stars, the five-level scale a word
stands for, and the courtesy, salutation and sign-off lines around an answer. Adding a word is
adding it here."""

from __future__ import annotations

import re

from cases.domain.enums import Satisfaction


def words(*words: str) -> str:
    """Alternation of literal words, longest first, English ones bounded by \\b."""
    parts = []
    for word in sorted(words, key=len, reverse=True):
        escaped = re.escape(word).replace(r"\ ", r"\s+")
        # ASCII-letter bounds, not \b: "ok收到" has no \b between k and 收.
        parts.append(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])" if word.isascii() else escaped)
    return "|".join(parts)


# Never signals; masked first. Includes the request's own wording quoted back to us.
IGNORE = re.compile(
    words(
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
EN_NEGATION = (
    r"\b(?:not|never|no\s+longer|isn't|aren't|wasn't|weren't|don't|didn't|doesn't)"
    r"(?:\s+(?:very|really|so|too|quite|that|completely|fully|entirely|all|feel|be|been))*"
    r"\s+(?:satisfied|happy|pleased|good|great|excellent|ok|okay)\b"
)

BAD = r"(?<![A-Za-z])(?<!not\s)(?<!not\stoo\s)(?<!not\sso\s)(?<!not\sthat\s)bad(?![A-Za-z])"
NEGATIVE = re.compile(
    EN_NEGATION
    + "|"
    + BAD
    + "|"
    + words(
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
NEUTRAL = re.compile(
    words(
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
POSITIVE = re.compile(
    words(
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

CN_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
NUMBER = r"(\d{1,3}(?:\.\d+)?)"
# 分 is also 分钟 (minutes), 分析 (analysis), 分公司 ...; a digit after 点/时/: is a clock time.
SCORE_POINTS = re.compile(r"(?<![\d.:点时])" + NUMBER + r"\s*分(?!钟|析|别|享|类|配|开|批|公司|厂|期|之|数)")
SCORE_FRACTION = re.compile(r"(?<![\d./-])" + NUMBER + r"\s*/\s*5(?![\d/.])")
SCORE_LABEL = re.compile(
    r"(?:(?<![A-Za-z])(?:score|rating|rate)|评分|打分|分数|得分)\s*(?:is|of|[:=])?\s*"
    + NUMBER
    + r"(?:\s*/\s*5(?![\d/.]))?",
    re.IGNORECASE,
)
SCORE_STARS_WORD = re.compile(
    r"(?<![\d.])" + r"(\d{1,2}|[一二两三四五六七八九十])\s*(?:颗星|星|stars?\b)", re.IGNORECASE
)
STAR_RUN = re.compile(r"[★☆⭐]+")
FILLED = frozenset("★⭐")
COURTESY_RESIDUE = re.compile(r"[\s\W_]+")
SALUTATION = re.compile(
    r"^(?:(?:尊敬的|亲爱的).*|(?:dear|hi|hello|hey)\b.*|.{0,20}(?:您好|你好)|.{1,20}[:,])[\s!?.。:,~]*$",
    re.IGNORECASE,
)


COURTESY = re.compile(
    words(
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
SIGN_OFF = re.compile(
    r"^(?:--\s*|(?:best|kind|warm)?\s*regards\b.*|best\b.*|cheers\b.*|sincerely\b.*|yours\b.*|此致.*|祝好.*|"
    r"顺祝.*|祝商祺.*|sent from\b.*|发自.*)$",
    re.IGNORECASE,
)
