"""An image's colour numbers in sRGB, where its embedded ICC profile says they mean other colours.

A stored JPEG carries no profile, so its numbers are read as sRGB: a picture saved in Adobe RGB,
Display P3, ColorMatch or Apple's gamma-1.8 Generic RGB kept its numbers and showed other colours
(12-15 levels off on average on the shared files with such profiles). Profiles whose primaries are
sRGB's are left alone (no cost, same bytes); a profile LittleCMS cannot read or that is not RGB
leaves the numbers as they are. Transforms are built once per profile and worker process.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

from PIL import Image, ImageCms

MAX_PROFILES = 64  # distinct profiles whose transform a worker process keeps (least recently used goes)
_COLORANTS = ("red_colorant", "green_colorant", "blue_colorant")
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_TRANSFORMS: OrderedDict[bytes, ImageCms.ImageCmsTransform | None] = OrderedDict()
_GUARD = threading.Lock()


def to_srgb(rgb: Image.Image, icc: bytes | None) -> Image.Image:
    """`rgb` (mode RGB, numbers in the space of the profile `icc`) with sRGB numbers."""
    transform = _transform(icc) if icc else None
    return rgb if transform is None else transform.apply(rgb)


def _transform(icc: bytes) -> ImageCms.ImageCmsTransform | None:
    key = hashlib.sha256(icc).digest()
    with _GUARD:
        if key in _TRANSFORMS:
            _TRANSFORMS.move_to_end(key)
            return _TRANSFORMS[key]
    transform = _build(icc)
    with _GUARD:
        _TRANSFORMS[key] = transform
        while len(_TRANSFORMS) > MAX_PROFILES:
            _TRANSFORMS.popitem(last=False)
    return transform


def _build(icc: bytes) -> ImageCms.ImageCmsTransform | None:
    """The profile's transform to sRGB; None for sRGB itself and for a profile that is unreadable
    or not RGB. NOCACHE: LittleCMS's one-pixel cache is written while a transform runs, and decode
    threads share this one."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if profile.profile.xcolor_space.strip() != "RGB" or _is_srgb(profile):
            return None
        return ImageCms.buildTransform(profile, _SRGB, "RGB", "RGB", flags=ImageCms.Flags.NOCACHE)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        return None


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    """Whether the profile's primaries are sRGB's (as every sRGB profile's are, adapted to D50)."""
    for name in _COLORANTS:
        ours, theirs = getattr(profile.profile, name), getattr(_SRGB.profile, name)
        if ours is None or any(abs(a - b) > 0.002 for a, b in zip(ours[0], theirs[0], strict=True)):
            return False
    return True
