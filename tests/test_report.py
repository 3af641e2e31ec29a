"""report.html from a real dataset folder (tar shards), parsed, and rendered by headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from lxml import html as lxml_html
from PIL import Image

from m3w_builder.output import report
from pipelines.pairs import run as run_pairs
from pipelines.report import write_report

STATS = {
    "prepass/kept": 90,
    "prepass/too_few_words": 8,
    "prepass/noai": 2,
    "prepass/n_bytes_in": 1_000_000,
    "prepass/n_bytes_skipped": 120_000,
    "extract/kept": 88,
    "extract/parse_error": 2,
    "language/kept": 80,
    "language/not_allowed": 8,
    "language/n_en": 70,
    "language/n_fr": 10,
    "language/n_de": 8,
    "near_dup/kept": 70,
    "near_dup/near_duplicate": 10,
    "near_dup/n_candidate_pairs": 31,
    "media/kept": 150,
    "media/decode_error": 5,
    "media/too_small": 12,
    "window/kept": 9,
    "window/no_window": 3,
    "shard/n_samples": 5,
    "shard/n_written": 2,
}


def jpeg(width: int, height: int, hue: int) -> bytes:
    image = Image.new("RGB", (width, height))
    image.putdata(
        [((x * 255) // width, (y * 255) // height, hue) for y in range(height) for x in range(width)]
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), 0, 0o444
    tar.addfile(info, io.BytesIO(data))


def write_shard(path: Path, samples: list[tuple[dict, dict[str, bytes]]]) -> dict:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for meta, members in samples:
            add(tar, f"{meta['key']}.json", json.dumps(meta).encode())
            for suffix, data in members.items():
                add(tar, f"{meta['key']}.{suffix}", data)
    data = path.read_bytes()
    return {
        "url": path.name,
        "nsamples": len(samples),
        "filesize": len(data),
        "md5sum": hashlib.md5(data).hexdigest(),
    }


def sample(
    key: str, text: str, sizes: list[tuple[int, int]], video: bool = False
) -> tuple[dict, dict[str, bytes]]:
    images, members = [], {}
    for i, (w, h) in enumerate(sizes):
        if video and i == len(sizes) - 1:
            frames = [{"t": float(t), "member": f"{i}.{t:03d}.jpg"} for t in range(2)]
            images.append(
                {"index": i, "kind": "video", "src": f"http://v.example/{key}.mp4", "frames": frames}
            )
            for t, frame in enumerate(frames):
                members[frame["member"]] = jpeg(w, h, 40 * t)
        else:
            images.append(
                {
                    "index": i,
                    "kind": "image",
                    "member": f"{i}.jpg",
                    "src": f"http://i.example/{key}/{i}.jpg",
                    "original_size": [w * 4, h * 4],
                    "stored_size": [w, h],
                }
            )
            members[f"{i}.jpg"] = jpeg(w, h, (i * 90) % 256)
    meta = {
        "key": key,
        "doc_id": f"doc{key[-1]}",
        "url": f"https://site.example/{key}",
        "window": {
            "index": 0,
            "token_start": 0,
            "token_end": 40 + len(text) % 30,
            "doc_tokens": 300 + len(text),
        },
        "text": text,
        "input_ids": list(range(40 + len(text) % 30)),
        "images": images,
    }
    return meta, members


@pytest.fixture()
def dataset_dir(tmp_path: Path) -> Path:
    shard0 = [
        sample(
            "s0000",
            "Intro text<EOC><image>A caption after the first image<EOC><image>the end<EOC>",
            [(64, 48), (48, 64)],
        ),
        sample(
            "s0001", "<image>starts with an image, then <script>alert(1)</script> as text<EOC>", [(80, 40)]
        ),
        sample("s0002", "no images at all<EOC>", []),
    ]
    shard1 = [
        sample("s0003", "a video<EOC><image>after it<EOC>", [(64, 36)], video=True),
        sample("s0004", "three<EOC><image>x<EOC><image>y<EOC><image>z<EOC>", [(32, 32), (40, 30), (30, 40)]),
    ]
    shards = [
        write_shard(tmp_path / "m3w-000000.tar", shard0),
        write_shard(tmp_path / "m3w-000001.tar", shard1),
    ]
    dataset = {
        "format": "m3w-builder",
        "version": 1,
        "kind": "m3w",
        "shardlist": shards,
        "tokenizer": {"file": "tokenizer.model", "vocab_size": 8192},
        "window": {"max_tokens": 256, "max_images": 5},
        "options": {"languages": "en,fr"},
        "stats": STATS,
    }
    (tmp_path / "dataset.json").write_text(json.dumps(dataset))
    (tmp_path / "stats.json").write_text(
        json.dumps({"counters": STATS, "wall_seconds": 1.5})
    )  # as the job writes it
    return tmp_path


def test_cli_builds_self_contained_report(dataset_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pipelines.report", str(dataset_dir)],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    page = (dataset_dir / "report.html").read_bytes()
    assert len(page) < 5_000_000
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script") and not tree.xpath("//*[@src and not(starts-with(@src, 'data:'))]")
    assert "<script>alert(1)</script>" in tree.text_content()  # page text is escaped, never markup

    images = tree.xpath("//article//img")
    assert len(images) == 2 + 1 + 2 + 3  # the video contributes its two frames
    for img in images:
        header, payload = img.get("src").split(",", 1)
        assert header == "data:image/jpeg;base64"
        assert Image.open(io.BytesIO(base64.b64decode(payload))).format == "JPEG"

    first = tree.xpath('//article[@id="w0"]//div[@class="text"]')[0]
    sequence = [
        ("img" if el.tag == "img" else (el.text or ""))
        for el in first.iter("span", "img")
        if el.get("class") != "eoc"
    ]
    assert sequence == ["Intro text", "img", "A caption after the first image", "img", "the end"]

    funnel = tree.xpath('//section[@id="funnel"]')[0].text_content()
    for expected in [
        "too_few_words: 8",
        "noai: 2",
        "near_duplicate: 10",
        "decode_error: 5",
        "candidate_pairs: 31",
        "12.0%",
    ]:
        assert expected in funnel
    rows = {row.xpath("td[1]")[0].text: row for row in tree.xpath('//section[@id="funnel"]//tr[td]')}
    assert rows["window"].xpath("td[3]")[0].text == "9"
    assert rows["shard"].xpath("td[3]")[0].text == "–"  # volumes only
    assert list(rows) == ["prepass", "extract", "language", "near_dup", "media", "window", "shard"]
    charts = tree.xpath('//section[@id="histograms"]//svg')
    assert len(charts) == 6 and all(chart.xpath(".//rect") for chart in charts)
    assert [row.xpath("td[1]")[0].text for row in tree.xpath('//section[@id="shards"]//tr[td]')] == [
        "m3w-000000.tar",
        "m3w-000001.tar",
    ]
    assert len(tree.xpath('//article[@class="window"]')) == 5


def test_limits_on_windows_shards_and_image_bytes(dataset_dir: Path) -> None:
    write_report(str(dataset_dir), max_windows=2, max_shards=1)
    tree = lxml_html.fromstring((dataset_dir / "report.html").read_bytes())
    assert len(tree.xpath('//article[@class="window"]')) == 2
    assert "1 of 2 shard(s)" in tree.text_content()

    dataset = json.loads((dataset_dir / "dataset.json").read_text())
    openers = [lambda p=dataset_dir / s["url"]: open(p, "rb") for s in dataset["shardlist"]]
    page = report.render(report.collect(dataset, STATS, openers), image_budget=0)
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//img") and len(tree.xpath('//span[@class="missing"]')) == 8


def run_chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  const imgs = [...document.images];
  const svgs = [...document.querySelectorAll("svg")];
  document.body.setAttribute("data-check", JSON.stringify({
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    charts: svgs.filter(s => s.getBoundingClientRect().width > 100).length,
    bars: document.querySelectorAll("svg rect").length,
  }));
});
</script></body>"""


def check_in_chromium(page: Path, profile: Path) -> dict:
    """Counts of images (and decoded ones), wide charts and bars once Chromium loaded `page`;
    also checks a screenshot shows more than a blank page."""
    checked = page.with_name("checked.html")
    checked.write_text(page.read_text().replace("</body>", CHECK_SCRIPT))
    dom = run_chromium(
        f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", checked.as_uri()
    )
    result = json.loads(lxml_html.fromstring(dom.stdout).xpath("//body")[0].get("data-check"))

    shot = page.with_name("shot.png")
    run_chromium(f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 2400)
    assert len(image.getcolors(maxcolors=1_000_000)) > 200  # text, charts and photos, not a blank page
    return result


needs_chromium = pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian package `chromium` not installed")


@needs_chromium
def test_report_renders_in_headless_chromium(
    dataset_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    write_report(str(dataset_dir))
    result = check_in_chromium(dataset_dir / "report.html", tmp_path_factory.mktemp("chromium-profile"))
    assert result["images"] == result["decoded"] == 8
    assert result["charts"] >= 7 and result["bars"] > 20


# ---------------------------------------------------------------- pair datasets


@pytest.fixture(scope="module")
def ltip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pairs job on the embedded LTIP sample (offline); it writes report.html itself."""
    out = tmp_path_factory.mktemp("ltip")
    run_pairs(["--source", "ltip", "--output", str(out), "--no_http", "--direct_num_workers=1"])
    return out


def tar_members(folder: Path) -> dict[str, bytes]:
    """Every member of every shard of `folder` by name."""
    members = {}
    for path in sorted(folder.glob("*.tar")):
        with tarfile.open(path) as tar:
            members.update((m.name, tar.extractfile(m).read()) for m in tar if m.isfile())
    return members


def data_uri_bytes(img) -> bytes:
    header, payload = img.get("src").split(",", 1)
    assert header == "data:image/jpeg;base64"
    return base64.b64decode(payload)


def test_pairs_job_report_shows_images_next_to_captions(ltip_dir: Path) -> None:
    page = (ltip_dir / "report.html").read_bytes()
    assert len(page) < 5_000_000
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script") and not tree.xpath("//*[@src and not(starts-with(@src, 'data:'))]")
    dataset = json.loads((ltip_dir / "dataset.json").read_text())
    members = tar_members(ltip_dir)

    pairs = tree.xpath('//section[@id="samples"]//article[@class="pair"]')
    assert len(pairs) == min(24, sum(s["nsamples"] for s in dataset["shardlist"]))
    for article in pairs:
        key = article.xpath("header/code")[0].text
        (figure,) = article.xpath('figure[@class="pair"]')
        (img,) = figure.xpath("img")
        assert data_uri_bytes(img) == members[f"{key}.jpg"]  # the stored image, next to ...
        assert figure.xpath("figcaption")[0].text == members[f"{key}.txt"].decode()  # ... its caption
        meta = json.loads(members[f"{key}.json"])
        assert f"{meta['original_width']}×{meta['original_height']} px → {meta['width']}×{meta['height']} px" in (
            article.xpath("header")[0].text_content())

    titles = [t.text for t in tree.xpath('//section[@id="histograms"]//svg/text[@class="t"]')]
    assert titles == ["caption length (words)", "original image width (px)", "original image height (px)",
                      "stored image width (px)", "stored image height (px)"]
    assert all(chart.xpath(".//rect") for chart in tree.xpath('//section[@id="histograms"]//svg'))
    rows = {row.xpath("td[1]")[0].text: row for row in tree.xpath('//section[@id="funnel"]//tr[td]')}
    assert rows["pairs"].xpath("td[3]")[0].text == f"{dataset['stats']['pairs/kept']}"
    assert list(rows)[:4] == ["inputs", "route", "read", "list"]
    assert [row.xpath("td[1]")[0].text for row in tree.xpath('//section[@id="shards"]//tr[td]')] == [
        s["url"] for s in dataset["shardlist"]]
    assert "tokenizer" not in tree.xpath("//body/p")[0].text_content()


def test_vtp_pairs_show_a_strip_of_frames(tmp_path: Path) -> None:
    samples = []
    for n, frames in enumerate((2, 9)):
        key = f"v{n:03d}"
        meta = {"key": key, "url": f"https://v.example/{key}.mp4", "caption": f"clip {n} <b>x</b>",
                "width": 64, "height": 48, "original_width": 160, "original_height": 120,
                "frames": [{"t": float(t), "member": f"{t:03d}.jpg"} for t in range(frames)]}
        media = {"txt": meta["caption"].encode(), **{f["member"]: jpeg(64, 48, 20 * t)
                                                    for t, f in enumerate(meta["frames"])}}
        samples.append((meta, media))
    shard = write_shard(tmp_path / "vtp-000000.tar", samples)
    (tmp_path / "dataset.json").write_text(json.dumps({"kind": "vtp", "shardlist": [shard], "options": {}}))
    (tmp_path / "stats.json").write_text(json.dumps({"counters": {"pairs/kept": 2}}))
    tree = lxml_html.fromstring((Path(write_report(str(tmp_path)))).read_bytes())

    for article, (meta, media) in zip(tree.xpath('//article[@class="pair"]'), samples, strict=True):
        frames = article.xpath('figure/span[@class="video"]/img')
        assert len(frames) == min(len(meta["frames"]), report.MAX_FRAMES)
        assert [data_uri_bytes(img) for img in frames] == [media[f["member"]] for f in meta["frames"]][:len(frames)]
        assert article.xpath("figure/figcaption")[0].text == meta["caption"]  # escaped text, not markup
        assert f"{len(meta['frames'])} frames" in article.xpath("header")[0].text_content()


@needs_chromium
def test_pairs_report_renders_in_headless_chromium(
    ltip_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    result = check_in_chromium(ltip_dir / "report.html", tmp_path_factory.mktemp("chromium-profile"))
    assert result["images"] == result["decoded"] == 24
    assert result["charts"] >= 6 and result["bars"] > 20
