"""`spar-hf export lmms-eval|vlmevalkit`: the bench as the other harnesses read it.

The bench is `fixtures.bench._bench_rows` (20 tasks x 2, `_mv` rows with 3 PNGs whose pixels encode id and
position). Expected values are the rows we wrote, read back the way each harness reads them
(`datasets.load_dataset("parquet", data_files=...)` as lmms-eval's task does; `pandas.read_csv(
sep="\\t")` and `ast.literal_eval` of list cells as VLMEvalKit does). Running the harnesses' own
code on an export is done outside the suite (docs/eval.md, "Checked against the harnesses").
"""

import ast
import base64
import hashlib
import json
import sys
import types
import zipfile

import pandas as pd
import pytest
import yaml
from fixtures.bench import _bench_rows, _png, write_bench

from spar_hf.cli import main
from spar_hf.eval.bench_data import image_bytes

HUB_FEATURES = {"id": "int64", "img_type": "string", "format_type": "string", "task": "string", "source": "string",
                "question": "string", "answer": "string"}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


def _function_loader():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: "function " + loader.construct_scalar(node))
    return Loader


def test_lmms_eval_task_folder(tmp_path, capsys):
    import datasets

    rows = _bench_rows()
    write_bench(tmp_path / "hf", rows=rows)
    out = tmp_path / "task"
    assert main(["export", "lmms-eval", "--dataset", str(tmp_path / "hf"), "--out", str(out)]) == 0
    parquet = (out / "data" / "test-00000-of-00001.parquet").resolve()
    assert capsys.readouterr().out.strip().endswith(
        f"export lmms-eval: in=40 out=40 rejected=0 task=spar_hf_bench yaml={out.resolve() / 'spar_hf_bench.yaml'}")
    config = yaml.load((out / "spar_hf_bench.yaml").read_text(), Loader=_function_loader())
    assert config["task"] == "spar_hf_bench" and config["dataset_path"] == "parquet" and config["test_split"] == "test"
    assert config["dataset_kwargs"] == {"data_files": {"test": str(parquet)}}
    assert config["output_type"] == "generate_until" and config["doc_to_target"] == "answer"
    assert config["doc_to_text"] == "function utils.sparbench_doc_to_text"
    assert config["doc_to_visual"] == "function utils.sparbench_doc_to_visual"
    assert config["process_docs"] == "function utils.process_docs"
    assert config["process_results"] == "function utils.sparbench_process_results"
    assert config["metric_list"] == [{"metric": "sparbench_score", "aggregation": "function utils.sparbench_aggregate_results",
                                      "higher_is_better": True}]
    assert config["generation_kwargs"] == {"max_new_tokens": 100, "temperature": 0, "top_p": 1.0, "num_beams": 1,
                                           "do_sample": False}
    assert config["lmms_eval_specific_kwargs"]["default"] == {
        "pre_prompt": "", "mca_post_prompt": "Answer with the option's letter from the given choices directly.",
        "na_post_prompt": "Please answer the question using a single word or phrase."}
    assert config["lmms_eval_specific_kwargs"]["gpt4v"]["na_post_prompt"] == "Do not response anything other than a single number!"
    # the data, loaded as the task's dataset_kwargs make lmms-eval load it
    loaded = datasets.load_dataset("parquet", data_files={"test": str(parquet)}, split="test", cache_dir=str(tmp_path / "c"))
    assert {k: v.dtype for k, v in loaded.features.items() if k != "image"} == HUB_FEATURES
    assert isinstance(loaded.features["image"], datasets.List) and isinstance(loaded.features["image"].feature, datasets.Image)
    undecoded = loaded.cast_column("image", datasets.List(datasets.Image(decode=False)))
    for i, row in enumerate(undecoded):
        assert row["id"] == rows["id"][i] and row["question"] == rows["question"][i] and row["answer"] == rows["answer"][i]
        assert [cell["bytes"] for cell in row["image"]] == [cell["bytes"] for cell in rows["image"][i]]
    assert loaded[2]["image"][2].getpixel((0, 0)) == (3, 100, 7)  # decoded as lmms-eval's doc_to_visual sees it


def test_lmms_eval_utils_hands_over_lmms_evals_own_functions(tmp_path, monkeypatch):
    """utils.py re-exports lmms-eval's sparbench functions and puts back the `partial` the 0.7.3 wheel lost."""
    write_bench(tmp_path / "hf", rows=_bench_rows())
    assert main(["export", "lmms-eval", "--dataset", str(tmp_path / "hf"), "--out", str(tmp_path / "t"), "--name", "mine"]) == 0
    fake = types.ModuleType("lmms_eval.tasks.sparbench.utils")
    names = ["process_docs", "sparbench_doc_to_visual", "sparbench_doc_to_text", "sparbench_process_results",
             "sparbench_aggregate_results"]
    for name in names:
        setattr(fake, name, object())
    package = types.ModuleType("lmms_eval.tasks.sparbench")
    package.utils = fake
    for module, value in (("lmms_eval", types.ModuleType("lmms_eval")), ("lmms_eval.tasks", types.ModuleType("lmms_eval.tasks")),
                          ("lmms_eval.tasks.sparbench", package), ("lmms_eval.tasks.sparbench.utils", fake)):
        monkeypatch.setitem(sys.modules, module, value)
    namespace: dict = {}
    exec(compile((tmp_path / "t" / "utils.py").read_text(), "utils.py", "exec"), namespace)
    for name in names:
        assert namespace[name] is getattr(fake, name)
    import functools

    assert fake.partial is functools.partial
    assert (tmp_path / "t" / "mine.yaml").is_file()


def test_vlmevalkit_tsv_reads_back_with_pandas(tmp_path, capsys):
    rows = _bench_rows()
    rows["question"][0] = 'Tab\there, "quoted"\nand a new line?'
    rows["answer"][5] = "NA"  # pandas would read it back as missing
    rows["image"][7] = []  # VLMEvalKit drops rows without an image
    write_bench(tmp_path / "hf", rows=rows)
    out = tmp_path / "vk"
    assert main(["export", "vlmevalkit", "--dataset", str(tmp_path / "hf"), "--out", str(out)]) == 0
    tsv = out / "SparBench_local.tsv"
    assert capsys.readouterr().out.strip().endswith(
        f"export vlmevalkit: in=40 out=38 rejected=2 name=SparBench_local tsv={tsv} "
        "(rejects by reason: answer 'NA' would be read back by pandas as missing: 1, no image: 1)")
    rejects = [json.loads(x) for x in (out / "rejects_vlmevalkit.jsonl").read_text().splitlines()]
    assert [(r["record"]["id"], r["reason"]) for r in rejects] == [
        (6, "answer 'NA' would be read back by pandas as missing"), (8, "no image: VLMEvalKit drops rows without one")]
    table = pd.read_csv(tsv, sep="\t")  # vlmeval.smp.load for .tsv
    assert list(table.columns) == ["index", "image", "image_path", "question", "answer", "task", "img_type", "format_type",
                                   "source"]
    kept = [i for i in range(40) if i not in (5, 7)]
    assert table["index"].tolist() == [rows["id"][i] for i in kept]
    assert table["question"].tolist() == [rows["question"][i] for i in kept]
    assert table["answer"].tolist() == [rows["answer"][i] for i in kept]
    assert table["task"].tolist() == [rows["task"][i] for i in kept]
    single = table.iloc[0]
    assert base64.b64decode(single["image"]) == _png((1, 0, 7))
    assert single["image_path"] == hashlib.sha1(_png((1, 0, 7))).hexdigest() + ".png"
    multi = table.iloc[2]  # id 3, depth_prediction_oc_mv: a list literal of three images
    images = [base64.b64decode(x) for x in ast.literal_eval(multi["image"])]
    assert images == [_png((3, 50 * k, 7)) for k in range(3)]
    assert ast.literal_eval(multi["image_path"]) == [hashlib.sha1(data).hexdigest() + ".png" for data in images]
    assert json.loads((out / "data_config.json").read_text()) == {
        "data": {"SparBench_local": {"class": "SparBench", "dataset": "SparBench_local"}}}


def test_export_refusals(tmp_path, capsys):
    write_bench(tmp_path / "hf", rows=_bench_rows())
    assert main(["export", "vlmevalkit", "--dataset", str(tmp_path / "hf"), "--out", str(tmp_path / "o"), "--name", "SparBench"]) == 2
    assert "VLMEvalKit would download its own TSV over that name" in capsys.readouterr().err
    assert main(["export", "lmms-eval", "--from", str(tmp_path / "hf"), "--out", str(tmp_path / "o")]) == 2
    assert "export lmms-eval reads a bench: pass --dataset HF_DIR (not --from)" in capsys.readouterr().err
    assert main(["export", "llava", "--dataset", str(tmp_path / "hf"), "--out", str(tmp_path / "o")]) == 2
    assert "export llava reads a SPAR layout: pass --from SPAR_DIR (not --dataset)" in capsys.readouterr().err


def test_image_bytes_from_bytes_a_file_or_an_archive_member(tmp_path):
    png = _png((1, 2, 3))
    (tmp_path / "a.png").write_bytes(png)
    with zipfile.ZipFile(tmp_path / "pack.zip", "w") as archive:
        archive.writestr("inner/b.png", png)
    assert image_bytes({"bytes": png, "path": None}) == png
    assert image_bytes({"bytes": None, "path": str(tmp_path / "a.png")}) == png
    assert image_bytes({"bytes": None, "path": f"zip://inner/b.png::{tmp_path / 'pack.zip'}"}) == png
    assert image_bytes({"bytes": None, "path": str(tmp_path / "missing.png")}) is None
    assert image_bytes(None) is None and image_bytes({"bytes": None, "path": None}) is None
