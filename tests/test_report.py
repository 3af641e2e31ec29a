"""report.html from a real dataset folder (tar shards), parsed, and rendered by headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lxml import html as lxml_html
from PIL import Image

from m3w_builder.output import formats, report
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


def _rejects(folder: Path) -> list[dict]:
    rows = [{"id": f"r{i}", "url": f"https://site.example/dropped/{i}", "stage": stage, "reason": reason,
             "detail": f"detail of {i} <b>not markup</b>"}
            for i, (stage, reason) in enumerate([("extract", "parse_error")] * 2 + [("media", "decode_error")] * 5
                                                + [("media", "too_small")] * 12)]
    (folder / "rejects").mkdir(exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "rejects" / "media-000.parquet")
    return rows


def _nice(values: list[float]) -> bool:
    """Equal steps of 1, 2 or 5 × 10^k starting at 0."""
    steps = {round(b - a, 9) for a, b in zip(values, values[1:])}
    if values[0] != 0 or len(steps) != 1:
        return False
    step = steps.pop()
    power = 10 ** math.floor(math.log10(step))
    return any(math.isclose(step, m * power) for m in (1, 2, 5))


def _tick_value(text: str) -> float:
    scale = {"k": 1e3, "M": 1e6, "G": 1e9}.get(text[-1], 1)
    return float(text[:-1] if scale != 1 else text) * scale


def test_cli_builds_self_contained_report(dataset_dir: Path) -> None:
    rejects = _rejects(dataset_dir)
    subprocess.run(
        [sys.executable, "-m", "pipelines.report", str(dataset_dir)],
        check=True,
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    page = (dataset_dir / "report.html").read_bytes()
    assert len(page) < 5_000_000
    tree = lxml_html.fromstring(page)
    scripts = tree.xpath("//script")
    assert len(scripts) == 1 and not scripts[0].get("src")  # one inline script: search, filter, pages
    assert not tree.xpath("//*[@src and not(starts-with(@src, 'data:'))]") and "<link" not in page.decode()
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

    rows = {row.xpath("td[1]")[0].text: [td.text_content().strip() for td in row.xpath("td")]
            for row in tree.xpath('//table[@class="funnel"]//tr[td]')}
    assert list(rows) == ["prepass", "extract", "language", "near_dup", "media", "window", "shard"]
    assert rows["prepass"][1:6] == ["pages", "100", "90", "10", "10.0%"]
    assert "too_few_words: 8 (8.0%)" in rows["prepass"][6] and "bytes_skipped: 120,000" in rows["prepass"][7]
    assert rows["media"][1:6] == ["media", "167", "150", "17", "10.2%"] and "too_small: 12 (7.2%)" in rows["media"][6]
    assert rows["window"][2:6] == ["12", "9", "3", "25.0%"] and "no_window: 3" in rows["window"][6]
    funnel_charts = tree.xpath('//section[@id="funnel"]//svg')
    titles = [c.xpath('text[@class="t"]')[0].text for c in funnel_charts]
    assert titles == ["pages: kept and dropped per stage", "media: kept and dropped per stage",
                      "samples: kept and dropped per stage"]  # one unit each
    pages = funnel_charts[0]
    assert [t.text for t in pages.xpath('text[contains(@class, "cat")]')] == ["prepass", "extract", "language", "near_dup"]
    assert len(pages.xpath('rect[@class="drop"]')) == 4
    charts = tree.xpath('//section[@id="distributions"]//svg')
    assert len(charts) == 2 + 6 and all(chart.xpath(".//rect") for chart in charts)
    for chart in funnel_charts + charts:
        ticks = [_tick_value(t.text) for t in chart.xpath('text[contains(@class, "tick")]')]
        assert len(ticks) >= 2 and _nice(ticks), ticks
    domains = tree.xpath('//section[@id="distributions"]//svg')[0]
    assert [t.text for t in domains.xpath('text[contains(@class, "cat")]')] == ["site.example"]
    assert [row.xpath("td[1]")[0].text for row in tree.xpath('//section[@id="shards"]//tr[td]')] == [
        "m3w-000000.tar",
        "m3w-000001.tar",
    ]
    assert len(tree.xpath('//article[contains(@class, "window")]')) == 5
    shown = [[td.text_content() for td in tr.xpath("td")] for tr in tree.xpath('//section[@id="rejects"]//tr[td]')]
    assert len(shown) == len(rejects)
    assert sorted(shown) == sorted([r["stage"], r["reason"], r["detail"], r["url"]] for r in rejects)
    assert tree.xpath('//section[@id="rejects"]//select/option/@value') == ["", "extract", "media"]
    assert "wall time 1.5 s" in tree.xpath('//p[@class="throughput"]')[0].text_content()


def test_limits_on_windows_shards_and_image_bytes(dataset_dir: Path) -> None:
    write_report(str(dataset_dir), max_windows=2, max_shards=1)
    tree = lxml_html.fromstring((dataset_dir / "report.html").read_bytes())
    assert len(tree.xpath('//article[contains(@class, "window")]')) == 2
    assert "1 of 2 shard(s)" in tree.text_content()

    dataset = json.loads((dataset_dir / "dataset.json").read_text())
    readers = [lambda url=s["url"]: formats.iter_shard(url, lambda name: open(dataset_dir / name, "rb"), list)
               for s in dataset["shardlist"]]
    page = report.render(report.collect(dataset, STATS, readers), image_budget=0)
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
  const overlaps = [], outside = [];
  for (const svg of svgs) {
    const frame = svg.getBoundingClientRect();
    const boxes = [...svg.querySelectorAll("text")].map(t => [t.textContent, t.getBoundingClientRect()]);
    boxes.forEach(([text, a], i) => {
      if (a.left < frame.left - 0.5 || a.right > frame.right + 0.5 || a.top < frame.top - 0.5 || a.bottom > frame.bottom + 0.5) outside.push(text);
      for (const [other, b] of boxes.slice(i + 1))
        if (a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5) overlaps.push(text + " / " + other);
    });
  }
  const samples = document.querySelector("#samples");
  const visible = section => [...section.querySelectorAll(".item")].filter(a => a.offsetParent !== null).map(a => a.id || a.textContent);
  const page1 = visible(samples);
  const buttons = samples.querySelectorAll(".pager button");
  if (buttons.length > 1) buttons[1].click();
  const page2 = visible(samples);
  const search = samples.querySelector(".search");
  search.value = "__SEARCH__";
  search.dispatchEvent(new Event("input"));
  const searched = visible(samples);
  const rejects = document.querySelector("#rejects");
  const stage = rejects.querySelector(".filter");
  stage.value = stage.options[stage.options.length - 1].value;
  stage.dispatchEvent(new Event("change"));
  document.body.setAttribute("data-check", JSON.stringify({
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    charts: svgs.filter(s => s.getBoundingClientRect().width > 100).length,
    bars: document.querySelectorAll("svg rect").length,
    overlaps, outside, page1, page2, pages: buttons.length, searched,
    rejects: visible(rejects).length, reject_count: rejects.querySelector(".count").textContent,
  }));
});
</script></body>"""


def check_in_chromium(page: Path, profile: Path, search: str) -> dict:
    """What Chromium shows once it loaded `page`: image and chart counts, overlapping or clipped chart
    labels, the sample browser's pages, a search for `search` and the rejects stage filter; also
    checks a screenshot shows more than a blank page."""
    checked = page.with_name("checked.html")
    checked.write_text(page.read_text().replace("</body>", CHECK_SCRIPT.replace("__SEARCH__", search)))
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
    rejects = _rejects(dataset_dir)
    write_report(str(dataset_dir))
    result = check_in_chromium(dataset_dir / "report.html", tmp_path_factory.mktemp("chromium-profile"), "three")
    assert result["images"] == result["decoded"] == 8
    assert result["charts"] >= 10 and result["bars"] > 20
    assert result["overlaps"] == [] and result["outside"] == []
    assert result["pages"] == 1 and result["page1"] == result["page2"] == [f"w{i}" for i in range(5)]
    assert result["searched"] == ["w4"]  # the one window whose text says "three"
    media = sum(r["stage"] == "media" for r in rejects)
    assert result["reject_count"] == f"{media} of {len(rejects)}" and result["rejects"] == report.PAGE_SIZE


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
    assert not tree.xpath("//script[@src]") and not tree.xpath("//*[@src and not(starts-with(@src, 'data:'))]")
    dataset = json.loads((ltip_dir / "dataset.json").read_text())
    members = tar_members(ltip_dir)

    pairs = tree.xpath('//section[@id="samples"]//article[contains(@class, "pair")]')
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

    titles = [t.text for t in tree.xpath('//section[@id="distributions"]//svg/text[@class="t"]')]
    assert titles == ["top domains (of 41 samples read)", "caption length (words)", "original image width (px)",
                      "original image height (px)", "image aspect ratio (width / height)",
                      "stored image width (px)", "stored image height (px)"]
    assert all(chart.xpath(".//rect") for chart in tree.xpath('//section[@id="distributions"]//svg'))
    rows = {row.xpath("td[1]")[0].text: row for row in tree.xpath('//table[@class="funnel"]//tr[td]')}
    assert rows["pairs"].xpath("td[4]")[0].text == f"{dataset['stats']['pairs/kept']:,}"
    assert list(rows)[:4] == ["inputs", "route", "read", "list"]  # files, then pages, then pair items (media)
    assert [row.xpath("td[1]")[0].text for row in tree.xpath('//section[@id="shards"]//tr[td]')] == [
        s["url"] for s in dataset["shardlist"]]
    assert "tokenizer" not in tree.xpath('//section[@id="summary"]/p')[0].text_content()


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

    for article, (meta, media) in zip(tree.xpath('//article[contains(@class, "pair")]'), samples, strict=True):
        frames = article.xpath('figure/span[@class="video"]/img')
        assert len(frames) == min(len(meta["frames"]), report.MAX_FRAMES)
        assert [data_uri_bytes(img) for img in frames] == [media[f["member"]] for f in meta["frames"]][:len(frames)]
        assert article.xpath("figure/figcaption")[0].text == meta["caption"]  # escaped text, not markup
        assert f"{len(meta['frames'])} frames" in article.xpath("header")[0].text_content()


@needs_chromium
def test_pairs_report_renders_in_headless_chromium(
    ltip_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tree = lxml_html.fromstring((ltip_dir / "report.html").read_bytes())
    keys = [a.xpath("header/code")[0].text for a in tree.xpath('//article[contains(@class, "pair")]')]
    result = check_in_chromium(ltip_dir / "report.html", tmp_path_factory.mktemp("chromium-profile"), keys[17])
    assert result["images"] == result["decoded"] == 24
    assert result["charts"] >= 6 and result["bars"] > 20
    assert result["overlaps"] == [] and result["outside"] == []
    assert result["pages"] == 3 and len(result["page1"]) == len(result["page2"]) == report.PAGE_SIZE
    assert result["page1"] == [f"w{i}" for i in range(8)] and result["page2"] == [f"w{i}" for i in range(8, 16)]
    assert result["searched"] == ["w17"]
