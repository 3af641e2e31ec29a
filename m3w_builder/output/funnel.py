"""The job's counters read as a funnel, shared by report.html and the dataset card.

Counter vocabulary: `<stage>/kept` counts what a stage passed, `<stage>/n_<name>` is a volume
(bytes, paragraphs; `language/n_<code>` counts detected languages), and every other `<stage>/<reason>` a drop
with that reason. Each stage belongs to one unit (what it counts: pages, paragraphs, media, samples), so a
chart never mixes pages with images. A stage without `kept` (one not converted to the convention
yet) is shown with its raw counters and no percentages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# the unit each stage counts, in pipeline order; stages not listed are "other" (a test runs both
# jobs and checks that none is). Pair items (list rows, alt candidates) count as media.
UNITS = {
    "files": ("inputs", "route"),
    "pages": ("read", "align_page", "prepass", "extract", "filter", "optout", "language", "url_dedup",
              "near_dup", "image_set_dedup", "paragraph_dedup", "media_requests", "assemble"),
    "paragraphs": ("filter_paragraph",),
    "media": ("extract_media", "list", "align", "settle", "captions", "local_media", "media", "assemble_media",
              "pairs"),
    "samples": ("window", "shard"),
}
KEYS_SUFFIX = "_keys"  # a corpus rule's key step (`url_dedup_keys`) counts what its rule counts


@dataclass
class Stage:
    """One stage's counters: `kept` (None when the stage does not count it), drops by reason, volumes."""

    name: str
    unit: str
    kept: int | None
    drops: dict[str, int] = field(default_factory=dict)
    volumes: dict[str, int] = field(default_factory=dict)

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    @property
    def entered(self) -> int | None:
        return None if self.kept is None else self.kept + self.dropped

    @property
    def drop_share(self) -> float | None:
        return self.dropped / self.entered if self.entered else None


def unit_of(stage: str) -> str:
    stage = stage.removesuffix(KEYS_SUFFIX)
    return next((unit for unit, stages in UNITS.items() if stage in stages), "other")


def stage_rank(stage: str) -> tuple[int, int, str]:
    units = list(UNITS) + ["other"]
    unit = unit_of(stage)
    order = UNITS.get(unit, ())
    return units.index(unit), order.index(stage) if stage in order else len(order), stage


def stages(counters: dict[str, int]) -> list[Stage]:
    """Every stage named in `counters`, in pipeline order within its unit."""
    found: dict[str, Stage] = {}
    for name, value in counters.items():
        stage, _, reason = name.partition("/")
        if not reason:
            continue
        entry = found.setdefault(stage, Stage(stage, unit_of(stage), None))
        if reason == "kept":
            entry.kept = value
        elif reason.startswith("n_"):
            entry.volumes[reason[2:]] = value
        else:
            entry.drops[reason] = value
    for entry in found.values():
        if entry.kept is None:  # not on the convention: its counters are not known to be drops
            entry.volumes.update(entry.drops)
            entry.drops = {}
    return sorted(found.values(), key=lambda s: stage_rank(s.name))


def languages(counters: dict[str, int]) -> dict[str, int]:
    """Detected languages (`language/n_<code>`), most frequent first."""
    found = {k[len("language/n_"):]: v for k, v in counters.items() if k.startswith("language/n_")}
    return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))
