"""m3w_builder.media.video on the real clips in ../shared/data/video (skipped when absent)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from PIL import Image

from m3w_builder.drops import Rejected
from m3w_builder.media.video import VideoFrames, VideoOptions, extract_frames

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
VIDEO = DATA / "video"
FILES = sorted(p for p in VIDEO.rglob("*") if p.is_file()) if VIDEO.is_dir() else []
MANIFEST = (
    {json.loads(line)["file"]: json.loads(line) for line in (DATA / "MANIFEST-video.jsonl").open()}
    if VIDEO.is_dir() else {}
)
REASONS = {"empty", "too_large_bytes", "decode_error", "no_video_stream", "unsupported_codec", "too_long", "timeout",
           "not_a_video", "decompression_bomb"}

pytestmark = [
    pytest.mark.skipif(not VIDEO.is_dir(), reason="../shared/data/video is absent"),
    pytest.mark.timeout(120),
]


def _rel(p: Path) -> str:
    return p.relative_to(DATA).as_posix()


def _check_frames(r: VideoFrames, opts: VideoOptions) -> None:
    assert 1 <= len(r.frames) <= opts.max_frames
    assert [t for t, _ in r.frames] == [k / opts.fps for k in range(len(r.frames))]
    for _, jpeg in r.frames:
        im = Image.open(io.BytesIO(jpeg))
        im.load()
        assert (im.format, im.mode) == ("JPEG", "RGB")
        assert min(im.size) == min(opts.image.image_size, r.width, r.height)
        assert (im.width >= im.height) == (r.width >= r.height)


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_every_clip_yields_frames_or_a_reason(path: Path) -> None:
    facts = MANIFEST[_rel(path)]
    opts = VideoOptions()
    try:
        r = extract_frames(path.read_bytes(), opts)
    except Rejected as e:
        assert e.reason in REASONS
        if (facts.get("duration_s") or 0) > opts.max_duration_s:
            assert e.reason == "too_long"
            return
        assert not facts.get("decoded_frames"), (e, facts)  # every decodable clip comes out
        if "open_error" in facts:
            assert e.reason == "decode_error"
        elif facts.get("video") is None and "codec" not in facts:
            assert e.reason == "no_video_stream"
        return
    assert facts.get("decoded_frames"), facts
    # a header over the cap is kept only when its packets end before it (their duration is the clip's)
    assert r.duration_s is None or r.duration_s <= opts.max_duration_s
    assert facts.get("duration_s") is None or facts["duration_s"] <= opts.max_duration_s or facts["decoded_frames"] == 1
    _check_frames(r, opts)
    w, h = map(int, facts["size"].split("x"))
    assert (r.width, r.height) == ((h, w) if facts.get("frame_rotation") in (90, -90) else (w, h))
    assert r.rotation == facts.get("frame_rotation", 0)
    rate_covers_clip = facts["decoded_frames"] >= 0.9 * facts["duration_s"] * facts["avg_fps"]
    if facts["decoded_frames"] > 1 and (rate_covers_clip or facts.get("vfr")):
        assert abs(len(r.frames) - min(opts.max_frames, math.ceil(facts["duration_s"]))) <= 1


def test_iphone_rotation_is_applied() -> None:
    r = extract_frames((VIDEO / "jsonize-iphone/iphone_rotated.mov").read_bytes())
    assert r.rotation == -90 and (r.width, r.height) == (320, 568)
    assert [Image.open(io.BytesIO(j)).size for _, j in r.frames] == [(256, 454)] * 3


def test_variable_frame_rate_clip_is_sampled_by_timestamp() -> None:
    r = extract_frames((VIDEO / "opencv-5.0.0.93/tree.avi").read_bytes())
    assert len(r.frames) == 30  # 29.6 s from 68 irregularly spaced frames


def test_rate_and_frame_cap() -> None:
    data = (VIDEO / "torchcodec-resources/nasa_13013.mp4").read_bytes()
    assert len(extract_frames(data).frames) == 13
    assert len(extract_frames(data, VideoOptions(fps=2.0)).frames) == 26
    capped = extract_frames(data, VideoOptions(max_frames=5))
    assert [t for t, _ in capped.frames] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_output_is_deterministic() -> None:
    data = (VIDEO / "opencv-5.0.0.93/cup.mp4").read_bytes()
    assert extract_frames(data).frames == extract_frames(data).frames


@pytest.mark.parametrize(
    ("data", "opts", "reason"),
    [
        (b"", VideoOptions(), "empty"),
        ("puremagic-1.30/test.mp4", VideoOptions(max_bytes=1000), "too_large_bytes"),
        ("opencv-5.0.0.93/vtest.avi", VideoOptions(max_duration_s=10.0), "too_long"),
        ("opencv-5.0.0.93/vtest.avi", VideoOptions(time_limit_s=0.0), "timeout"),
        ("pymediainfo-7.0.1/mp4-with-audio.mp4", VideoOptions(), "no_video_stream"),
        ("libwebm-testdata/matroska_doctype.mkv", VideoOptions(), "unsupported_codec"),
        ("puremagic-1.30/test.jxsv", VideoOptions(), "not_a_video"),  # a raw JPEG XS picture
        ("pymediainfo-7.0.1/sample.mkv", VideoOptions(), "decode_error"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200, VideoOptions(), "decode_error"),
    ],
)
def test_reasons(data, opts: VideoOptions, reason: str) -> None:
    if isinstance(data, str):
        data = (VIDEO / data).read_bytes()
    with pytest.raises(Rejected) as e:
        extract_frames(data, opts)
    assert e.value.reason == reason


IMAGES = DATA / "images"


@pytest.mark.parametrize("name", [
    "puremagic/test.jpg", "puremagic/test.png", "puremagic/test.webp", "puremagic/test.bmp", "puremagic/test.tif",
    "puremagic/test.ico", "puremagic/test.svg", "puremagic/test.psd", "puremagic/test.avif",
    "exif-samples/heic__IMG_5195.HEIC", "exif-orientation-examples/Landscape_5.jpg",
    "pillow-tests/frozenpond.mpo",  # two JPEGs without timing (a stereo pair)
    "puremagic/test.gif",  # a GIF of one frame
])
def test_a_still_image_is_not_a_video(name: str) -> None:
    """FFmpeg opens these and decodes one picture: they used to come out as one-frame clips."""
    with pytest.raises(Rejected) as e:
        extract_frames((IMAGES / name).read_bytes())
    assert e.value.reason == "not_a_video" and "still image" in e.value.detail


@pytest.mark.parametrize(("name", "frames"), [
    ("pillow-tests/chi.gif", 4), ("pillow-tests/dispose_bgnd.gif", 5), ("pillow-tests/apng/delay.png", 3),
])
def test_an_animation_over_time_is_a_video(name: str, frames: int) -> None:
    assert len(extract_frames((IMAGES / name).read_bytes()).frames) == frames


def test_an_animated_webp_is_named_as_such() -> None:
    with pytest.raises(Rejected) as e:
        extract_frames((IMAGES / "pillow-tests/iss634.webp").read_bytes())
    assert (e.value.reason, e.value.detail) == ("unsupported_codec",
                                                "an animated WebP: FFmpeg's WebP decoder reads stills only")


def test_a_one_second_clip_is_still_a_video() -> None:
    for name in ("libwebm-testdata/bbb_480p_vp9_opus_1second.webm", "puremagic-1.30/test.mp4"):
        assert len(extract_frames((VIDEO / name).read_bytes()).frames) == 1


@pytest.mark.parametrize("data, kind", [
    (b"<!DOCTYPE html><html><body>Not found</body></html>", "text/html"),
    (b'<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>', "application/xml"),
    (b"%PDF-1.4\n" + bytes(300), "application/pdf"),
])
def test_an_error_page_served_as_a_video_says_what_it_is(data: bytes, kind: str) -> None:
    """These were `decode_error` (FFmpeg: invalid data)."""
    with pytest.raises(Rejected) as e:
        extract_frames(data)
    assert (e.value.reason, e.value.detail) == ("not_a_video", f"the bytes are {kind}")


def test_frames_are_held_to_the_pixel_cap_of_images() -> None:
    """`--max_image_pixels` stopped only images: a 6.7 MB clip of 12000x12000 MJPEG frames (144M
    pixels) decoded each to 430 MB of RSS; refused from its header it costs 12 MB."""
    from m3w_builder.media.images import ImageOptions

    clip = (VIDEO / "pymediainfo-7.0.1" / "sample.mp4").read_bytes()  # 1920x1080 H.264
    assert extract_frames(clip).width == 1920
    capped = VideoOptions(image=ImageOptions(max_pixels=1920 * 1080 - 1))
    with pytest.raises(Rejected) as e:
        extract_frames(clip, capped)
    assert e.value.reason == "decompression_bomb" and "1920x1080 frames" in e.value.detail


def _matroska_clip(seconds: int, header_s: float | None) -> bytes:
    """A 10 FPS MPEG-4 clip in Matroska whose Segment Duration says `header_s` (None: as written)."""
    import struct

    import av
    import numpy as np

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="matroska") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(seconds * 10):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i % 250, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    data = bytearray(buffer.getvalue())
    if header_s is not None:
        at = data.find(b"\x44\x89\x88")  # Duration, an 8-byte float in milliseconds
        data[at + 3:at + 11] = struct.pack(">d", header_s * 1000)
    return bytes(data)


def test_the_duration_is_what_the_packets_hold_not_what_the_header_says() -> None:
    """A 2 s clip whose header said 10 h was `too_long`; a 700 s one whose header said 2 s was
    kept as its first 64 s, where the same clip with an honest header was `too_long`."""
    short = extract_frames(_matroska_clip(2, 36_000.0))
    assert len(short.frames) == 2 and short.duration_s == pytest.approx(2.0, abs=0.2)
    for header in (2.0, None):
        with pytest.raises(Rejected) as e:
            extract_frames(_matroska_clip(700, header))
        assert e.value.reason == "too_long" and e.value.detail.startswith("700.0 s")
