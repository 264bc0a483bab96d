"""The linear-time answer readers give what the regular expressions they replace gave.

Each pattern below is the one the reader used before (VLMEvalKit's, for the vlmevalkit protocol);
on short texts its backtracking is cheap, so it is the specification: thousands of random texts over
the characters the patterns care about must give the same result both ways.
"""

from __future__ import annotations

import random
import re

import pytest

from spar_hf.eval import extract

_TIGHT = r".,:;!?)\]】》」』，。；、：）"
INLINE_UPPER = re.compile(r"(?<![A-Za-z])[*_`（\[{(]*\s*([A-F])\s*[*_`）\]})]*(?=$|[\s" + re.escape(_TIGHT) + "])")
STANDALONE = re.compile(r"(?<![A-Za-z])[(\[{（【]?\s*([ABCDEF])\s*[)\]}）】]?(?![A-Za-z])")
TAG_LETTER = re.compile(r"<\s*answer\b[^>]*>\s*([A-Ja-j])(?:\s*[.．:：)\]】、])?.*?<\s*/\s*answer\s*>",
                        re.IGNORECASE | re.DOTALL)
TAG_NUMBER = re.compile(r"<\s*answer\b[^>]*>\s*([-+]?(?:\d*\.\d+|\d+)(?:[eE][-+]?\d+)?)(?:[^\d<][^<]*)?<\s*/\s*answer\s*>",
                        re.IGNORECASE | re.DOTALL)
ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
CONCLUSION = (r"final\s*answer|the\s*answer\s*is|answer(?:\s*is)?|correct\s*answer|"
              r"答案|最终答案|结论|所以|因此|我选(?:择)?|选择|选")
PHRASE = re.compile(rf"(?i)(?:{CONCLUSION})\s*[:：>＝=]?\s*[(\[{{（【]?\s*([ABCDEF])\s*[)\]}}）】]?(?:\b|[.)、。])")

PIECES = [" ", "  ", "\t", "\n", "\u00a0", "(", ")", "[", "]", "{", "}", "（", "）", "【", "】", "*", "_", "`", ".", ",",
          ":", "：", ";", "!", "?", "、", "。", "<", ">", "/", "A", "B", "C", "F", "G", "a", "b", "x", "Z", "é", "1", "2",
          "-", "+", "e", "3.5", "answer", "ANSWER", "<answer>", "</answer>", "< answer >", "</ Answer>",
          "<answer x>", "is", "final answer", "答案", "选"]


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14))) for _ in range(n)]


@pytest.mark.parametrize("seed", range(4))
def test_inline_capitals_match_the_pattern(seed):
    for text in _texts(3000, seed):
        assert extract._inline_uppers(text) == set(INLINE_UPPER.findall(text)), text


@pytest.mark.parametrize("seed", range(4))
def test_standalone_letters_match_the_pattern(seed):
    for text in _texts(3000, seed):
        assert extract._standalone_letters(text, "ABCDEF") == set(STANDALONE.findall(text)), text


@pytest.mark.parametrize("seed", range(4))
def test_answer_tags_match_the_patterns(seed):
    for text in _texts(3000, seed):
        letter = extract._tag_search(text, extract._AFTER_TAG_LETTER, needs_close=True)
        expected = TAG_LETTER.search(text)
        assert (letter and letter.group(1)) == (expected and expected.group(1)), text
        number = extract._tag_search(text, extract._AFTER_TAG_NUMBER, needs_close=False)
        expected = TAG_NUMBER.search(text)
        assert (number and number.group(1)) == (expected and expected.group(1)), text
        tags = ANSWER_TAG.findall(text)
        assert extract._last_answer_tag(text) == (tags[-1] if tags else None), text


@pytest.mark.parametrize("seed", range(4))
def test_conclusion_phrase_matches_the_pattern(seed):
    """The phrase pattern only became possessive where giving a space back cannot help."""
    phrase = re.compile(rf"(?i)(?:{CONCLUSION})\s*+[:：>＝=]?\s*+[(\[{{（【]?\s*+([ABCDEF])\s*[)\]}}）】]?(?:\b|[.)、。])")
    for text in _texts(3000, seed):
        got, expected = phrase.search(text), PHRASE.search(text)
        assert (got and got.group(1)) == (expected and expected.group(1)), text
