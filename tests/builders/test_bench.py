"""Bench sampling: formats per task, balance over letters and scenes, tiny prefix, determinism."""

from collections import Counter

from spar_hf.builders.sampling import (
    BENCH_TASKS,
    Candidate,
    bench_format,
    img_type,
    select_bench,
    select_task,
    tiny_subset,
)


def _cands(task, spec):
    """spec: list of (scene, answer, how many)."""
    out = []
    for scene, answer, n in spec:
        for i in range(n):
            out.append(Candidate(f"{scene}_{task}_{answer}_{i}", task, scene, answer, (scene, answer, i)))
    return out


def test_twenty_tasks_and_formats():
    assert len(BENCH_TASKS) == 20 and len(set(BENCH_TASKS)) == 20
    fill = {t for t in BENCH_TASKS if bench_format(t) == "fill"}
    # the 8 depth/distance tasks and view_change_infer are numeric (docs/formats.md "Bench packs")
    assert fill == {
        "depth_prediction_oc", "depth_prediction_oc_mv", "depth_prediction_oo", "depth_prediction_oo_mv",
        "distance_prediction_oc", "distance_prediction_oc_mv", "distance_prediction_oo", "distance_prediction_oo_mv",
        "view_change_infer",
    }
    assert bench_format("position_matching") == "select" and bench_format("spatial_imagination_oo_mv") == "select"
    assert img_type(1) == "single_view" and img_type(3) == "multi_view"


def test_registry_flags_agree_when_tasks_are_registered():
    from spar_hf.tasks.registry import all_tasks

    flagged = {name for name, spec in all_tasks().items() if spec.bench}
    assert flagged <= set(BENCH_TASKS)


def test_letters_balanced_until_a_letter_runs_out():
    task = "spatial_imagination_oc"
    cands = _cands(task, [("s1", "A", 4), ("s2", "A", 4), ("s3", "A", 2), ("s1", "B", 10), ("s2", "C", 2)])
    chosen = select_task(cands, 8)
    # rounds take one A, one B, one C: A B C | A B C | A B  -> A3 B3 C2
    assert Counter(c.answer for c in chosen) == {"A": 3, "B": 3, "C": 2}
    # within letter A the three picks come from three different scenes
    assert len({c.scene for c in chosen if c.answer == "A"}) == 3
    assert len(set(chosen)) == 8


def test_fill_tasks_round_robin_over_scenes():
    task = "depth_prediction_oc"
    cands = _cands(task, [("s1", "1.5", 5), ("s2", "2.5", 5), ("s3", "0.5", 1)])
    chosen = select_task(cands, 7)
    # one group; scenes cycle: 3 scenes, s3 has one item -> s1 3, s2 3, s3 1
    assert Counter(c.scene for c in chosen) == {"s1": 3, "s2": 3, "s3": 1}


def test_cap_order_determinism_and_tiny_prefix():
    cands = []
    for task in ("position_matching", "depth_prediction_oc"):
        answers = "ABCD" if task == "position_matching" else ["1.0"]
        for scene in ("a", "b", "c"):
            for ans in answers:
                cands += _cands(task, [(scene, ans, 30)])
    rows = select_bench(reversed(cands), per_task=400)
    again = select_bench(cands, per_task=400)
    assert rows == again  # input order does not matter
    per_task = Counter(r.task for r in rows)
    assert per_task == {"position_matching": 360, "depth_prediction_oc": 90}  # fewer than 400 available: all
    assert [r.task for r in rows] == ["depth_prediction_oc"] * 90 + ["position_matching"] * 360  # BENCH_TASKS order
    capped = select_bench(cands, per_task=60)
    assert Counter(r.task for r in capped) == {"position_matching": 60, "depth_prediction_oc": 60}
    tiny = tiny_subset(capped, 10)
    assert Counter(r.task for r in tiny) == {"position_matching": 10, "depth_prediction_oc": 10}
    letters = Counter(r.answer for r in tiny if r.task == "position_matching")
    assert letters == {"A": 3, "B": 3, "C": 2, "D": 2}  # 10 = rounds of A B C D, A B C D, A B
    assert tiny == [r for r in capped if r in set(tiny)]  # a prefix per task, order kept
