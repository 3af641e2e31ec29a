"""m3w-builder core library: plain Python stages (no Beam imports) from web pages to shards.

The few entry points a user scripts against (README, "Library"):

    from m3w_builder import extract, render_text, process_image, extract_frames, ShardWriter

    doc = extract(html_bytes, "https://example.com/a.html").document   # a Document, nodes in DOM order
    print(render_text(doc))                                             # T0<EOC><image>T1<EOC>
    image = process_image(jpeg_bytes)                                   # resized RGB JPEG + sha256/pHash
    frames = extract_frames(mp4_bytes)                                  # 1 FPS frames as JPEGs
    with open("my-000000.tar", "wb") as f:                              # a byte-reproducible shard
        writer = ShardWriter(f)
        writer.add_sample("key0", [("json", b"{}"), ("0.jpg", image.jpeg)])
        writer.close()

Every stage drops an input by raising `Rejected(reason, detail)`.
"""

from m3w_builder.document import Document, ImageNode, TextNode, VideoNode
from m3w_builder.drops import Drops, Rejected
from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.media.images import ImageOptions, process_image
from m3w_builder.media.video import VideoOptions, extract_frames
from m3w_builder.output.shards import ShardWriter
from m3w_builder.samples.markers import render_text

__all__ = [
    "Document", "Drops", "ExtractOptions", "ImageNode", "ImageOptions", "Rejected", "ShardWriter", "TextNode",
    "VideoNode", "VideoOptions", "extract", "extract_frames", "process_image", "render_text",
]
