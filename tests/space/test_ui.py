"""The Space end to end: a small real build, the app on 127.0.0.1, driven by gradio_client,
raw HTTP (file route, forged upload paths) and Playwright with Debian chromium.

Expected values come from the SPAR layout files the build was made from (questions, markers,
poses), from `spar-hf eval` on the same predictions, and from hand geometry.
"""

import json
import os
import shutil
import socket
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx
import numpy as np
import pytest
import trimesh
from PIL import Image

from spar_hf.cli import main
from spar_hf.packs import Pack

pytestmark = pytest.mark.slow
TASKS = "depth_prediction_oc,depth_prediction_oc_mv,position_matching,obj_spatial_relation_oo,view_change_infer"
CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_COPY = os.environ.get("SPAR_SPACE_SCREENSHOT")  # optional: also copy the screenshot here


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("space")
    scenes, spar, hf = root / "scenes", root / "spar", root / "hf"
    assert main(["synth", "--out", str(scenes), "--scenes", "2", "--frames", "6", "--seed", "0"]) == 0
    assert main(["generate", "--source", "synthetic", "--scenes", str(scenes), "--out", str(spar), "--val-fraction", "0.5",
                 "--tasks", TASKS]) == 0
    assert main(["build", "--from", str(spar), "--out", str(hf), "--configs", "7m,7m-rgbd,bench"]) == 0
    return root, spar, hf


@pytest.fixture(scope="module")
def server(built):
    from spar_hf.space.ui import launch

    root, spar, hf = built
    port = _free_port()
    demo = launch(str(hf), "127.0.0.1", port, block=False, quiet=True)
    yield f"http://127.0.0.1:{port}/", demo
    demo.close()


def test_space_command_serves_and_stops_on_sigterm(built):
    import signal
    import subprocess
    import time

    _, _, hf = built
    port = _free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    proc = subprocess.Popen([sys.executable, "-m", "spar_hf", "space", "--dataset", str(hf), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        info = httpx.get(f"http://127.0.0.1:{port}/gradio_api/info", timeout=10).json()
        assert {"/browse", "/evaluate"} <= set(info["named_endpoints"])
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert f"space: in=0 out=0 rejected=0 dataset={hf} url=http://127.0.0.1:{port}/" in out


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server[0], verbose=False)


def _layout_record(spar: Path, task: str, fmt: str = "fill") -> dict:
    path = next((spar / "synthetic" / "qa_jsonl" / "val" / task / fmt).glob("*.jsonl"))
    return json.loads(path.read_text().splitlines()[0])


def _gallery_images(gallery) -> list[Image.Image]:
    return [Image.open(item["image"]).convert("RGB") for item in gallery]


def _at(marker, size):
    return int(marker[0] / 1000 * size[0]), int(marker[1] / 1000 * size[1])


def test_browse_by_id_images_markers_question_and_3d(client, built):
    _, spar, _ = built
    record = _layout_record(spar, "depth_prediction_oc")
    out = client.predict("7m", "validation", "(all)", "(all)", "(all)", 0, record["id"], api_name="/browse")
    gallery, question, answer, details, depth, camera, model, legend, index, meta = out
    assert question == record["conversations"][0]["value"]
    assert answer == record["conversations"][1]["value"]
    assert record["id"] in details
    images = _gallery_images(gallery)
    assert len(images) == 1 and images[0].size == (640, 480)
    # markers drawn as filled discs in their colours at the 0..1000 positions of the layout record
    assert images[0].getpixel(_at(record["red_point"][0], images[0].size)) == (255, 0, 0)
    assert images[0].getpixel(_at(record["blue_point"][0], images[0].size)) == (0, 0, 255)
    # 3D: one box per meta object, one frustum (pose from the 7m-rgbd twin), the floor
    scene = trimesh.load(model, file_type="glb", force="scene")
    nodes = scene.graph.nodes_geometry
    assert sum(n.startswith("object_") for n in nodes) == len(record["meta"]["objects"])
    assert sum(n.startswith("camera_") for n in nodes) == 1 and "floor" in nodes
    for obj in record["meta"]["objects"]:
        assert obj["label"] in legend
    # the other objects of the scene: every object id any layout record of that scene names, minus the sample's
    scene_ids = set()
    for path in (spar / "synthetic" / "qa_jsonl" / "val").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            meta = json.loads(line).get("meta", {})
            if meta.get("scene") == record["meta"]["scene"]:
                scene_ids |= {o["id"] for o in meta.get("objects", []) if "center" in o}
    others = scene_ids - {o["id"] for o in record["meta"]["objects"]}
    assert len(others) > 0 and sum(n.startswith("context_") for n in nodes) == len(others)
    assert f"{len(others)} other object(s)" in legend
    # camera centre of the frustum = translation of the layout's pose file, turned to y-up (x, z, -y)
    frame = record["meta"]["frames"][0]
    pose = np.loadtxt(spar / "synthetic" / "images" / record["meta"]["scene"] / "pose" / f"{frame}.txt")
    cam = next(n for n in nodes if n.startswith("camera_"))
    transform, geom = scene.graph[cam]
    apex = trimesh.transform_points(scene.geometry[geom].vertices[:1], transform)[0]
    assert apex.tolist() == pytest.approx([pose[0, 3], pose[2, 3], -pose[1, 3]], abs=1e-4)
    assert f"{pose[0, 3]:9.4f}".strip() in camera


def test_browse_rgbd_depth_and_paging(client, built):
    _, spar, _ = built
    record = _layout_record(spar, "depth_prediction_oc_mv")
    out = client.predict("7m-rgbd", "validation", "depth_prediction_oc_mv", "fill", "synthetic", 0, record["id"], api_name="/browse")
    gallery, question, _, details, depth, camera, _, _, index, _ = out
    assert question == record["conversations"][0]["value"]
    assert len(gallery) == len(record["image"]) == len(depth)
    frame = record["meta"]["frames"][0]
    k = np.loadtxt(spar / "synthetic" / "images" / record["meta"]["scene"] / "intrinsic" / f"{frame}.txt")
    assert f"{k[0, 0]:9.4f}".strip() in camera
    depth_img = np.asarray(Image.open(depth[0]["image"]).convert("RGB"))
    assert depth_img.std() > 10 and "m" in depth[0]["caption"]
    n_rows = len(list((spar / "synthetic" / "qa_jsonl" / "val" / "depth_prediction_oc_mv" / "fill").glob("*.jsonl"))[0]
                 .read_text().splitlines())
    assert f"{index + 1} of {n_rows}" in details
    # paging: position n_rows wraps to the first row of the filter, position 1 is the second layout line
    first = client.predict("7m-rgbd", "validation", "depth_prediction_oc_mv", "fill", "(all)", n_rows, "", api_name="/browse")
    second = client.predict("7m-rgbd", "validation", "depth_prediction_oc_mv", "fill", "(all)", 1, "", api_name="/browse")
    lines = next((spar / "synthetic" / "qa_jsonl" / "val" / "depth_prediction_oc_mv" / "fill").glob("*.jsonl")).read_text().splitlines()
    assert json.loads(lines[0])["id"] in first[3] and first[8] == 0
    assert json.loads(lines[1])["id"] in second[3] and second[8] == 1


def test_browse_bench_rows(client, built):
    _, _, hf = built
    with Pack(next((hf / "bench").glob("test-*.zip"))) as pack:
        table = pack.metadata("bench", ["id", "question", "answer", "task"])
    row = table.slice(5, 1).to_pylist()[0]
    out = client.predict("bench", "test", "(all)", "(all)", "(all)", 0, str(row["id"]), api_name="/browse")
    assert out[1] == row["question"] and out[2] == row["answer"] and len(out[0]) >= 1


def _predictions(hf: Path, path: Path) -> None:
    with Pack(next((hf / "bench").glob("test-*.zip"))) as pack:
        table = pack.metadata("bench", ["id", "answer"]).to_pylist()
    lines = []
    for r in table:
        if r["id"] % 3 == 0:
            lines.append({"id": r["id"], "prediction": r["answer"]})
        elif r["id"] % 3 == 1:
            lines.append({"id": str(r["id"]), "prediction": "A"})
    lines.append({"id": 99999, "prediction": "1.0"})
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))


@pytest.mark.parametrize("protocol", ["lmms-eval", "strict"])
def test_evaluate_matches_cli(client, built, tmp_path, protocol):
    from gradio_client import handle_file

    _, _, hf = built
    preds = tmp_path / "preds.jsonl"
    _predictions(hf, preds)
    cli_out = tmp_path / "cli.json"
    assert main(["eval", "--dataset", str(hf), "--config", "bench", "--predictions", str(preds), "--protocol", protocol,
                 "--format", "json", "--out", str(cli_out)]) == 0
    cli = json.loads(cli_out.read_text())
    status, summary, tasks, chart, report_json, report_csv = client.predict(
        handle_file(str(preds)), "bench", protocol, ["GPT-4o"], api_name="/evaluate")
    ours = json.loads(Path(report_json).read_text())
    assert ours["summary"] == cli["summary"] and ours["tasks"] == cli["tasks"]
    assert ours["missing_ids"] == cli["missing_ids"] and ours["unknown_ids"] == [99999]
    assert ours["protocol"] == protocol and ours["reference"][0]["name"] == "GPT-4o"
    first = summary["data"][0]
    for i, key in enumerate(("Avg", "Low", "Medium", "High"), 1):
        expected = cli["summary"][key]
        assert first[i] == (None if expected is None else round(expected, 2))
    by_task = {row[0]: row for row in tasks["data"]}
    for t in cli["tasks"]:
        assert by_task[t["task"]][3] == t["questions"]
        assert by_task[t["task"]][7] == (None if t["score"] is None else round(t["score"], 2))
    bars = chart["value"]  # an update: the plot's data plus the bar order (Avg, Low, Medium, High)
    assert "GPT-4o" in {row[2] for row in bars["data"]}
    assert chart["sort"] == [row[0] for row in bars["data"]]
    order = ["Avg", "Low", "Medium", "High"]
    keys = [bar.split(" | ")[0] for bar in chart["sort"]]
    assert keys == sorted(keys, key=order.index) and chart["sort"][-1] == "High | GPT-4o"
    # unscored summaries (this bench has 5 of the 20 tasks, so no Avg) get no bar
    assert ("Avg | your predictions" in chart["sort"]) == (cli["summary"]["Avg"] is not None)
    csv_text = Path(report_csv).read_text()
    assert csv_text.startswith("protocol,key,") and f"{protocol},depth_prediction_oc," in csv_text
    assert f"under **{protocol}**" in status


def test_evaluate_refuses_bad_uploads(client, tmp_path):
    from gradio_client import handle_file

    binary = tmp_path / "model.jsonl"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    status = client.predict(handle_file(str(binary)), "bench", "lmms-eval", [], api_name="/evaluate")[0]
    assert "Not scored" in status and "binary file" in status
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 0, "prediction": "A"}\n{"id": 0, "prediction": "B"}\n{oops\n')
    status, summary, *_ = client.predict(handle_file(str(bad)), "bench", "lmms-eval", [], api_name="/evaluate")
    assert "line 2: duplicate id 0 (first on line 1)" in status and "line 3: not JSON" in status
    assert not summary["data"] or summary["data"] == [[]] or all(not any(r) for r in summary["data"])


def test_upload_over_the_size_cap_is_refused(server, tmp_path):
    from spar_hf.space.evaluation import MAX_UPLOAD_BYTES

    url, _ = server
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as handle:
        handle.truncate(MAX_UPLOAD_BYTES + 1)
    with open(big, "rb") as handle:
        response = httpx.post(url + "gradio_api/upload", files={"files": ("big.jsonl", handle)}, timeout=60)
    assert response.status_code == 413


def test_file_route_serves_only_app_files(server, client, built):
    url, _ = server
    _, spar, hf = built
    pack = next((hf / "7m" / "validation").glob("validation-*.zip"))
    for outside in ("/etc/passwd", str(pack), str(Path(__file__).resolve())):
        response = httpx.get(f"{url}gradio_api/file={outside}", timeout=30)
        assert response.status_code in (403, 404), (outside, response.status_code)
        assert b"root:" not in response.content and b"PK\x03\x04" not in response.content[:4]
    # what the app itself produced is served
    record = _layout_record(spar, "depth_prediction_oc")
    gallery = client.predict("7m", "validation", "(all)", "(all)", "(all)", 0, record["id"], api_name="/browse")[0]
    served = gallery[0]["image"]
    remote = httpx.post(f"{url}gradio_api/call/browse",
                        json={"data": ["7m", "validation", "(all)", "(all)", "(all)", 0, record["id"]]}, timeout=60)
    event_id = remote.json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/browse/{event_id}", timeout=120).text
    payload = json.loads(stream.split("data: ", 1)[1].splitlines()[0])
    image_url = payload[0][0]["image"]["url"]
    assert httpx.get(image_url, timeout=30).status_code == 200
    assert Path(served).is_file()


def test_forged_upload_path_is_not_opened(server):
    """A client that names a server path instead of uploading gets an error, not that file scored."""
    url, _ = server
    forged = {"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}, "orig_name": "p.jsonl"}
    response = httpx.post(f"{url}gradio_api/call/evaluate", json={"data": [forged, "bench", "lmms-eval", []]}, timeout=60)
    event_id = response.json()["event_id"]
    stream = httpx.get(f"{url}gradio_api/call/evaluate/{event_id}", timeout=120).text
    assert "event: error" in stream
    assert "Scored" not in stream


def _open_app(pw, url: str):
    """Debian chromium on the app, once the first sample is shown: (browser, page, the details locator)."""
    assert Path(CHROMIUM).is_file(), "Debian chromium is needed (apt-get install -y chromium)"
    browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                 args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    details = page.locator("#spar-details")
    details.get_by_text("sample 1 of").wait_for(timeout=60_000)
    return browser, page, details


def test_playwright_pick_task_and_step(server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, _ = server
    shot = tmp_path / "space.png"
    with sync_playwright() as pw:
        browser, page, details = _open_app(pw, url)
        task = page.get_by_label("task")
        task.click()
        task.fill("position_matching")
        page.get_by_role("option", name="position_matching", exact=True).click()
        details.get_by_text("position_matching").wait_for(timeout=60_000)
        details.get_by_text("sample 1 of").wait_for(timeout=60_000)
        page.locator("body").click(position={"x": 5, "y": 5})
        page.keyboard.press("n")  # keyboard shortcut: next sample
        details.get_by_text("sample 2 of").wait_for(timeout=60_000)
        page.locator("#spar-next").click()
        details.get_by_text("sample 3 of").wait_for(timeout=60_000)
        page.keyboard.press("ArrowLeft")
        details.get_by_text("sample 2 of").wait_for(timeout=60_000)
        assert "position_matching" in details.inner_text()
        page.locator("#spar-images img").first.wait_for(timeout=60_000)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
    if SCREENSHOT_COPY:
        shutil.copy(shot, SCREENSHOT_COPY)


def test_playwright_predictions_beside_gold_and_wrong_answer_filter(server, built, tmp_path):
    """Browse: load predictions, keep only the questions not answered fully right, step through them."""
    import datasets
    from playwright.sync_api import sync_playwright

    _, _, hf = built
    bench = datasets.load_dataset(str(hf), "bench", split="test", cache_dir=str(tmp_path / "c")).remove_columns("image")
    gold = {r["id"]: r["answer"] for r in bench}
    predictions = {i: (answer if i % 2 == 0 else "A") for i, answer in gold.items() if i % 5 != 1}
    preds = tmp_path / "model.jsonl"
    preds.write_text("".join(json.dumps({"id": i, "prediction": p}) + "\n" for i, p in predictions.items()))
    # under lmms-eval the gold answer's own text scores 1 and every other answer here scores below 1: "A" against
    # a B/C/D letter, "A" where a number or a camera motion is expected, and no prediction at all
    wrong = {i for i in gold if predictions.get(i) != gold[i]}
    assert 0 < len(wrong) < len(gold)
    url, _ = server
    with sync_playwright() as pw:
        browser, page, details = _open_app(pw, url)
        config = page.get_by_label("config")
        config.click()
        page.get_by_role("option", name="bench", exact=True).click()
        details.get_by_text(f"sample 1 of {len(gold)}").wait_for(timeout=60_000)
        page.locator("#spar-review").get_by_text("model predictions").click()
        page.locator("#spar-review-file input[type=file]").set_input_files(str(preds))
        status = page.locator("#spar-review-status")
        status.get_by_text(f"{len(gold)} questions, {len(gold) - len(wrong)} right (score 1), {len(wrong)} not "
                           f"({len(gold) - len(predictions)} missing, 0 null)").wait_for(timeout=60_000)
        page.locator("#spar-wrong input").check()
        details.get_by_text(f"sample 1 of {len(wrong)}").wait_for(timeout=60_000)
        seen = []
        for step in range(3):
            if step:
                page.locator("#spar-next").click()
                details.get_by_text(f"sample {step + 1} of {len(wrong)}").wait_for(timeout=60_000)
            ident = int(details.inner_text().split("id", 1)[1].split()[0].strip("`* "))
            assert ident in wrong
            seen.append(ident)
            answer = page.locator("#spar-answer textarea")
            prediction = page.locator("#spar-prediction textarea")
            page.wait_for_function("([a, b]) => document.querySelector(a).value === b",
                                   arg=["#spar-answer textarea", gold[ident]], timeout=60_000)
            expected = predictions.get(ident, "")
            page.wait_for_function("([a, b]) => document.querySelector(a).value === b",
                                   arg=["#spar-prediction textarea", expected], timeout=60_000)
            assert answer.input_value() == gold[ident] and prediction.input_value() == expected
            score = page.locator("#spar-score").inner_text()
            assert "score 0." in score and "under lmms-eval" in score
            if ident not in predictions:
                assert "no prediction for this id" in score
        assert len(set(seen)) == 3
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        page.locator("#spar-wrong input").uncheck()
        details.get_by_text(f"of {len(gold)}").wait_for(timeout=60_000)
        browser.close()
    if SCREENSHOT_COPY:
        shutil.copy(tmp_path / "review.png", Path(SCREENSHOT_COPY).with_name("review.png"))
