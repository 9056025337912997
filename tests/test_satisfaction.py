"""Unit tests for reading answers to a satisfaction request (cases/services/satisfaction.py)."""

from __future__ import annotations

import pytest

from cases.domain.enums import Satisfaction
from cases.services.satisfaction import SatisfactionAnswer, parse_satisfaction

S = Satisfaction.SATISFIED
N = Satisfaction.NEUTRAL
U = Satisfaction.UNSATISFIED

CLEAR_WORDS = [
    # Chinese: negative words are found before the 满意 inside them
    ("不满意", U, 2, "不满意"),
    ("非常不满意", U, 1, "非常不满意"),
    ("很不满意！", U, 1, "很不满意"),
    ("不太满意", U, 2, "不太满意"),
    ("不是很满意", U, 2, "不是很满意"),
    ("不怎么满意，还是有异响", U, 2, "不怎么满意"),
    ("不满", U, 2, "不满"),
    ("差评", U, 2, "差评"),
    ("不满意的", U, 2, "不满意的"),
    ("我不满意，问题还在", U, 2, "不满意"),
    ("一般", N, 3, "一般"),
    ("一般吧", N, 3, "一般"),
    ("一般般", N, 3, "一般般"),
    ("还行", N, 3, "还行"),
    ("还可以吧", N, 3, "还可以"),
    ("中评", N, 3, "中评"),
    ("基本满意", N, 3, "基本满意"),
    ("满意", S, 4, "满意"),
    ("满意的", S, 4, "满意的"),
    ("很满意", S, 5, "很满意"),
    ("非常满意，谢谢！", S, 5, "非常满意"),
    ("非常满意，谢谢您们的及时处理。", S, 5, "非常满意"),
    ("好评", S, 4, "好评"),
    ("十分满意", S, 5, "十分满意"),
    ("还不错", S, 4, "不错"),
    # English, any case; negation of a positive word is negative
    ("not satisfied", U, 2, "not satisfied"),
    ("Not satisfied.", U, 2, "Not satisfied"),
    ("I'm not very satisfied with the result", U, 2, "not very satisfied"),
    ("I wasn\u2019t happy with the result", U, 2, "wasn't happy"),
    ("Unsatisfied", U, 2, "Unsatisfied"),
    ("dissatisfied", U, 2, "dissatisfied"),
    ("not happy", U, 2, "not happy"),
    ("Poor", U, 2, "Poor"),
    ("bad", U, 2, "bad"),
    ("not good", U, 2, "not good"),
    ("OK", N, 3, "OK"),
    ("okay", N, 3, "okay"),
    ("average", N, 3, "average"),
    ("Neutral", N, 3, "Neutral"),
    ("so-so", N, 3, "so-so"),
    ("Satisfied, thanks", S, 4, "Satisfied"),
    ("Very satisfied!", S, 5, "Very satisfied"),
    ("good", S, 4, "good"),
    ("Great job", S, 4, "Great"),
    ("excellent", S, 5, "excellent"),
    ("happy", S, 4, "happy"),
    ("not bad", S, 4, "not bad"),
    # full-width letters are normalised
    ("ＯＫ", N, 3, "OK"),
]


@pytest.mark.parametrize(("text", "rating", "score", "matched"), CLEAR_WORDS)
def test_rating_words_give_a_countable_answer_with_their_score(
    text: str, rating: Satisfaction, score: int, matched: str
) -> None:
    assert parse_satisfaction(text) == SatisfactionAnswer(rating, score, False, matched)


SCORES = [
    ("5", 5, S, "5"),
    ("５", 5, S, "5"),
    ("4", 4, S, "4"),
    ("3", 3, N, "3"),
    ("2", 2, U, "2"),
    ("1", 1, U, "1"),
    ("5！", 5, S, "5"),
    ("5 谢谢", 5, S, "5"),
    ("5分", 5, S, "5分"),
    ("3分", 3, N, "3分"),
    ("3 分", 3, N, "3 分"),
    ("３分", 3, N, "3分"),
    ("打1分", 1, U, "1分"),
    ("4/5", 4, S, "4/5"),
    ("4 / 5", 4, S, "4 / 5"),
    ("score: 4", 4, S, "score: 4"),
    ("Score 2", 2, U, "Score 2"),
    ("Rating: 5/5", 5, S, "Rating: 5/5"),
    ("评分4", 4, S, "评分4"),
    ("评分：４", 4, S, "评分:4"),
    ("★★★★", 4, S, "★★★★"),
    ("★★★☆☆", 3, N, "★★★☆☆"),
    ("★", 1, U, "★"),
    ("⭐⭐⭐", 3, N, "⭐⭐⭐"),
    ("⭐️⭐️⭐️⭐️⭐️", 5, S, "⭐⭐⭐⭐⭐"),
    ("5星", 5, S, "5星"),
    ("2 stars", 2, U, "2 stars"),
    # a score and a word that agree
    ("五星好评", 5, S, "五星 / 好评"),
    ("5分，非常满意", 5, S, "5分 / 非常满意"),
    ("3分 一般", 3, N, "3分 / 一般"),
    ("1分，不满意", 1, U, "1分 / 不满意"),
    ("4 satisfied", 4, S, "4 / satisfied"),
]


@pytest.mark.parametrize(("text", "score", "rating", "matched"), SCORES)
def test_scores_and_stars_map_to_a_rating(text: str, score: int, rating: Satisfaction, matched: str) -> None:
    assert parse_satisfaction(text) == SatisfactionAnswer(rating, score, False, matched)


AMBIGUOUS = [
    ("满意 1分", "满意 / 1分"),
    ("满意\n1分", "满意 / 1分"),
    ("不满意，但是非常满意你们的态度", "不满意 / 非常满意"),
    ("满意，一般", "满意 / 一般"),
    ("3分 满意", "3分 / 满意"),
    ("4分还是5分吧", "4分 / 5分"),
    # out of range or not a whole score
    ("0", "0"),
    ("6", "6"),
    ("10", "10"),
    ("10分", "10分"),
    ("4.5分", "4.5分"),
    ("☆☆☆☆☆", "☆☆☆☆☆"),
    ("★★★★★★", "★★★★★★"),
    ("6/5", "6/5"),
]


@pytest.mark.parametrize(("text", "matched"), AMBIGUOUS)
def test_conflicting_or_doubtful_signals_go_to_a_person(text: str, matched: str) -> None:
    assert parse_satisfaction(text) == SatisfactionAnswer(None, None, True, matched)


NO_SIGNAL = [
    "",
    "   \n\n ",
    "您对处理结果是否满意？",
    "满意度",
    "尺寸不满足图纸要求",
    "3分钟后给您回电",
    "我们10点30分到现场",
    "1. 零件号 3501-00123\n2. 批次 B2026-1107",
    "一般来说这个问题需要8D报告",
    "Baden-Baden",
    "谢谢，但是刹车片还是有异响",
    "Thanks, but the noise is still there",
]


@pytest.mark.parametrize("text", NO_SIGNAL)
def test_text_without_a_rating_is_not_an_answer(text: str) -> None:
    assert parse_satisfaction(text) == SatisfactionAnswer(None, None, False, "")


LEAD_LINE = [
    # salutations are skipped; the lead line decides over later explanation
    ("王经理：\n不满意\n上次很满意，这次又漏油", U, "不满意"),
    ("尊敬的王经理您好：\n\n满意", S, "满意"),
    ("Dear Ms. Li,\nvery satisfied", S, "very satisfied"),
    ("Hi,\n\n5\n\nRegards", S, "5"),
    ("Good morning,\nI am not happy with the result.", U, "not happy"),
    ("满意\n之前不满意的地方已经解决了", S, "满意"),
    ("不满意\n" + "刹车片还是有异响，" * 40, U, "不满意"),
    # no signal on the lead line, but a short text: every line counts
    ("您好\n\n问题已经解决了\n满意", S, "满意"),
]


@pytest.mark.parametrize(("text", "rating", "matched"), LEAD_LINE)
def test_the_lead_line_is_the_answer(text: str, rating: Satisfaction, matched: str) -> None:
    answer = parse_satisfaction(text)
    assert (answer.rating, answer.ambiguous, answer.matched) == (rating, False, matched)


LONG_TEXTS = [
    # a keyword deep in a long complaint may be part of the story, not a rating
    "您好！\n\n" + "问题已经解决了。" * 30 + "\n满意",
    "x" * 250 + "满意",
    "关于上次的密封圈漏油问题，" + "我们做了详细的检查和记录，" * 20 + "总体满意",
]


@pytest.mark.parametrize("text", LONG_TEXTS)
def test_keyword_buried_in_a_long_text_is_ambiguous(text: str) -> None:
    answer = parse_satisfaction(text)
    assert answer.ambiguous and answer.rating is None and answer.score is None


FIVE_LEVELS = [
    # the five-level scale, Chinese and English
    ("非常满意", 5),
    ("满意", 4),
    ("一般", 3),
    ("不满意", 2),
    ("非常不满意", 1),
    ("very satisfied", 5),
    ("satisfied", 4),
    ("neutral", 3),
    ("dissatisfied", 2),
    ("very dissatisfied", 1),
    ("Very unsatisfied.", 1),
    # a score the customer gave wins over the word's, when both say the same rating
    ("5分，满意", 5),
    ("满意 4", 4),
    ("★★★★★ 满意", 5),
]


@pytest.mark.parametrize(("text", "score"), FIVE_LEVELS)
def test_every_rating_has_a_score(text: str, score: int) -> None:
    answer = parse_satisfaction(text)
    assert (answer.score, answer.ambiguous) == (score, False)


COURTESY = [
    "收到",
    "好的，收到，谢谢",
    "谢谢！",
    "非常感谢",
    "Good morning, thank you",
    "Received, thanks",
    "Thanks!\n\nBest regards,\nZhang Wei\nACME Trucks",
    "王经理：\n谢谢\n\n发自我的iPhone",
]


@pytest.mark.parametrize("text", COURTESY)
def test_a_bare_courtesy_reply_is_no_answer_but_marked_courtesy(text: str) -> None:
    assert parse_satisfaction(text) == SatisfactionAnswer(None, None, False, "", courtesy=True)


@pytest.mark.parametrize("text", ["满意，谢谢", "谢谢，但是刹车片还是有异响", "thanks, not satisfied", "问题已解决"])
def test_thanks_with_anything_else_is_not_a_bare_courtesy_reply(text: str) -> None:
    assert not parse_satisfaction(text).courtesy


def test_only_the_first_500_characters_are_read() -> None:
    assert parse_satisfaction("。" * 600 + "满意") == SatisfactionAnswer(None, None, False, "")


def test_ambiguous_answers_never_carry_a_rating_or_score() -> None:
    for text, _ in AMBIGUOUS:
        answer = parse_satisfaction(text)
        assert answer.rating is None and answer.score is None
