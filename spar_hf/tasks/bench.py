"""The 20 SPAR-Bench tasks: their order (Table 4 columns), short names, levels and answer kinds."""

from __future__ import annotations

# (task, short name as printed in the paper), in Table 4 column order.
TABLE4_COLUMNS: tuple[tuple[str, str], ...] = (
    ("depth_prediction_oc", "Depth-OC"),
    ("depth_prediction_oc_mv", "Depth-OC-MV"),
    ("depth_prediction_oo", "Depth-OO"),
    ("depth_prediction_oo_mv", "Depth-OO-MV"),
    ("distance_prediction_oc", "Dist-OC"),
    ("distance_prediction_oc_mv", "Dist-OC-MV"),
    ("distance_prediction_oo", "Dist-OO"),
    ("distance_prediction_oo_mv", "Dist-OO-MV"),
    ("position_matching", "PosMatch"),
    ("camera_motion_infer", "CamMotion"),
    ("view_change_infer", "ViewChgI"),
    ("distance_infer_center_oo", "DistI-OO"),
    ("distance_infer_center_oo_mv", "DistI-OO-MV"),
    ("obj_spatial_relation_oc_mv", "ObjRel-OC-MV"),
    ("obj_spatial_relation_oo", "ObjRel-OO"),
    ("obj_spatial_relation_oo_mv", "ObjRel-OO-MV"),
    ("spatial_imagination_oc", "SpImag-OC"),
    ("spatial_imagination_oc_mv", "SpImag-OC-MV"),
    ("spatial_imagination_oo", "SpImag-OO"),
    ("spatial_imagination_oo_mv", "SpImag-OO-MV"),
)

BENCH_TASKS: tuple[str, ...] = tuple(task for task, _ in TABLE4_COLUMNS)
SHORT_NAMES: dict[str, str] = dict(TABLE4_COLUMNS)

LEVELS: dict[str, tuple[str, ...]] = {
    "Low": BENCH_TASKS[0:8],
    "Medium": BENCH_TASKS[8:11],
    "High": BENCH_TASKS[11:20],
}
LEVEL_OF: dict[str, str] = {task: level for level, tasks in LEVELS.items() for task in tasks}

NUMERIC = "numeric"  # scored by MRA
CHOICE = "choice"  # multiple choice, scored by accuracy
VCI = "vci"  # view_change_infer, key:value motion string

NUMERIC_TASKS: tuple[str, ...] = LEVELS["Low"]
VCI_TASKS: tuple[str, ...] = ("view_change_infer",)
CHOICE_TASKS: tuple[str, ...] = tuple(t for t in BENCH_TASKS if t not in NUMERIC_TASKS and t not in VCI_TASKS)
# lmms-eval reads the LAST number for these four, the first for the other numeric tasks.
MV_NUMERIC_TASKS: frozenset[str] = frozenset(
    ("depth_prediction_oc_mv", "depth_prediction_oo_mv", "distance_prediction_oc_mv", "distance_prediction_oo_mv")
)


def task_kind(task: str) -> str:
    """NUMERIC, CHOICE or VCI; KeyError for a task that is not one of the 20."""
    if task in NUMERIC_TASKS:
        return NUMERIC
    if task in VCI_TASKS:
        return VCI
    if task in CHOICE_TASKS:
        return CHOICE
    raise KeyError(task)
