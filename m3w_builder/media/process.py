"""One media item's bytes → a stored image or 1 FPS frames, or a failure status (never an exception).

`MediaResult.status` is `success` or a reason code (img2dataset's `status`/`error_message`
spirit); the caller counts it as `media/<status>`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from m3w_builder.drops import Rejected
from m3w_builder.media.images import ImageOptions, ProcessedImage, process_image
from m3w_builder.media.video import VideoOptions, extract_frames


@dataclass
class Frame:
    """One stored video frame: second index `t` at 1 FPS, RGB JPEG bytes."""

    t: float
    jpeg: bytes


@dataclass
class MediaResult:
    """A processed media item or the reason it failed."""

    url: str
    kind: str  # image | video
    status: str = "success"
    error_message: str = ""
    image: ProcessedImage | None = None
    frames: list[Frame] = field(default_factory=list)
    sha256: str = ""
    width: int = 0
    height: int = 0
    stage: str = "download"  # where a failure arose: "download" (no bytes) or "resize" (decode/check)

    @property
    def ok(self) -> bool:
        return self.status == "success"


def failed(url: str, kind: str, status: str, message: str = "", stage: str = "download") -> MediaResult:
    """A failure result."""
    return MediaResult(url=url, kind=kind, status=status, error_message=message, stage=stage)


def process_media(
    url: str, kind: str, data: bytes, image_options: ImageOptions, video_options: VideoOptions | None = None
) -> MediaResult:
    """Decode/resize an image, or turn a video into 1 FPS frames; failures become a status."""
    try:
        if kind == "image":
            image = process_image(data, image_options)
            return MediaResult(url, kind, image=image, sha256=image.sha256, width=image.width, height=image.height)
        result = extract_frames(data, video_options or VideoOptions(image=image_options))
        frames = [Frame(t, jpeg) for t, jpeg in result.frames]
        if not frames:
            return failed(url, kind, "no_frames", stage="resize")
        return MediaResult(url, kind, frames=frames, sha256=result.sha256, width=result.width, height=result.height)
    except Rejected as rejected:
        return failed(url, kind, rejected.reason, rejected.detail, stage="resize")
    except MemoryError:  # the decode did not fit in this worker's memory
        return failed(url, kind, "out_of_memory", f"MemoryError decoding a {len(data)}-byte {kind}", stage="resize")
