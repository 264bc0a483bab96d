"""Per-question scores under the three protocols, against hand-computed values.

MRA passes threshold t (of 0.50, 0.45, ..., 0.05) when the relative error is <= t, so MRA is
(number of thresholds >= rel) / 10. Cases keep rel away from the thresholds themselves.
"""

import pytest

from spar_hf.eval import extract
from spar_hf.eval.prompts import build_prompt
from spar_hf.eval.protocols import score_question
from spar_hf.eval.scores import mra


def lmms(task, pred, gold, question=""):
    return score_question("lmms-eval", task, pred, gold, question)


def vlm(task, pred, gold, question=""):
    return score_question("vlmevalkit", task, pred, gold, question)


def strict(task, pred, gold, question="Which? A. left B. right C. above D. below"):
    return score_question("strict", task, pred, gold, question)


# ---------------------------------------------------------------- MRA
@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        (2.0, 2.0, 1.0),  # rel 0
        (1.64, 2.0, 0.7),  # rel 0.18: passes 0.50 .. 0.20 (7)
        (2.88, 2.0, 0.2),  # rel 0.44: passes 0.50, 0.45
        (2.92, 2.0, 0.1),  # rel 0.46: only 0.50
        (3.2, 2.0, 0.0),  # rel 0.6
        (0.12, 0.0, 0.8),  # gt 0: absolute error 0.12 passes 0.50 .. 0.15 (8)
        (0.6, 0.0, 0.0),  # gt 0: absolute error 0.6
    ],
)
def test_mra_hand_values(pred, gold, expected):
    assert mra(pred, gold) == pytest.approx(expected)


# ---------------------------------------------------------------- lmms-eval numeric
def test_lmms_single_view_reads_first_number():
    # first number is 1 -> rel |1 - 3| / 3 = 0.67 -> 0
    assert lmms("depth_prediction_oc", "Point 1 is at 2.0 m, so 3.1", "3.0") == 0.0


def test_lmms_mv_reads_last_number():
    # last number 3.1 -> rel 0.033 -> all ten thresholds
    assert lmms("depth_prediction_oc_mv", "Point 1 is at 2.0 m, so 3.1", "3.0") == 1.0


def test_lmms_mv_without_number_is_minus_one():
    # no number: _mv tasks use -1, which equals a ground truth of -1 exactly; single view scores 0
    assert lmms("distance_prediction_oo_mv", "I cannot tell", "-1") == 1.0
    assert lmms("distance_prediction_oo_mv", "I cannot tell", "2.0") == 0.0
    assert lmms("distance_prediction_oo", "I cannot tell", "-1") == 0.0


def test_lmms_never_reads_minus_sign():
    # "-0.5" is read as 0.5; against gt -0.5: rel |0.5 + 0.5| / 0.5 = 2 -> 0 (strict reads -0.5 -> 1)
    assert lmms("depth_prediction_oo", "-0.5", "-0.5") == 0.0
    assert strict("depth_prediction_oo", "-0.5", "-0.5") == 1.0


def test_lmms_gt_zero_uses_absolute_error():
    # gt 0, prediction 0.12 -> |0.12| passes 0.50 .. 0.15 -> 0.8
    assert lmms("depth_prediction_oo", "0.12", "0") == pytest.approx(0.8)


def test_lmms_number_after_caret_is_skipped():
    # "3^2": the 2 after ^ is not a number; first is 3
    assert extract.lmms_number("3^2 is nine", last=False) == 3.0
    assert extract.lmms_number("10^3", last=True) == 10.0


def test_lmms_unparseable_answer_scores_zero():
    assert lmms("depth_prediction_oc", "1.5", "about one") == 0.0


# ---------------------------------------------------------------- lmms-eval multiple choice
@pytest.mark.parametrize(
    "pred, gold, expected",
    [
        ("A", "A", 1.0),
        ("a", "A", 1.0),  # lowercased
        ("", "A", 1.0),  # empty string is a substring of every target
        ("B", "A", 0.0),
        ("A. the chair", "A", 1.0),  # first character equals the target
        ("Apple", "A", 1.0),  # same rule, however wrong
        ("The answer is B", "B", 0.0),  # neither equal, substring nor first char
        (" A", "A", 0.0),  # a leading space defeats every rule
    ],
)
def test_lmms_choice_rules(pred, gold, expected):
    assert lmms("spatial_imagination_oc", pred, gold) == expected


def test_empty_prediction_right_under_lmms_wrong_under_strict_and_vlmevalkit():
    assert lmms("position_matching", "", "C") == 1.0
    assert strict("position_matching", "", "C") == 0.0
    assert vlm("position_matching", "", "C") == 0.0


# ---------------------------------------------------------------- view_change_infer
GOLD_VCI = "move_right:1.0,rotate_left:30"


def test_vci_lmms_swaps_prediction_and_truth():
    # axes gold [1, 0, 0, -30, 0], pred [0.72, 0, 0, -30, 0]
    # lmms normalises by the prediction: |1 - 0.72| / 0.72 = 0.389 -> 0.3; other axes exact -> 1
    assert lmms("view_change_infer", "move_right:0.72,rotate_left:30", GOLD_VCI) == pytest.approx((0.3 + 4) / 5)
    # the right way round: |0.72 - 1| / 1 = 0.28 -> 0.5
    assert vlm("view_change_infer", "move_right:0.72,rotate_left:30", GOLD_VCI) == pytest.approx((0.5 + 4) / 5)
    assert strict("view_change_infer", "move_right:0.72,rotate_left:30", GOLD_VCI) == pytest.approx((0.5 + 4) / 5)


def test_vci_lmms_keys_verbatim_vlmevalkit_strips():
    # " rotate_left" (space after the comma) is an unknown key for lmms-eval: rotation axis pred 0,
    # gold -30 -> swapped rel = |-30| = 30 -> 0. Axis 1 as above 0.3. -> (0.3 + 0 + 3) / 5
    pred = "move_right:0.72, rotate_left:30"
    assert lmms("view_change_infer", pred, GOLD_VCI) == pytest.approx(3.3 / 5)
    assert vlm("view_change_infer", pred, GOLD_VCI) == pytest.approx(4.5 / 5)


def test_vci_stray_text_fails_lmms_parse():
    # "Answer: move_right:..." has two colons in one item -> parse failure -> 0
    assert lmms("view_change_infer", "Answer: move_right:1.0,rotate_left:30", GOLD_VCI) == 0.0
    # strict honours the "answer:" line and reads the motion
    assert strict("view_change_infer", "Answer: move_right:1.0,rotate_left:30", GOLD_VCI) == 1.0


def test_vci_strict_accepts_spaced_keys():
    # "move right: 0.72" etc.: 0.28 relative error on axis 1 -> 0.5; rest exact
    assert strict("view_change_infer", "move right: 0.72; rotate left = 30", GOLD_VCI) == pytest.approx(4.5 / 5)
    # lmms-eval reads no known key: pred axes all 0. Axis 1: rel |1 - 0| = 1 -> 0; rotation 30 -> 0;
    # three zero axes exact -> 3/5
    assert lmms("view_change_infer", "move right: 0.72, rotate left: 30", GOLD_VCI) == pytest.approx(0.6)


def test_vci_empty_prediction():
    assert lmms("view_change_infer", "", GOLD_VCI) == 0.0
    assert strict("view_change_infer", "", GOLD_VCI) == 0.0


def test_vci_lmms_zero_prediction_axis_uses_absolute_truth():
    # pred omits a 0.04 m forward move: swapped target 0 -> rel = |0.04| -> passes all ten
    assert lmms("view_change_infer", "move_right:1.0", "move_right:1.0,move_forward:0.04") == 1.0
    # the right way round: rel |0 - 0.04| / 0.04 = 1 -> 0 on that axis -> 4/5
    assert vlm("view_change_infer", "move_right:1.0", "move_right:1.0,move_forward:0.04") == pytest.approx(0.8)


# ---------------------------------------------------------------- vlmevalkit extraction
@pytest.mark.parametrize(
    "text, letter",
    [
        ("B", "B"),
        ("The answer is B", "B"),
        ("<think>maybe A</think><answer>C</answer>", "C"),
        ("(d)", "D"),
        ("A. left of the chair", "A"),
        ("I think it could be A or B", None),  # two candidate letters on the line, no conclusion
        ("Final answer: c.", "C"),
        ("", None),
    ],
)
def test_vlmevalkit_option(text, letter):
    assert extract.vlmevalkit_option(text) == letter


@pytest.mark.parametrize(
    "text, value",
    [
        ("-1.5", -1.5),
        ("about three meters", 3.0),
        ("<answer>2.5</answer> or 4", 2.5),
        ("between 1 and 2, say 1.8", 1.8),
        ("<think>maybe 4</think> it is 2", 2.0),
        ("1e1", 10.0),
        ("[0.7, 0.9]", 0.7),
        ("no idea", None),
    ],
)
def test_vlmevalkit_number(text, value):
    assert extract.vlmevalkit_number(text) == value


def test_vlmevalkit_numeric_reads_sign_and_last_number():
    # last number 1.8 vs 2.0: rel 0.1 -> passes 0.50 .. 0.10 (9)
    assert vlm("distance_prediction_oc", "between 1 and 2, say 1.8", "2.0") == pytest.approx(0.9)


# ---------------------------------------------------------------- strict extraction
@pytest.mark.parametrize(
    "text, letter",
    [
        ("C", "C"),
        ("c", "C"),
        ("(B) right", "B"),
        ("I would say D.", "D"),  # "I" is not an option letter of A-D
        ("A chair is left, so B", "A"),  # first standalone option letter, as specified
        ("<answer>B</answer>", "B"),
        ("Reasoning...\nAnswer: D", "D"),
        ("none", None),
    ],
)
def test_strict_option(text, letter):
    assert extract.strict_option(text, "ABCD") == letter


def test_strict_choice_no_substring_credit():
    assert strict("obj_spatial_relation_oo", "A", "AB") == 0.0
    assert strict("obj_spatial_relation_oo", "The answer is B", "B") == 1.0


def test_option_letters_from_question():
    assert extract.option_letters("Is it left? A. yes B. no") == "AB"
    assert extract.option_letters("Pick:\n(A) 1\n(B) 2\n(C) 3\n(D) 4") == "ABCD"
    assert extract.option_letters("no options here") == "ABCD"


@pytest.mark.parametrize(
    "text, value",
    [("-2.5 m", -2.5), ("\u22123", -3.0), ("It is 2 or 3 m", 3.0), ("<answer>1.2</answer> not 5", 1.2), ("x", None)],
)
def test_strict_number(text, value):
    assert extract.strict_number(text) == value


# ---------------------------------------------------------------- prompts
def test_prompts_match_lmms_eval_layout():
    assert build_prompt("depth_prediction_oc", "Q?") == "\nQ?\nPlease answer the question using a single word or phrase."
    assert build_prompt("spatial_imagination_oc", "Q?") == "\nQ?\n\nAnswer with the option's letter from the given choices directly."
    assert build_prompt("camera_motion_infer", "Q?").startswith("\nQ?\nThe values represent the bounding box coordinates")
    assert build_prompt("view_change_infer", "Q?") == "\nQ?\n\n"
    assert build_prompt("depth_prediction_oc", "Q?", variant="gpt4v").endswith("anything other than a single number!")


# ---------------------------------------------------------------- robustness
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from spar_hf.tasks.bench import BENCH_TASKS  # noqa: E402

TOKENS = list("0123456789.-+:,;^ eAaBbCDEF()<>/\n_") + ["move_right", "rotate_left", "<answer>", "</think>", "answer:"]
TEXT = st.lists(st.sampled_from(TOKENS), max_size=20).map("".join)


@settings(max_examples=300, deadline=None)
@given(task=st.sampled_from(BENCH_TASKS), prediction=TEXT, answer=TEXT)
def test_scorers_never_raise_and_stay_in_range(task, prediction, answer):
    for protocol in ("lmms-eval", "vlmevalkit", "strict"):
        score = score_question(protocol, task, prediction, answer, QUESTION_ABCD)
        assert 0.0 <= score <= 1.0


QUESTION_ABCD = "Which? A. left B. right C. above D. below"
