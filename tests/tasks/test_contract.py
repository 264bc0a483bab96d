"""Contract of the image task generators: markers, options, instructions, templates, ids, verify, determinism."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter

import numpy as np
import pytest
from fixtures.tasks_scene import MV_CAMERAS, MV_OBJECTS, Lookup, make_records

from spar_hf.geometry import normalize_xy
from spar_hf.markers import placements
from spar_hf.tasks import templates as T
from spar_hf.tasks.generic import rows_per_second
from spar_hf.tasks.registry import all_tasks
from spar_hf.tasks.render import select_instruction
from spar_hf.tasks.taskdef import FAMILIES, GenConfig

MINE = sorted(n for n, s in all_tasks().items() if s.family in FAMILIES)
# marker colours in role order (role k = meta["objects"][k])
ROLES = {
    "depth_prediction_oc": "red blue", "depth_prediction_oo": "red blue green",
    "distance_prediction_oc": "red", "distance_prediction_oo": "red blue",
    "distance_infer_center_oo": "red green blue", "obj_spatial_relation_oo": "red blue",
    "obj_spatial_relation_oc_mv": "red", "spatial_imagination_oc": "red green blue",
    "spatial_imagination_oo": "red green blue yellow", "spatial_volume_infer": "red", "position_matching": "red",
}
BENCH = {"depth_prediction_oc", "depth_prediction_oc_mv", "depth_prediction_oo", "depth_prediction_oo_mv",
         "distance_prediction_oc", "distance_prediction_oc_mv", "distance_prediction_oo", "distance_prediction_oo_mv",
         "position_matching", "camera_motion_infer", "view_change_infer", "distance_infer_center_oo",
         "distance_infer_center_oo_mv", "obj_spatial_relation_oc_mv", "obj_spatial_relation_oo",
         "obj_spatial_relation_oo_mv", "spatial_imagination_oc", "spatial_imagination_oc_mv", "spatial_imagination_oo",
         "spatial_imagination_oo_mv"}


def roles(task: str) -> list[str]:
    return ROLES.get(task.removesuffix("_mv"), ROLES.get(task, "")).split()


@pytest.fixture(scope="module")
def scene():
    records = make_records(MV_OBJECTS, MV_CAMERAS)
    out = {t: all_tasks()[t].generate(records, np.random.default_rng(7), GenConfig(samples_per_format=10, attempts_per_sample=20)) for t in MINE}
    return records, out


def test_registry_lists_all_24_tasks():
    assert len(MINE) == 23  # the 24 folders minus spatial_imagination_map_mv (another module)
    assert {n for n in MINE if all_tasks()[n].bench} == BENCH
    assert all(all_tasks()[n].verify is not None for n in MINE)


def test_every_task_and_format_generates(scene):
    _, out = scene
    for task in MINE:
        got = Counter(r.format for r in out[task])
        assert set(got) == set(all_tasks()[task].formats), (task, got)


def test_markers_land_on_named_objects(scene):
    records, out = scene
    for task, rows in out.items():
        for r in rows:
            colours = roles(task)
            if not colours or task == "distance_infer_center_oc" or task == "distance_infer_center_oc_mv":
                continue
            marks = {m.name: m for m in placements(r.markers, task)}
            for k, colour in enumerate(colours):
                kind = "bbox" if f"{colour}_bbox" in r.markers else "point"
                mark = marks[f"{colour}_{kind}"]
                im = records.image(r.meta["frames"][mark.image_index])
                seen = im.visible[r.meta["objects"][k]["id"]]
                box = normalize_xy(seen.bbox, im.width, im.height)
                if kind == "point":
                    x, y = mark.coords
                    assert box[0] <= x <= box[2] and box[1] <= y <= box[3], (task, colour)
                else:
                    assert list(mark.coords) == list(box), (task, colour)
            if all_tasks()[task].view == "multi":
                key = "bbox_img_idx" if any(k.endswith("_bbox") for k in r.markers) else "point_img_idx"
                assert len(r.markers[key][0]) == len(colours)


def test_select_letter_points_at_truth_and_is_balanced(scene):
    _, out = scene
    letters = Counter()
    for task, rows in out.items():
        for r in rows:
            if r.format != "select":
                continue
            opts = r.meta["q"]["options"]
            assert len(opts) in (2, 4) and len(set(opts)) == len(opts)
            assert r.answer in "ABCD"[: len(opts)]
            if len(opts) == 4:
                letters[r.answer] += 1
            if task.startswith(("depth", "distance_prediction")):
                truth = float(opts["ABCD".index(r.answer)])
                for o in opts:
                    assert 0.5 * truth - 0.05 <= float(o) <= 1.5 * truth + 0.05  # within +-50% (after rounding)
    total = sum(letters.values())
    assert set(letters) == set("ABCD") and min(letters.values()) > total * 0.12, letters


def test_judge_answers_balanced(scene):
    _, out = scene
    got = Counter(r.answer for t in ("obj_spatial_relation_oo", "obj_spatial_relation_oo_mv") for r in out[t] if r.format == "judge")
    assert set(got) == {"Yes", "No"}


def test_questions_end_with_format_instruction(scene):
    _, out = scene
    for task, rows in out.items():
        fill_kind = "name" if "infer_center" in task else {"position_matching": "box", "camera_motion_infer": "camera",
                                                            "view_change_infer": "viewchange"}.get(task, "number")
        for r in rows:
            if r.format == "select":
                assert r.question.endswith(select_instruction(len(r.meta["q"]["options"])))
            elif r.format == "fill":
                assert r.question.endswith(tuple(T.FILL[fill_kind]))
            elif r.format == "sentence":
                assert r.question.endswith(tuple(T.SENTENCE_INSTR))
            else:
                assert r.question.endswith(tuple(T.JUDGE_INSTR))


def test_at_least_8_phrasings_per_task_and_format(scene):
    _, out = scene
    for task in MINE:
        spec = all_tasks()[task]
        for fmt in spec.formats:
            stems = {r.question for r in out[task] if r.format == fmt}
            assert stems
        from spar_hf.tasks import camera, depth, distance, distance_infer, imagination, matching, relation, volume
        defs = {d.name: d for m in (camera, depth, distance, distance_infer, imagination, matching, relation, volume) for d in m.DEFS}
        d = defs[task]
        for fmt in spec.formats:
            pool = T.STEMS.get(f"{d.stems}:{fmt}") or T.STEMS[d.stems]
            assert len(set(pool)) >= 8, (task, fmt)
    used = Counter((r.task, r.format, r.meta["q"]["stem"]) for rows in out.values() for r in rows)
    per = Counter((t, f) for t, f, _ in used)
    rows = Counter((r.task, r.format) for rows in out.values() for r in rows)
    assert all(per[k] >= 3 for k in rows if rows[k] >= 6)  # generation really draws different phrasings


def test_ids_paths_and_meta(scene):
    _, out = scene
    ids = [r.id for rows in out.values() for r in rows]
    assert len(ids) == len(set(ids))
    for task, rows in out.items():
        for r in rows:
            assert re.fullmatch(rf"scene0001_00_{task}_{r.format}_\d+", r.id)
            assert all(re.fullmatch(r"scene0001_00/image_color/\d+\.jpg", p) for p in r.images)
            assert [f"scene0001_00/image_color/{f}.jpg" for f in r.meta["frames"]] == r.images
            assert len(r.images) == (1 if all_tasks()[task].view == "single" else len(r.images)) and len(r.images) <= 5
            assert {"scene", "frames", "objects", "value"} <= set(r.meta)
            assert all({"id", "label", "center", "extents"} <= set(o) for o in r.meta["objects"])
            json.dumps(r.to_json())


def test_verify_clean_and_catches_altered_answers(scene):
    records, out = scene
    lookup = Lookup(records)
    flip = {"A": "B", "B": "A", "C": "D", "D": "C", "Yes": "No", "No": "Yes"}
    for task, rows in out.items():
        spec = all_tasks()[task]
        for r in rows:
            assert not [f for f in spec.verify(r, lookup) if f.startswith("mismatch")], (task, r.id)
            original = r.answer
            r.answer = flip.get(original) or re.sub(r"\d", lambda m: str((int(m.group()) + 1) % 10), original, count=1)
            if r.answer == original:
                r.answer = original + " (altered)"
            assert any(f.startswith("mismatch") for f in spec.verify(r, lookup)), (task, r.id, original, r.answer)
            r.answer = original


def test_verify_catches_moved_camera(scene):
    records, out = scene
    lookup = Lookup(records)
    r = out["depth_prediction_oc"][0]
    moved = Lookup(records)
    im = moved.by_path[r.images[0]]
    pose = im.pose.copy()
    pose[0, 3] += 1.0  # camera 1 m further along +x: every depth shrinks by 1 m
    moved.by_path[r.images[0]] = type(im)(**{**im.__dict__, "pose": pose})
    assert not [f for f in all_tasks()["depth_prediction_oc"].verify(r, lookup) if f.startswith("mismatch")]
    assert any(f.startswith("mismatch") for f in all_tasks()["depth_prediction_oc"].verify(r, moved))


def test_deterministic_given_seed():
    records = make_records(MV_OBJECTS, MV_CAMERAS)

    def dump(seed):
        rows = []
        for t in MINE:
            rows += all_tasks()[t].generate(records, np.random.default_rng(seed), GenConfig(samples_per_format=3))
        return json.dumps([r.to_json() for r in rows], sort_keys=True)

    assert dump(1) == dump(1)
    assert dump(1) != dump(2)


def test_rows_per_second_reports():
    rows, rate = rows_per_second(make_records(MV_OBJECTS, MV_CAMERAS), repeats=1)
    assert rows > 100 and rate > 0


def test_empty_scenes_give_no_rows_and_count_reasons():
    config = GenConfig()
    empty = make_records({}, [(0.0, 0.0, 0.0), (0.0, 1.0, 0.0)])  # keyframes but nothing visible
    for task in MINE:
        assert all_tasks()[task].generate(empty, np.random.default_rng(0), config) == []
    assert config.skipped and all(reason.split(": ")[0] in MINE for reason in config.skipped)
    none = make_records({}, [])
    assert all(all_tasks()[t].generate(none, np.random.default_rng(0), GenConfig()) == [] for t in MINE)


def test_verify_reports_malformed_meta_as_mismatch(scene):
    records, out = scene
    r = copy.deepcopy(out["distance_prediction_oo"][0])
    r.meta["objects"] = r.meta["objects"][:1]
    assert any(f.startswith("mismatch") for f in all_tasks()["distance_prediction_oo"].verify(r, Lookup(records)))


def test_scene_index_does_not_keep_records_alive():
    import gc
    import weakref

    from spar_hf.tasks.scene_index import scene_index

    records = make_records(MV_OBJECTS, MV_CAMERAS)
    scene_index(records)
    ref = weakref.ref(records)
    del records
    gc.collect()
    assert ref() is None


def test_select_layout_one_option_per_line(scene):
    """Public SPAR-7M rows: the question head, notes and lead, then "A. ..." lines and the closing sentence."""
    _, out = scene
    for task in MINE:
        for r in (r for r in out[task] if r.format == "select"):
            lines = r.question.split("\n")
            opts = r.meta["q"]["options"]
            n = len(opts)
            assert lines[-1] == select_instruction(n)
            assert lines[-1 - n:-1] == [f"{'ABCD'[k]}. {o}" for k, o in enumerate(opts)], (task, r.question)
            assert lines[-2 - n] in T.SELECT_LEAD


def test_release_sentences_where_public_rows_show_them(scene):
    _, out = scene
    for r in out["depth_prediction_oc"] + out["depth_prediction_oc_mv"]:
        assert f"{T.CENTER_NOTE} {T.UNIT_NOTE}" in r.question
    for r in out["depth_prediction_oo_mv"] + out["depth_prediction_oc_mv"]:
        assert ("The depth is calculated based on the image where the markers corresponding to these objects are "
                "located.") in r.question
    assert not any(T.UNIT_NOTE in r.question for r in out["depth_prediction_oo"] + out["distance_prediction_oc"])


@pytest.mark.parametrize("task", ["position_matching", "camera_motion_infer"])
def test_no_sentence_that_lmms_eval_adds(scene, task):
    """lmms-eval's sparbench doc_to_text appends the 0-1000 coordinate sentence to these two tasks itself."""
    from spar_hf.eval.prompts import COORDINATE_NOTE, build_prompt

    _, out = scene
    rows = [r for r in out[task] if r.format == "select"]
    assert rows
    for r in rows:
        assert "0-1000" not in r.question
        prompt = build_prompt(task, r.question)
        sentences = [s for s in re.split(r"(?<=[.?!])\s+|\n", prompt) if s.strip()]
        assert prompt.count(COORDINATE_NOTE) == 1 and len(sentences) == len(set(sentences))
