"""Video → frames at a fixed rate (default 1 FPS) chosen by timestamp, as resized RGB JPEGs.

PyAV reads from memory. For each target time k/fps (k = 0, 1, 2, …) the first decoded frame
whose presentation time is ≥ the target is kept (a frame after a gap serves every target it
passes, as ffmpeg's `fps` filter does). Missing timestamps are filled from the frame rate;
rotation metadata (the display matrix) is applied. Caps: bytes, pixels per frame (the images'
`max_pixels`, from the header before decoding and on every decoded frame), duration (what the
packets hold, read after a seek to the end without decoding: a header's may lie; the header's
only where the packets do not tell), frame count and a CPU-time limit (this thread's, so load on the machine cannot change which videos pass)
checked inside the decode loop. A container of more than `_MAX_STREAMS` streams is
`too_many_streams` (FFmpeg's probe decodes a frame of each on opening).

A still image is not a video, though FFmpeg opens most of them (`not_a_video`): files its image
demuxers read (JPEG, PNG, WebP, BMP, TIFF, ICO, SVG, ...: `*_pipe`, `image2`; an MPO stereo pair
or concatenated JPEGs too, pictures without timing) and HEIF/AVIF stills (`ftyp` brand, told
before opening: a HEIF grid is a stream per tile). An
animated image (GIF, APNG, AVIF/HEIF sequence) is a video only when it decodes to at least two
frames spread over time: an animated GIF is a clip, a one-frame GIF a picture. Animated WebP is
an animation FFmpeg's WebP decoder does not read (`unsupported_codec`). An HTML, XML or PDF
document (an error page served for the video URL) is `not_a_video` too, saying what it is.
"""

from __future__ import annotations

import errno
import hashlib
import io
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from PIL import Image

from m3w_builder.drops import Rejected
from m3w_builder.media.images import ImageOptions, encode_jpeg
from m3w_builder.media.sniff import sniff
from m3w_builder.options import option

# PyAV (~0.06 CPU-s to import) is imported by the functions that decode: a job process that
# meets no video never loads it, though every one imports this module
if TYPE_CHECKING:
    import av

MiB = 1024 * 1024

_ROTATE = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_270}
_MAX_BAD_PACKETS = 64  # consecutive undecodable packets before giving up on a stream
_MAX_STREAMS = 32  # streams of a container (web clips hold 1-4, the shared ones at most 6)
_DOCUMENT_TYPES = frozenset(("text/html", "application/xml", "application/pdf"))
# FFmpeg demuxers of still-image files besides the `*_pipe` ones
_IMAGE_DEMUXERS = frozenset({"image2", "image2pipe", "ico", "alias_pix", "brender_pix"})
# Demuxers of animated-image formats: a video only with two or more frames over time
_ANIMATION_DEMUXERS = frozenset({"gif", "apng", "jpegxl_anim", "webp_anim"})
# ISOBMFF major brands of HEIF/AVIF stills, and of their image sequences (animations)
_STILL_BRANDS = frozenset({b"avif", b"heic", b"heix", b"heim", b"heis", b"mif1", b"mif2", b"avci", b"jpeg"})
_SEQUENCE_BRANDS = frozenset({b"avis", b"msf1", b"hevc", b"hevx", b"avcs"})


@dataclass
class VideoOptions:
    """Sampling rate and caps; `image` gives the frame size and JPEG quality."""

    fps: float = option(1.0, "frames kept per second of video", low=0.001)
    max_duration_s: float = option(600.0, "longest video kept (seconds, from its packets, else its header)")
    max_frames: int = option(64, "frames kept per video")
    time_limit_s: float = option(300.0, "CPU seconds one video may take to decode (a safety valve far above the "
                                "normal cost; CPU time, not wall time, so machine load never changes the output)", low=0.001)
    max_bytes: int = option(512 * MiB, "largest video file decoded (bytes)")
    threads: int = option(1, "decoder threads per video (1: the CPU limit is measured on this thread)", low=1)
    image: ImageOptions = option(factory=ImageOptions, help="frame size and JPEG quality")


@dataclass
class VideoFrames:
    """Sampled frames as (target time in seconds, JPEG bytes); `width`×`height` as displayed."""

    frames: list[tuple[float, bytes]]
    width: int
    height: int
    duration_s: float | None
    rotation: int
    codec: str
    sha256: str


def extract_frames(data: bytes, opts: VideoOptions | None = None) -> VideoFrames:
    """Decode `data` and sample frames at `opts.fps`; raise `Rejected` when nothing usable comes out."""
    import av

    opts = opts or VideoOptions()
    if not data:
        raise Rejected("empty", "0 bytes")
    if len(data) > opts.max_bytes:
        raise Rejected("too_large_bytes", f"{len(data)} > {opts.max_bytes} bytes")
    sniffed = sniff(data)
    if sniffed in _DOCUMENT_TYPES:  # an error page or a document served for the video URL
        raise Rejected("not_a_video", f"the bytes are {sniffed}")
    brand = data[8:12] if data[4:8] == b"ftyp" else b""
    if brand in _STILL_BRANDS:  # told before opening: a HEIF grid is a stream per tile (42 in a shared photo)
        raise Rejected("not_a_video", f"a still image ({brand.decode('ascii', 'replace').strip()})")
    deadline = time.thread_time() + opts.time_limit_s
    try:
        container = _open(data)
    except (av.FFmpegError, OSError, EOFError, ValueError, UnicodeDecodeError) as e:
        hint = f" (an MP4 of over {_MAX_STREAMS} streams fails so)" if getattr(e, "errno", None) == errno.ENOMEM else ""
        raise Rejected("decode_error", f"open: {type(e).__name__}: {e}{hint}") from None
    with container:
        _check_streams(container)
        animation = _image_kind(container, data)
        stream = _video_stream(container)
        _check_pixels(stream.codec_context.width, stream.codec_context.height, opts.image.max_pixels)
        header = _duration(container, stream)
        measured = _measured_duration(data, stream.index, deadline)
        duration = measured if measured is not None else header
        if duration is not None and duration > opts.max_duration_s:
            said = f" (the header says {header:.1f} s)" if header is not None and measured is not None else ""
            raise Rejected("too_long", f"{duration:.1f} s{said} > {opts.max_duration_s} s")
        stream.codec_context.thread_count = opts.threads
        sampler = _Sampler(stream, opts)
        _decode(container, stream, sampler, deadline)
    if not sampler.frames:
        raise Rejected("decode_error", sampler.error or "no frame decoded")
    if animation and (sampler.frames_seen < 2 or not sampler.last_t):
        raise Rejected("not_a_video", f"a {animation} of {sampler.frames_seen} frame(s) over "
                       f"{sampler.last_t or 0:.3f} s: a still image")
    return VideoFrames(
        frames=sampler.frames,
        width=sampler.size[0],
        height=sampler.size[1],
        duration_s=duration,
        rotation=sampler.rotation,
        codec=stream.codec_context.name,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _open(data: bytes) -> av.container.InputContainer:
    """`data` opened for reading with at most one stream past `_MAX_STREAMS` (see `_check_streams`)."""
    import av

    return av.open(io.BytesIO(data), mode="r", container_options={"max_streams": str(_MAX_STREAMS + 1)})


def _check_streams(container: av.container.InputContainer) -> None:
    """`too_many_streams` past `_MAX_STREAMS`: FFmpeg's probe at open decodes a frame of every
    video stream, all held at once (100 streams of 2048x2048 in a 4.7 MB Matroska file cost +417
    MB; FFmpeg's own limit is 1,000 streams), and a demuxer told to stop adding streams may stop
    reading the others' packets too, so the file is refused, not read in part."""
    if len(container.streams) > _MAX_STREAMS:
        raise Rejected("too_many_streams", f"over {_MAX_STREAMS} streams (FFmpeg decodes a frame of each on opening)")


def _image_kind(container: av.container.InputContainer, data: bytes) -> str:
    """'' for a video container, the format name of an animated-image file (a video only if it
    moves); raises `not_a_video` for a still-image file (see the module docstring)."""
    name = container.format.name
    brand = data[8:12] if data[4:8] == b"ftyp" else b""  # a still's brand was refused before opening
    if name.endswith("_pipe") or name in _IMAGE_DEMUXERS:
        if name == "webp_pipe" and data[12:16] == b"VP8X" and len(data) > 20 and data[20] & 0x02:
            raise Rejected("unsupported_codec", "an animated WebP: FFmpeg's WebP decoder reads stills only")
        raise Rejected("not_a_video", f"a still image ({name})")
    if name in _ANIMATION_DEMUXERS or brand in _SEQUENCE_BRANDS:
        return name if not brand else brand.decode("ascii", "replace").strip() + " sequence"
    return ""


def _video_stream(container: av.container.InputContainer) -> av.VideoStream:
    """The first video stream with a decoder in this FFmpeg build."""
    streams = [s for s in container.streams.video if not _is_cover_art(s)]
    if not streams:
        raise Rejected("no_video_stream", f"{len(container.streams)} streams, none video")
    for s in streams:
        if s.codec_context is not None:
            return s
    raise Rejected("unsupported_codec", "no decoder in this FFmpeg build")


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Frames are held to the pixel cap of images (`--max_image_pixels`): a 6.7 MB clip of
    12000x12000 MJPEG frames decoded each to 430 MB where the same picture as an image is refused."""
    if width * height > max_pixels:
        raise Rejected("decompression_bomb", f"{width}x{height} frames > {max_pixels} pixels")


def _is_cover_art(stream: av.VideoStream) -> bool:
    """An attached picture (album art) is a one-image 'video' stream, not a video."""
    import av

    return bool(stream.disposition & av.stream.Disposition.attached_pic)


def _duration(container: av.container.InputContainer, stream: av.VideoStream) -> float | None:
    """Header duration in seconds (stream's, else the container's), None when unknown."""
    import av

    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


_END_PTS = 1 << 60  # a seek target past the end of any stream: the demuxer lands on its last keyframe


def _measured_duration(data: bytes, index: int, deadline: float) -> float | None:
    """Seconds from the stream's first packet to the end of its last, read from the packets after
    a seek to the end (or, where the container has no index to seek by, from every packet; no
    frame is decoded); None when the packets do not tell. A header's duration may lie: a 2 s MKV
    whose header said 10 h was `too_long`, and a 10 h one whose header said 2 s (or nothing) was
    kept as its first 64 s where an honest one was `too_long`."""
    import av

    for seek in (True, False):
        try:
            with _open(data) as container:
                stream = container.streams[index]
                if seek:  # a failed seek (no cues) leaves the demuxer at its end: read again from the start
                    container.seek(_END_PTS, backward=True, any_frame=False, stream=stream)
                first, end = stream.start_time, None
                for packet in container.demux(stream):
                    if time.thread_time() >= deadline:
                        raise Rejected("timeout", "measuring the duration took more CPU time than the limit")
                    if packet.pts is not None:
                        end = max(end or packet.pts, packet.pts + (packet.duration or 0))
                if end is not None and stream.time_base is not None:
                    return max(0.0, float((end - (first or 0)) * stream.time_base))
        except (av.FFmpegError, OSError, EOFError, ValueError, OverflowError, IndexError):  # IndexError: a
            continue  # stream the second open did not find (FFmpeg's probe of a damaged file varies)
    return None


def _decode(container, stream, sampler: _Sampler, deadline: float) -> None:
    """Demux and decode until the sampler is full, checking the deadline per packet."""
    import av

    bad = 0
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.FFmpegError, ValueError, OSError) as e:
            # a damaged container ends the stream; FFmpeg refusing an absurd size from a corrupt
            # header raises av's MemoryError (an FFmpegError): a bad file, not a full worker
            sampler.error = f"demux: {type(e).__name__}: {e}"
            return
        if time.thread_time() >= deadline:
            raise Rejected("timeout", f"decode took more CPU time than the limit ({sampler.frames_seen} frames)")
        try:
            frames = packet.decode()
        except (av.FFmpegError, ValueError) as e:
            sampler.error = f"{type(e).__name__}: {e}"
            bad += 1
            if bad >= _MAX_BAD_PACKETS:
                return
            continue
        bad = 0
        for frame in frames:
            if sampler.add(frame):
                return


class _Sampler:
    """Keeps, for each target time, the first frame at or after it, converted and encoded."""

    def __init__(self, stream: av.VideoStream, opts: VideoOptions) -> None:
        self.opts = opts
        self.time_base = stream.time_base or Fraction(1, 90000)
        start = stream.start_time
        self.origin = float(start * self.time_base) if start is not None else None
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        self.frame_dt = 1 / float(rate) if rate else 1 / 25
        self.frames: list[tuple[float, bytes]] = []
        self.next_k = 0
        self.last_t: float | None = None
        self.frames_seen = 0
        self.rotation = 0
        self.size = (0, 0)
        self.error = ""

    def add(self, frame: av.VideoFrame) -> bool:
        """Consider one decoded frame; True once `max_frames` are kept or the duration cap is hit."""
        self.frames_seen += 1
        t = self._time(frame)
        if t > self.opts.max_duration_s:
            raise Rejected("too_long", f"frame at {t:.1f} s > {self.opts.max_duration_s} s")
        if t < self.next_k / self.opts.fps:
            return False
        jpeg = self._encode(frame)
        while t >= self.next_k / self.opts.fps and len(self.frames) < self.opts.max_frames:
            self.frames.append((round(self.next_k / self.opts.fps, 6), jpeg))
            self.next_k += 1
        return len(self.frames) >= self.opts.max_frames

    def _time(self, frame: av.VideoFrame) -> float:
        """Presentation time from the stream start; estimated from the rate when missing, never decreasing."""
        if frame.pts is not None:
            t = float(frame.pts * (frame.time_base or self.time_base))
            if self.origin is None:
                self.origin = t
            t -= self.origin
        else:
            t = 0.0 if self.last_t is None else self.last_t + self.frame_dt
        if self.last_t is not None and t < self.last_t:
            t = self.last_t
        self.last_t = t
        return max(t, 0.0)

    def _encode(self, frame: av.VideoFrame) -> bytes:
        """Scale (in swscale) so the shorter side is at most `image_size`, rotate, encode JPEG."""
        w, h = frame.width, frame.height
        if w <= 0 or h <= 0:
            raise Rejected("decode_error", f"frame size {w}x{h}")
        _check_pixels(w, h, self.opts.image.max_pixels)  # a size the header did not give, or changed mid-stream
        scale = min(1.0, self.opts.image.image_size / min(w, h))
        img = frame.reformat(
            width=max(1, round(w * scale)), height=max(1, round(h * scale)),
            format="rgb24", interpolation="AREA",
        ).to_image()
        self.rotation = round(frame.rotation or 0)
        quarter = (round(self.rotation / 90) * 90) % 360  # counter-clockwise, as PIL's ROTATE_*
        if quarter in _ROTATE:
            img = img.transpose(_ROTATE[quarter])
        self.size = (h, w) if quarter in (90, 270) else (w, h)
        return encode_jpeg(img, self.opts.image.jpeg_quality)
