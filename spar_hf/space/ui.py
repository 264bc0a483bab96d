"""The Gradio app: a Browse tab (samples with markers, depth, cameras, 3D, and a model's answers
beside the gold ones) and an Evaluate tab.

Two named API endpoints drive it from gradio_client: `/browse` (config, split, task, format,
source, position, id -> the sample) and `/evaluate` (predictions file, config, protocol,
reference rows -> tables, chart, reports). The predictions loaded for error analysis live in
the session's state (`spar_hf.space.review`), so they are not part of `/browse`'s signature. Pictures are sent as arrays (gradio writes them to
its own cache) and GLB / report files are written in the app's own temp folder, so the server
needs no allowed_paths: nothing of the dataset folder or the uploads is ever served as a path.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from spar_hf.errors import SparError
from spar_hf.eval.reference import load_reference
from spar_hf.space import evaluation, render, scene3d
from spar_hf.space.data import ALL, IMAGE_COLUMN, SpaceDataset
from spar_hf.space.review import Review, review

PROTOCOLS = ("lmms-eval", "vlmevalkit", "strict")
DEFAULT_REFERENCES = ("GPT-4o", "Qwen2.5-VL-72B")
TASK_HEADERS = ["task", "short", "level", "questions", "predicted", "missing", "null", "score"]
SUMMARY_HEADERS = ["model", "Avg", "Low", "Medium", "High", "note"]
KEYS_JS = """
() => {
  document.addEventListener('keydown', (event) => {
    const target = event.target;
    const tag = target && target.tagName ? target.tagName.toLowerCase() : '';
    if (tag === 'input' || tag === 'textarea' || tag === 'select' || (target && target.isContentEditable)) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const ids = {ArrowRight: 'spar-next', n: 'spar-next', ArrowLeft: 'spar-prev', p: 'spar-prev'};
    const id = ids[event.key];
    if (!id) return;
    const button = document.getElementById(id);
    if (button) { event.preventDefault(); button.click(); }
  });
}
"""
CSS = "#spar-question textarea, #spar-answer textarea {font-size: 1.05em}"


class SpaceApp:
    """State shared by the handlers: the dataset, cached bench columns, the app's temp folder."""

    def __init__(self, dataset: str, work_dir: str | Path | None = None):
        self.data = SpaceDataset(dataset)
        self.work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="spar-space-"))
        self.work.mkdir(parents=True, exist_ok=True)
        self._bench: dict[str, dict[str, list[Any]]] = {}
        self._lock = threading.Lock()

    # --- browse -----------------------------------------------------------------------------------
    def bench_configs(self) -> list[str]:
        return [c for c in self.data.config_names if self.data.config(c).kind == "bench"]

    def options(self, config: str, split: str | None = None) -> tuple[list[str], str, dict[str, list[str]]]:
        splits = self.data.config(config).splits
        split = split if split in splits else splits[0]
        return splits, split, self.data.choices(config, split)

    def browse(self, config: str, split: str, task: str, fmt: str, source: str, position: float | int | None,
               ident: str | None, loaded: Review | None = None, wrong_only: bool = False) -> dict[str, Any]:
        """The sample at `position` among the rows matching the filters, or the row with `ident`.

        With `wrong_only`, only the rows the `loaded` predictions did not answer fully right count.
        """
        info = self.data.config(config)
        selected = self.data.select(config, split, task or ALL, fmt or ALL, source or ALL)
        if wrong_only:
            if loaded is None or loaded.config != config:
                raise SparError(f"load a predictions file for {config} to show only its wrong answers")
            selected = selected[loaded.wrong_mask(self.data.index(config, split).ids)[selected]]
            if not selected.size and ident in (None, ""):
                raise SparError(f"no wrong answers among the {config}/{split} rows matching task={task} format={fmt} "
                                f"source={source}")
        if ident not in (None, ""):
            row_pos = self.data.position_of(config, split, str(ident).strip())
            hits = np.flatnonzero(selected == row_pos)
            index = int(hits[0]) if hits.size else None
        else:
            if not selected.size:
                raise SparError(f"no {config}/{split} rows match task={task} format={fmt} source={source}")
            index = int(position or 0) % len(selected)
            row_pos = int(selected[index])
        row = self.data.row(config, split, row_pos)
        return self._present(info, config, split, row, index, len(selected))

    def _present(self, info, config: str, split: str, row: dict[str, Any], index: int | None, total: int) -> dict[str, Any]:
        kind = info.kind
        images = render.marked_images(row, kind)
        fmt = row.get("format", row.get("format_type"))
        view = row.get("view", row.get("img_type"))
        where = f"{index + 1} of {total}" if index is not None else f"(not in the current filter of {total})"
        details = [f"**id** `{row['id']}` | **task** {row['task']} | **format** {fmt} | **source** {row['source']} "
                   f"| **view** {view} | sample {where}"]
        if kind == "spatialforge":
            details.append(render.box_legend(row))
        meta = render.meta_of(row)
        cameras_row = row if info.rgbd else self._twin_cameras(config, split, str(row["id"]))
        depth = render.depth_views(row) if info.rgbd else []
        camera = render.camera_text(cameras_row) if cameras_row else ""
        glb, legend = self._glb(config, split, row, meta, cameras_row, images)
        return {
            "images": [(np.asarray(img), f"image {i}: {path}") for i, (img, path) in
                       enumerate(zip(images, _image_names(row[IMAGE_COLUMN[kind]])))],
            "question": row["question"],
            "answer": row["answer"],
            "details": "\n\n".join(d for d in details if d),
            "depth": depth,
            "camera": camera or "_no camera in this config (pose and intrinsics come with the -rgbd configs)_",
            "model3d": glb,
            "legend": legend,
            "index": index if index is not None else 0,
            "meta": meta,
            "id": str(row["id"]),
        }

    def _twin_cameras(self, config: str, split: str, ident: str) -> dict[str, Any] | None:
        """Pose and intrinsics of the same id in the RGBD twin config (7m -> 7m-rgbd), when built."""
        twin = self.data.twin_rgbd(config)
        if twin is None or split not in self.data.config(twin).splits:
            return None
        try:
            position = self.data.position_of(twin, split, ident)
        except SparError:
            return None
        return self.data.row(twin, split, position, ["id", "pose", "intrinsics"])

    def _glb(self, config: str, split: str, row: dict[str, Any], meta: dict[str, Any], cameras_row: dict[str, Any] | None,
             images: list) -> tuple[str | None, str]:
        objects = [o for o in meta.get("objects") or [] if isinstance(o, dict) and "center" in o and "extents" in o]
        cameras = []
        if cameras_row:
            for pose, k, image in zip(cameras_row.get("pose") or [], cameras_row.get("intrinsics") or [], images):
                cameras.append((np.asarray(pose, dtype=float), np.asarray(k, dtype=float), image.size[0], image.size[1]))
        context = []
        if row.get("scene") and objects:
            own = {o.get("id") for o in objects}
            context = [o for o in self.data.scene_objects(config, split, row["scene"]) if o.get("id") not in own]
        name = hashlib.sha1(f"{config}\0{split}\0{row['id']}".encode()).hexdigest()[:16]
        path = scene3d.write_glb(self.work / "glb" / f"{name}.glb", objects, cameras, context)
        if path is None:
            return None, "_no 3D view: this row records no objects and no cameras_"
        return str(path), scene3d.legend(objects, len(cameras), len(context))

    # --- evaluate ---------------------------------------------------------------------------------
    def bench_rows(self, config: str) -> dict[str, list[Any]]:
        with self._lock:
            if config not in self._bench:
                self._bench[config] = evaluation.bench_rows(self.data.dataset, config)
            return self._bench[config]

    def load_review(self, upload: str | None, config: str, protocol: str) -> Review:
        """Score an uploaded predictions file per question on a bench config, for the Browse tab."""
        if not upload:
            raise SparError("upload a predictions JSONL first")
        if protocol not in PROTOCOLS:
            raise SparError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        if config not in self.bench_configs():
            raise SparError(f"predictions are scored on a bench config ({', '.join(self.bench_configs()) or 'none built'}); "
                            f"{config} is not one")
        name = Path(upload).name
        return review(self.bench_rows(config), evaluation.check_upload(upload, name), config, protocol, name)

    def evaluate(self, upload: str | None, config: str, protocol: str, references: list[str] | None) -> dict[str, Any]:
        if not upload:
            raise SparError("upload a predictions JSONL first")
        if protocol not in PROTOCOLS:
            raise SparError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
        if config not in self.bench_configs():
            raise SparError(f"{config!r} is not a bench config; choose from {', '.join(self.bench_configs())}")
        name = Path(upload).name
        predictions = evaluation.check_upload(upload, name)
        result = evaluation.score(self.bench_rows(config), predictions, protocol)
        reference = evaluation.reference_rows(evaluation.reference_table_for(config), list(references or []))
        meta = {"dataset": self.data.dataset, "config": config, "predictions": name}
        out_dir = Path(tempfile.mkdtemp(prefix="report-", dir=self.work))
        json_path, csv_path = evaluation.write_reports(result, meta, reference, out_dir)
        avg = result.summary["Avg"]
        status = (f"Scored **{result.n_questions}** questions of `{config}` under **{protocol}**: "
                  f"Avg {'-' if avg is None else f'{avg:.2f}'}; {len(predictions.by_id)} predictions, "
                  f"{len(result.missing_ids)} missing (scored 0), {len(result.unknown_ids)} unknown ids (ignored).")
        return {
            "status": status,
            "summary": evaluation.summary_rows(result, reference),
            "tasks": evaluation.task_rows(result, meta),
            "chart": evaluation.chart_rows(result, reference),
            "json": str(json_path),
            "csv": str(csv_path),
        }


def _image_names(cells: list[dict[str, Any]]) -> list[str]:
    return [(c or {}).get("path") or "" for c in cells]


def reference_names(table: str) -> list[str]:
    return [row.name for row in load_reference(table)]


def build_app(dataset: str, work_dir: str | Path | None = None):
    """The gr.Blocks app for `dataset` (local HF_DIR or hub id)."""
    import gradio as gr  # deferred, the 'space' extra
    import pandas as pd

    app = SpaceApp(dataset, work_dir)
    configs = app.data.config_names
    first = "7m" if "7m" in configs else configs[0]
    splits, split, choices = app.options(first)
    bench_configs = app.bench_configs()

    def dropdown(values: list[str], label: str):
        return gr.Dropdown([ALL, *values], value=ALL, label=label, allow_custom_value=True)

    with gr.Blocks(title="SPAR browser") as demo:
        gr.Markdown(f"# SPAR browser\nDataset: `{app.data.dataset}`. Keys: **n** / **&rarr;** next sample, "
                    "**p** / **&larr;** previous (outside text boxes).")
        with gr.Tab("Browse"):
            with gr.Row():
                config_in = gr.Dropdown(configs, value=first, label="config")
                split_in = gr.Dropdown(splits, value=split, label="split", allow_custom_value=True)
                task_in = dropdown(choices["task"], "task")
                format_in = dropdown(choices["format"], "format")
                source_in = dropdown(choices["source"], "source")
            with gr.Row():
                prev_btn = gr.Button("< previous", elem_id="spar-prev", scale=1)
                index_in = gr.Number(value=0, precision=0, label="sample (0-based, among the filtered)", scale=1)
                next_btn = gr.Button("next >", elem_id="spar-next", scale=1)
                id_in = gr.Textbox(label="go to id", placeholder="row id", scale=2)
                go_btn = gr.Button("go", scale=1)
            with gr.Accordion("model predictions: answers beside the gold ones (bench configs)", open=False,
                              elem_id="spar-review"):
                with gr.Row():
                    review_file_in = gr.File(label="predictions (.jsonl)", file_types=[".jsonl", ".json", ".txt"],
                                             type="filepath", elem_id="spar-review-file", scale=2)
                    with gr.Column(scale=1):
                        review_protocol_in = gr.Radio(list(PROTOCOLS), value="lmms-eval", label="scored under")
                        wrong_in = gr.Checkbox(value=False, label="only questions not answered fully right",
                                               elem_id="spar-wrong")
                review_status_out = gr.Markdown(elem_id="spar-review-status")
            details_out = gr.Markdown(label="sample", elem_id="spar-details")
            gallery_out = gr.Gallery(label="images (markers drawn)", columns=3, height=420, elem_id="spar-images", format="png")
            with gr.Row():
                question_out = gr.Textbox(label="question", lines=4, elem_id="spar-question")
                answer_out = gr.Textbox(label="answer", lines=4, elem_id="spar-answer")
                with gr.Column():
                    prediction_out = gr.Textbox(label="model's answer", lines=3, elem_id="spar-prediction")
                    score_out = gr.Markdown(elem_id="spar-score")
            with gr.Accordion("depth and cameras", open=False):
                depth_out = gr.Gallery(label="depth (turbo: near blue, far red, black = no reading)", columns=3, height=300)
                camera_out = gr.Markdown(label="cameras")
            with gr.Row():
                model_out = gr.Model3D(label="scene: object boxes and camera frusta (z up)", height=420, clear_color=(1, 1, 1, 1))
                legend_out = gr.Markdown(label="3D legend")
            meta_out = gr.JSON(label="provenance (meta)")

        review_state = gr.State(None)  # the session's loaded predictions (a Review)
        wrong_state = gr.State(False)
        shown_state = gr.State("")  # id of the row on screen
        browse_outputs = [gallery_out, question_out, answer_out, details_out, depth_out, camera_out, model_out, legend_out,
                          index_in, meta_out, shown_state]

        def browse(config, split, task, fmt, source, position, ident, loaded=None, wrong=False):
            try:
                out = app.browse(config, split, task, fmt, source, position, ident, loaded, bool(wrong))
            except SparError as exc:
                raise gr.Error(str(exc)) from None
            return (out["images"], out["question"], out["answer"], out["details"], out["depth"], out["camera"],
                    out["model3d"], out["legend"], out["index"], out["meta"], out["id"])

        def step(delta):
            def run(config, split, task, fmt, source, position, loaded, wrong):
                return browse(config, split, task, fmt, source, int(position or 0) + delta, "", loaded, wrong)
            return run

        def show_prediction(loaded, config, ident):
            if loaded is None or loaded.config != config:
                return "", ""
            return loaded.show(ident)

        def load_review(upload, config, protocol):
            if not upload:
                return None, "", False
            try:
                loaded = app.load_review(upload, config, protocol)
            except SparError as exc:
                return None, "**Not loaded.**\n\n```\n" + str(exc) + "\n```", False
            return loaded, loaded.status(), gr.Checkbox()

        def on_config(config):
            splits, split, choices = app.options(config)
            return (gr.Dropdown(choices=splits, value=split), *_filter_updates(choices))

        def on_split(config, split):
            _, split, choices = app.options(config, split)
            return _filter_updates(choices)

        def _filter_updates(choices):
            return tuple(gr.Dropdown(choices=[ALL, *choices[k]], value=ALL) for k in ("task", "format", "source"))

        filters = [config_in, split_in, task_in, format_in, source_in]
        review_inputs = [review_state, wrong_state]
        shown = dict(fn=show_prediction, inputs=[review_state, config_in, shown_state], outputs=[prediction_out, score_out],
                     api_visibility="private")
        go_btn.click(browse, [*filters, index_in, id_in, *review_inputs], browse_outputs, api_name="browse").then(**shown)
        id_in.submit(browse, [*filters, index_in, id_in, *review_inputs], browse_outputs, api_visibility="private").then(**shown)
        next_btn.click(step(1), [*filters, index_in, *review_inputs], browse_outputs, api_visibility="private").then(**shown)
        prev_btn.click(step(-1), [*filters, index_in, *review_inputs], browse_outputs, api_visibility="private").then(**shown)
        first = [*filters, gr.State(0), *review_inputs]
        config_in.change(on_config, [config_in], [split_in, task_in, format_in, source_in], api_visibility="private").then(
            load_review, [review_file_in, config_in, review_protocol_in], [review_state, review_status_out, wrong_in],
            api_visibility="private").then(
            lambda wrong, loaded: bool(wrong and loaded), [wrong_in, review_state], [wrong_state], api_visibility="private").then(
            step(0), first, browse_outputs, api_visibility="private").then(**shown)
        split_in.input(on_split, [config_in, split_in], [task_in, format_in, source_in], api_visibility="private").then(
            step(0), first, browse_outputs, api_visibility="private").then(**shown)
        for component in (task_in, format_in, source_in):
            component.input(step(0), first, browse_outputs, api_visibility="private").then(**shown)
        for component in (review_file_in, review_protocol_in):
            component.change(load_review, [review_file_in, config_in, review_protocol_in],
                             [review_state, review_status_out, wrong_in], api_visibility="private").then(
                lambda wrong, loaded: bool(wrong and loaded), [wrong_in, review_state], [wrong_state],
                api_visibility="private").then(step(0), first, browse_outputs, api_visibility="private").then(**shown)
        wrong_in.input(lambda wrong: bool(wrong), [wrong_in], [wrong_state], api_visibility="private").then(
            step(0), first, browse_outputs, api_visibility="private").then(**shown)
        demo.load(step(0), first, browse_outputs, api_visibility="private").then(**shown)

        with gr.Tab("Evaluate"):
            gr.Markdown(f"Upload predictions as JSONL, one `{{\"id\": <bench id>, \"prediction\": \"<model output>\"}}` per line "
                        f"(at most {evaluation.MAX_UPLOAD_BYTES // (1024 * 1024)} MiB). Scores are those of "
                        "`spar-hf eval` on the same file (docs/eval.md).")
            with gr.Row():
                upload_in = gr.File(label="predictions (.jsonl)", file_types=[".jsonl", ".json", ".txt"], type="filepath")
                with gr.Column():
                    bench_in = gr.Dropdown(bench_configs, value=bench_configs[0] if bench_configs else None, label="bench config")
                    protocol_in = gr.Radio(list(PROTOCOLS), value="lmms-eval", label="protocol")
                    full_names = reference_names("full")
                    refs_in = gr.Dropdown(full_names, value=[n for n in DEFAULT_REFERENCES if n in full_names], multiselect=True,
                                          label="reference rows (paper Table 4; Table 11 for tiny configs)")
                    eval_btn = gr.Button("Evaluate", variant="primary", elem_id="spar-evaluate")
            status_out = gr.Markdown(label="status", elem_id="spar-eval-status")
            summary_out = gr.Dataframe(headers=SUMMARY_HEADERS, label="summary (0-100; Avg = mean of the 20 tasks)", interactive=False)
            with gr.Row():
                tasks_out = gr.Dataframe(headers=TASK_HEADERS, label="per task", interactive=False, scale=3)
                chart_out = gr.BarPlot(x="bar", y="score", color="model", label="Avg / Low / Medium / High beside the paper",
                                       x_label_angle=-45, y_lim=[0, 100], sort=None, scale=2)
            with gr.Row():
                json_out = gr.File(label="report.json")
                csv_out = gr.File(label="report.csv")

        def on_bench(config):
            names = reference_names(evaluation.reference_table_for(config or ""))
            return gr.Dropdown(choices=names, value=[n for n in DEFAULT_REFERENCES if n in names])

        bench_in.change(on_bench, [bench_in], [refs_in], api_visibility="private")

        def run_eval(upload, config, protocol, references):
            empty = pd.DataFrame(columns=["bar", "summary", "model", "score"])
            try:
                out = app.evaluate(upload, config, protocol, references)
            except SparError as exc:
                message = "**Not scored.**\n\n```\n" + str(exc) + "\n```"
                return message, [], [], empty, None, None
            chart = pd.DataFrame(out["chart"], columns=["bar", "summary", "model", "score"])
            plot = gr.BarPlot(value=chart, sort=[bar["bar"] for bar in out["chart"]])  # keep Avg, Low, Medium, High order
            return out["status"], out["summary"], out["tasks"], plot, out["json"], out["csv"]

        eval_btn.click(run_eval, [upload_in, bench_in, protocol_in, refs_in],
                       [status_out, summary_out, tasks_out, chart_out, json_out, csv_out], api_name="evaluate")
    demo.spar_app = app
    return demo


def launch(dataset: str, host: str = "127.0.0.1", port: int | None = None, *, block: bool = True, quiet: bool = False):
    """Build and launch the app; allowed_paths stays empty (see the module docstring)."""
    import gradio as gr  # deferred, the 'space' extra

    demo = build_app(dataset)
    demo.queue(default_concurrency_limit=2)
    demo.launch(server_name=host, server_port=port, prevent_thread_lock=not block, quiet=quiet, allowed_paths=[],
                max_file_size=evaluation.MAX_UPLOAD_BYTES, js=KEYS_JS, css=CSS, theme=gr.themes.Soft(),
                footer_links=["api"], show_error=True)
    return demo
