"""The tar stage: hand-built archives in every header variant tarfile writes, and damaged ones."""

from __future__ import annotations

import io
import tarfile

import pytest

from spar_hf.train.tarstream import ShardError, iter_members, tar_samples


def _tar(members: list[tuple[str, bytes]], fmt: int = tarfile.USTAR_FORMAT, dirs: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name in dirs:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _samples(blobs: dict[str, bytes]) -> tuple[list[dict], list[BaseException]]:
    errors: list[BaseException] = []
    out = list(tar_samples(({"url": url} for url in blobs), handler=lambda e: errors.append(e) or True,
                           open_url=lambda url: io.BytesIO(blobs[url])))
    return out, errors


LONG = "d/" + "x" * 120  # longer than ustar's 100-byte name field


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_members_in_every_header_format(fmt):
    names = ["a.json", "a.0.jpg", "sub/dir/b.txt", "e.bin"]
    if fmt != tarfile.USTAR_FORMAT:
        names.append(LONG + ".json")  # GNU: a 'L' long-name member; PAX: an 'x' header with path=
    else:
        names.append("p" * 90 + "/" + "q" * 60 + ".json")  # ustar: split into prefix + name
    payloads = [b"", b"\x00" * 511, b"y" * 512, b"z" * 513] + [b"{}"]
    got = list(iter_members(io.BytesIO(_tar(list(zip(names, payloads)), fmt, dirs=("d",))), "u.tar"))
    assert got == list(zip(names, payloads))


def test_non_ascii_names_in_pax_and_in_a_ustar_header_full_of_high_bytes():
    blob = _tar([("caf\u00e9.json", b"1")], tarfile.PAX_FORMAT)
    assert list(iter_members(io.BytesIO(blob), "u")) == [("caf\u00e9.json", b"1")]
    name = "\u00e9" * 70 + "/" + "\u00e9" * 45 + ".json"  # 230 bytes >= 0xA9: a byte sum near 45,000
    assert list(iter_members(io.BytesIO(_tar([(name, b"2")])), "u")) == [(name, b"2")]


def test_samples_are_grouped_by_key_with_lowercased_suffixes():
    blob = _tar([("k1.json", b"A"), ("k1.0.JPG", b"B"), ("k1.0.K.npy", b"C"), ("k2.json", b"D"),
                 ("__meta__", b"M"), ("noext", b"N"), (".hidden", b"H"), ("k3.x.y", b"E")])
    out, errors = _samples({"s.tar": blob})
    assert errors == []
    assert out == [{"__key__": "k1", "__url__": "s.tar", "json": b"A", "0.jpg": b"B", "0.k.npy": b"C"},
                   {"__key__": "k2", "__url__": "s.tar", "json": b"D"},
                   {"__key__": "k3", "__url__": "s.tar", "x.y": b"E"}]


def test_a_key_never_spans_two_shards():
    out, errors = _samples({"a.tar": _tar([("k.json", b"1")]), "b.tar": _tar([("k.0.jpg", b"2")])})
    assert errors == [] and [(s["__url__"], sorted(s)) for s in out] == [
        ("a.tar", ["__key__", "__url__", "json"]), ("b.tar", ["0.jpg", "__key__", "__url__"])]


def test_truncated_shard_keeps_whole_samples_and_reports_the_offset():
    blob = _tar([("k1.json", b"1" * 600), ("k2.0.jpg", b"2" * 600), ("k2.json", b"3")])
    # headers at 0, 1536 (k1 data 1024 padded), 3072; cut inside k2.json's header block
    out, errors = _samples({"s.tar": blob[:3072 + 100], "t.tar": _tar([("k9.json", b"9")])})
    assert [s["__key__"] for s in out] == ["k1", "k9"]  # k2 was half read: dropped, not yielded
    assert len(errors) == 1 and str(errors[0]) == ("s.tar: truncated shard: no end-of-archive marker (stream ends at "
                                                   "byte 3172) (sample 'k2' dropped unfinished)")


def test_cut_inside_member_data():
    blob = _tar([("k1.json", b"1" * 600), ("k2.json", b"3")])
    out, errors = _samples({"s.tar": blob[:512 + 300]})
    assert out == [] and "600 bytes wanted at byte 512, 300 there" in str(errors[0])


def test_missing_end_of_archive_marker_is_reported_but_whole_samples_are_kept():
    blob = _tar([("k1.json", b"1"), ("k2.json", b"2")])
    out, errors = _samples({"s.tar": blob[:2048]})  # two members of 1 header + 1 data block each, no end marker
    assert [s["__key__"] for s in out] == ["k1"]  # k2 may be whole, but nothing says so
    assert "no end-of-archive marker (stream ends at byte 2048) (sample 'k2' dropped unfinished)" in str(errors[0])


def test_bad_checksum_and_duplicate_member():
    blob = bytearray(_tar([("k1.json", b"1"), ("k2.json", b"2")]))
    blob[1024 + 10] ^= 0xFF  # second header's name field
    out, errors = _samples({"s.tar": bytes(blob)})
    assert out == [] and str(errors[0]) == "s.tar: bad tar header checksum at byte 1024 (sample 'k1' dropped unfinished)"
    out, errors = _samples({"d.tar": _tar([("k.json", b"1"), ("k.json", b"2")])})
    assert out == [] and "duplicate member 'k.json'" in str(errors[0])


def test_a_member_claiming_more_than_the_limit_is_refused_before_reading():
    blob = _tar([("k.json", b"x" * 2000)])
    with pytest.raises(ShardError, match="member of 2000 bytes at byte 0 exceeds the 1024-byte limit"):
        list(iter_members(io.BytesIO(blob), "u", max_member=1024))


def test_handler_returning_false_ends_the_stage():
    blob = _tar([("k1.json", b"1")])
    out = list(tar_samples([{"url": "a"}, {"url": "b"}], handler=lambda e: False,
                           open_url=lambda url: io.BytesIO(blob[:600] if url == "a" else blob)))
    assert out == []


def test_same_samples_as_webdataset_on_a_webdataset_written_shard(tmp_path):
    import webdataset as wds

    path = tmp_path / "s-000000.tar"
    with wds.TarWriter(str(path), format="PAX_FORMAT", encoder=False) as sink:
        for i in range(5):
            sample = {"__key__": f"{i:06d}-" + "k" * (40 * i), "json": b'{"n_views": 2}', "0.jpg": bytes([i]) * 700,
                      "1.jpg": b"", "0.depth.png": bytes(range(256)) * i, "0.K.npy": b"\x93NUMPY"}
            sink.write(sample)
    theirs = list(wds.DataPipeline(wds.SimpleShardList([str(path)]), wds.tarfile_to_samples()))
    ours, errors = _samples({str(path): path.read_bytes()})
    assert errors == [] and len(ours) == 5
    assert ours == [{k: v for k, v in s.items() if k != "__local_path__"} for s in theirs]
