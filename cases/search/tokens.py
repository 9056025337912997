"""How text becomes search terms, the same way for what is indexed and for what is asked.

Chinese has no spaces, and a two-character word (异响, 漏油) is most of what people search
for. SQLite's trigram tokenizer cannot find a two-character word at all, so a run of CJK
characters is indexed as overlapping bigrams (刹车片异响 -> 刹车 车片 片异 异响), plus the
run's last character, so that a one-character query (油) is a prefix of some indexed term
wherever the character stands. Everything else is split into words of letters and digits,
NFKC-normalised (full-width ＡＢＣ１２３ -> abc123) and lowercased: 3501-00123 gives 3501 and
00123. A query is cut the same way and every term must be present (AND); a one-character CJK
query and a Latin word match as prefixes (异 finds 异响, brake finds brakes).

Terms hold only letters, digits and CJK characters (no quotes, no operators), so they can be
written into an FTS5 or tsquery expression as they are.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Han (with extension A, compatibility ideographs and the supplementary planes), kana, Hangul.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_TOKEN = re.compile(f"([{_CJK}]+)|([^\\W_{_CJK}]+)")
MAX_WORD = 40  # a longer "word" is a hash or base64, nobody searches for it
MAX_TEXT = 200_000  # characters of one case read into the index


@dataclass(frozen=True, slots=True)
class Term:
    text: str
    prefix: bool = False


def _runs(text: str) -> list[tuple[str, bool]]:
    """(run, is_cjk) in order."""
    normal = unicodedata.normalize("NFKC", text[:MAX_TEXT]).lower()
    return [(m[1], True) if m[1] else (m[2], False) for m in _TOKEN.finditer(normal)]


def index_terms(text: str) -> set[str]:
    """Every term the text is found by."""
    terms: set[str] = set()
    for run, cjk in _runs(text):
        if cjk:
            terms.update(run[i : i + 2] for i in range(len(run) - 1))
            terms.add(run[-1])
        elif len(run) <= MAX_WORD:
            terms.add(run)
    return terms


def query_terms(text: str) -> list[Term]:
    """What a query asks for: every term must be found. Empty when it holds nothing searchable."""
    terms: dict[str, Term] = {}
    for run, cjk in _runs(text):
        if cjk and len(run) == 1:
            terms.setdefault(run, Term(run, prefix=True))
        elif cjk:
            for i in range(len(run) - 1):
                terms.setdefault(run[i : i + 2], Term(run[i : i + 2]))
        else:
            terms.setdefault(run[:MAX_WORD], Term(run[:MAX_WORD], prefix=True))
    return list(terms.values())


def fts5_query(terms: list[Term]) -> str:
    """SQLite FTS5: `"异响" AND "brake"*`."""
    return " AND ".join(f'"{t.text}"' + ("*" if t.prefix else "") for t in terms)


def ts_query(terms: list[Term]) -> str:
    """PostgreSQL tsquery text (cast, not parsed by a configuration): `'异响' & 'brake':*`."""
    return " & ".join(f"'{t.text}'" + (":*" if t.prefix else "") for t in terms)
