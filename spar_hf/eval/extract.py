"""Reading an answer out of a model's free text: one reader per protocol.

lmms-eval: its number regex (no sign, no exponent), first or last number, strict `k:v` parsing.
vlmevalkit: the rule-based "extract matching" of VLMEvalKit's spatial_bench helpers (option-letter
cascade, signed numbers with number words and <answer>/<think> handling, lenient `k:v` parsing).
strict (ours): <answer> tags and a final "answer:" line first, signed numbers, the first standalone
option letter among the question's own letters, `move right: 1.2` style motion phrases.
Every reader returns None (or an empty dict) when it finds nothing; none of them raises.

Every reader is linear in the prediction's length (a 40 KB prediction took 17 s before): patterns
whose backtracking re-scanned a run of spaces or brackets from every start position are replaced by
scans that give the same results (`tests/eval/test_extract.py` checks them against the patterns on
random texts), and runs of spaces are matched possessively where giving one back cannot help.
"""

from __future__ import annotations

import ast
import re

# ---------------------------------------------------------------- lmms-eval
LMMS_NUMBER = re.compile(r"(?<!\^)\d+\.\d+|(?<!\^)\d+")


def lmms_number(prediction: str, last: bool) -> float | None:
    """First (or, for the four _mv numeric tasks, last) unsigned number; for `last`, -1.0 when none."""
    found = LMMS_NUMBER.findall(prediction)
    if not found:
        return -1.0 if last else None
    return float(found[-1] if last else found[0])


def lmms_vci(text: str) -> dict[str, float] | None:
    """`k:v,k:v` with keys kept verbatim; None when any item is not exactly one `k:v` or v is no float."""
    parsed: dict[str, float] = {}
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            return None
        try:
            parsed[parts[0]] = float(parts[1])
        except ValueError:
            return None
    return parsed


# ---------------------------------------------------------------- vlmevalkit
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\ufeff]")
_SIGNED = r"[-+]?(?:\d*\.\d+|\d+)(?:[eE][-+]?\d+)?"
_SIGNED_RE = re.compile(_SIGNED)
_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
          "fifteen sixteen seventeen eighteen nineteen twenty").split()
_WORD_NUMBER = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.IGNORECASE)
_THINK_END = re.compile(r"</\s*think\s*>", re.IGNORECASE)
_THINK_START = re.compile(r"<\s*think\s*>", re.IGNORECASE)
# VLMEvalKit's tag patterns, `<\s*answer\b[^>]*>` + what follows the tag, matched from each opening tag
_TAG_START = re.compile(r"<\s*answer\b", re.IGNORECASE)
_TAG_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)
_AFTER_TAG_LETTER = re.compile(r"\s*+([A-Ja-j])(?:\s*[.．:：)\]】、])?", re.IGNORECASE)
_AFTER_TAG_NUMBER = re.compile(r"\s*+(" + _SIGNED + r")(?:[^\d<][^<]*+)?<\s*/\s*answer\s*>", re.IGNORECASE)
_OPEN = r"[(\[{（【]"
_OPEN_CHARS = "([{（【"
_CLOSE = r"[)\]}）】]"
_TIGHT_PUNCT = r".,:;!?)\]】》」』，。；、：）"
_OPTION_LINE = re.compile(r"^[*_>\-\s]*(?:option|选项)\s+[A-J]\s*[:：]", re.IGNORECASE)
_ALONE_ON_LINE = re.compile(r"\s*[*_`>（）\[\]【】()]*\s*([A-Fa-f])\s*[*_`（）\[\]【】()]*\s*")
_LABELLED_LINE = re.compile(r"\s*([A-F])\s*[.．:：)\]】、-]\s+", re.IGNORECASE)
_INLINE_OPEN = set("*_`（[{(")
_INLINE_CLOSE = set("*_`）]})")
_CONCLUSION_WORDS = (r"final\s*answer|the\s*answer\s*is|answer(?:\s*is)?|correct\s*answer|"
                     r"答案|最终答案|结论|所以|因此|我选(?:择)?|选择|选")


def _after_think(text: str) -> str:
    ends = list(_THINK_END.finditer(text))
    if ends:
        return text[ends[-1].end():].strip()
    starts = list(_THINK_START.finditer(text))
    if starts:
        return text[starts[-1].end():].strip()
    return text


def _ascii_letter(char: str) -> bool:
    return char.isascii() and char.isalpha()


def _tag_search(text: str, after: re.Pattern, needs_close: bool) -> re.Match | None:
    """The first `<answer ...>` tag from which `after` matches (and, with needs_close, a closing tag follows
    somewhere after that match): VLMEvalKit's `<\\s*answer\\b[^>]*>` + after, searched in linear time.

    Every opening tag up to the same `>` continues identically, so each `>` is tried once; a match that
    needs a closing tag can only use one before the last closing tag of the text.
    """
    last_close = -1
    if needs_close:
        for close in _TAG_CLOSE.finditer(text):
            last_close = close.start()
        if last_close < 0:
            return None
    tried: set[int] = set()
    gt = -1
    for start in _TAG_START.finditer(text):
        if gt < start.end():
            gt = text.find(">", start.end())
            if gt < 0:
                return None
        if gt in tried:
            continue
        tried.add(gt)
        found = after.match(text, gt + 1)
        if found and (not needs_close or found.end() <= last_close):
            return found
    return None


def _inline_uppers(line: str) -> set[str]:
    """The capitals A-F standing alone in a line (VLMEvalKit's inline-capital pattern), in linear time:
    not after an ASCII letter unless opening marks or spaces come between, and followed by spaces and
    closing marks up to the end, a space or tight punctuation."""
    found: set[str] = set()
    n = len(line)
    for p, char in enumerate(line):
        if char not in "ABCDEF":
            continue
        left = p
        while left > 0 and line[left - 1].isspace():
            left -= 1
        while left > 0 and line[left - 1] in _INLINE_OPEN:
            left -= 1
        if left == p and p > 0 and _ascii_letter(line[p - 1]):
            continue
        j = p + 1
        while j < n and line[j].isspace():
            j += 1
        if j > p + 1:
            found.add(char)
            continue
        while j < n and line[j] in _INLINE_CLOSE:
            if line[j] in _TIGHT_PUNCT:
                break
            j += 1
        if j == n or line[j].isspace() or line[j] in _TIGHT_PUNCT:
            found.add(char)
    return found


def _standalone_letters(text: str, letters: str) -> set[str]:
    """Letters of `letters` standing alone: after an optional opening bracket and spaces (not right after an
    ASCII letter), before spaces and an optional closing bracket not followed by an ASCII letter (the
    final fallback of VLMEvalKit's option matcher), in linear time."""
    found: set[str] = set()
    n = len(text)
    for p, char in enumerate(text):
        if char not in letters:
            continue
        if p + 1 < n and _ascii_letter(text[p + 1]):
            continue
        left = p
        while left > 0 and text[left - 1].isspace():
            left -= 1
        if left < p:
            found.add(char)
        elif p == 0 or not _ascii_letter(text[p - 1]):
            found.add(char)
        elif p >= 1 and text[p - 1] in _OPEN_CHARS and (p == 1 or not _ascii_letter(text[p - 2])):
            found.add(char)
    return found


def _letter_from_lines(lines: list[str]) -> str | None:
    """Scan lines bottom-up: a lone letter, a labelled line, or one unique inline capital."""
    for line in reversed([ln.strip() for ln in lines if ln.strip()]):
        if _OPTION_LINE.search(line):
            continue
        alone = _ALONE_ON_LINE.fullmatch(line)
        if alone:
            return alone.group(1).upper()
        labelled = _LABELLED_LINE.match(line)
        if labelled:
            return labelled.group(1).upper()
        tokens = _inline_uppers(line)
        if len(tokens) == 1:
            return tokens.pop()
    return None


def vlmevalkit_option(prediction: str, letters: str = "ABCDEF") -> str | None:
    """Option letter as VLMEvalKit's rule-based matcher finds it (steps in docs/eval.md), else None."""
    text = _ZERO_WIDTH.sub("", prediction.strip())
    tagged = _tag_search(text, _AFTER_TAG_LETTER, needs_close=True)
    if tagged:
        return tagged.group(1).upper()
    tail = text[-800:]
    for closer in ("answer", "think"):
        anchor = re.search(rf"(?<![A-Za-z]){_OPEN}?\s*([{letters}])\s*{_CLOSE}?\s*</\s*{closer}\s*>", tail, re.IGNORECASE)
        if anchor:
            return anchor.group(1).upper()
    for segment in (_after_think(text), tail):
        picked = _letter_from_lines(segment.splitlines()[-6:])
        if picked:
            return picked
    phrase = re.search(rf"(?i)(?:{_CONCLUSION_WORDS})\s*+[:：>＝=]?\s*+{_OPEN}?\s*+([{letters}])\s*{_CLOSE}?(?:\b|[.)、。])",
                       text)
    if phrase:
        return phrase.group(1).upper()
    kept = "\n".join(ln for ln in text.splitlines() if not _OPTION_LINE.search(ln))
    tokens = _standalone_letters(kept, letters)
    return tokens.pop() if len(tokens) == 1 else None


def vlmevalkit_number(prediction: str) -> float | None:
    """Signed number: <answer> tag, else the last number after </think>, else unique-or-last in the text."""
    candidate = prediction
    stripped = prediction.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            seq = ast.literal_eval(stripped)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            return None
        if isinstance(seq, list) and seq:
            candidate = str(seq[0])
    text = _WORD_NUMBER.sub(lambda m: str(_WORDS.index(m.group(1).lower())), _ZERO_WIDTH.sub("", candidate.strip()))
    tagged = _tag_search(text, _AFTER_TAG_NUMBER, needs_close=False)
    if tagged:
        return float(tagged.group(1))
    tail_numbers = _SIGNED_RE.findall(_after_think(text))
    if tail_numbers:
        return float(tail_numbers[-1])
    numbers = _SIGNED_RE.findall(text)
    if not numbers:
        return None
    return float(numbers[0] if len(set(numbers)) == 1 else numbers[-1])


def vlmevalkit_vci(text: str) -> dict[str, float]:
    """Lenient `k:v` parsing: items stripped, split at the first colon, unparseable items skipped."""
    parsed: dict[str, float] = {}
    for item in text.split(","):
        item = item.strip()
        if ":" not in item:
            continue
        key, value = item.split(":", 1)
        try:
            parsed[key.strip()] = float(value.strip())
        except ValueError:
            continue
    return parsed


# ---------------------------------------------------------------- strict (ours)
_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_ANSWER_LINE = re.compile(r"^\s*(?:final\s+)?answer\s*[:：]\s*(.*)$", re.IGNORECASE)
_STRICT_NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_OPTION_IN_QUESTION = re.compile(r"(?:^|[\s(\[])\(?([A-J])[.):](?=\s|$)", re.MULTILINE)
_MOTION = re.compile(
    r"(move|rotate)[\s_-]*(right|left|up|down|forward|backward)\s*[:=]?\s*([-+\u2212]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)",
    re.IGNORECASE,
)


def _last_answer_tag(text: str) -> str | None:
    """The content of the last `<answer>...</answer>` pair (pairs taken left to right, each opening tag
    with the first closing tag after it), in linear time; None without a pair."""
    closes = [m.start() for m in _ANSWER_CLOSE.finditer(text)]
    content = None
    i = 0
    pos = 0
    while True:
        opening = _ANSWER_OPEN.search(text, pos)
        if opening is None:
            return content
        while i < len(closes) and closes[i] < opening.end():
            i += 1
        if i == len(closes):
            return content
        content = text[opening.end():closes[i]]
        pos = closes[i] + len("</answer>")


def answer_segment(prediction: str) -> str:
    """The part that states the answer: the last <answer>...</answer>, else a final "answer:" line, else all."""
    tag = _last_answer_tag(prediction)
    if tag is not None:
        return tag.strip()
    lines = [ln for ln in prediction.strip().splitlines() if ln.strip()]
    if lines:
        line = _ANSWER_LINE.match(lines[-1])
        if line:
            return line.group(1).strip()
    return prediction.strip()


def strict_number(prediction: str) -> float | None:
    """Last signed number in the answer segment (a lone number is simply that number)."""
    found = _STRICT_NUMBER.findall(answer_segment(prediction))
    if not found:
        return None
    return float(found[-1].replace("\u2212", "-"))


def option_letters(question: str) -> str:
    """The option letters a question offers ("A." / "A)" / "(A)" / "A:" labels), contiguous from A.

    Falls back to "ABCD" when fewer than two labels are found.
    """
    present = set(_OPTION_IN_QUESTION.findall(question))
    letters = ""
    for letter in "ABCDEFGHIJ":
        if letter not in present:
            break
        letters += letter
    return letters if len(letters) >= 2 else "ABCD"


def strict_option(prediction: str, letters: str) -> str | None:
    """First standalone capital option letter in the answer segment; a lone lower-case letter counts too."""
    segment = answer_segment(prediction)
    if len(segment) == 1 and segment.upper() in letters:
        return segment.upper()
    found = re.search(rf"(?<![A-Za-z0-9])([{letters}])(?![A-Za-z0-9'’])", segment)
    return found.group(1) if found else None


def strict_vci(prediction: str) -> dict[str, float]:
    """`move_right:1.2`, `move right: 1.2`, `rotate-left = 30` ...; case-insensitive, last value per key wins."""
    parsed: dict[str, float] = {}
    for verb, direction, value in _MOTION.findall(answer_segment(prediction)):
        parsed[f"{verb.lower()}_{direction.lower()}"] = float(value.replace("\u2212", "-"))
    return parsed
