"""HTML pages of the sample crawl and the media each one references.

A `PageBuilder` writes one page like a real CMS would (cookie banner, header, nav, ads, aside,
footer, beacon) and records, for every media reference, the absolute URL a browser resolves
(`<base href>` included) and the `Blob` served there.
"""

from __future__ import annotations

import html
import posixpath
import random
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from m3w_builder.demo import crawl_media as media
from m3w_builder.demo import crawl_text as text

AD_HOST = "https://ads.example-adnet.test"
BANNER_URL = f"{AD_HOST}/banners/leaderboard-728x90.jpg"
PIXEL_URL = "https://stats.example-metrics.test/p.gif"


@dataclass(frozen=True)
class Blob:
    """One HTTP response body with its status and Content-Type."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Site:
    """A fictional web site."""

    origin: str
    name: str
    topic: str
    logo_colour: str
    media_dir: str
    nav: tuple[str, ...]
    lang: str = "en"


SITES: dict[str, Site] = {
    "garden": Site("http://www.example-garden.test", "Example Garden", "garden", "green",
                   "/wp-content/uploads/2024/04/", ("Home", "Vegetables", "Flowers", "Tools", "About")),
    "city": Site("https://news.example-city.test", "Example City News", "city", "blue",
                 "/images/2024/", ("Local", "Transport", "Business", "Culture", "Opinion", "Weather")),
    "crafts": Site("https://shop.example-crafts.test", "Example Crafts", "crafts", "purple",
                   "/cdn/shop/files/", ("Shop", "New in", "Workshops", "Blog", "Contact")),
    "travel": Site("http://blog.example-travel.test", "Example Travels", "travel", "orange",
                   "/photos/", ("Destinations", "Itineraries", "Gear", "About us")),
    "kitchen": Site("https://www.example-kitchen.test", "Example Kitchen", "kitchen", "red",
                    "/img/recipes/", ("Recipes", "Baking", "Quick meals", "Newsletter")),
    "nihon": Site("http://www.example-nihon.test", "Example Niwa", "garden", "yellow",
                  "/images/", ("ホーム", "野菜", "花", "お問い合わせ"), lang="ja"),
}


@dataclass(frozen=True)
class PageSpec:
    """Where a page lives and which special cases it carries (see `sample_crawl.PLAN`)."""

    site: str
    path: str
    features: frozenset[str] = frozenset()


@dataclass
class Page:
    """A rendered page: its bytes, HTTP Content-Type and the media it references, in DOM order."""

    url: str
    content_type: str
    body: bytes
    media: dict[str, Blob] = field(default_factory=dict)


_A = html.escape


def _content_type(fmt: str) -> tuple[str, str]:
    return {"jpeg": (".jpg", "image/jpeg"), "progressive": (".jpg", "image/jpeg"),
            "exif6": (".jpg", "image/jpeg"), "truncated": (".jpg", "image/jpeg"), "missing": (".jpg", ""),
            "png": (".png", "image/png"), "webp": (".webp", "image/webp")}[fmt]


class PageBuilder:
    """Builds one page; `ref` turns a media path into an href and registers what it resolves to."""

    def __init__(self, spec: PageSpec, seed: int, clips: dict[str, tuple[media.ClipSpec, dict[str, bytes]]]):
        self.spec = spec
        self.site = SITES[spec.site]
        self.url = self.site.origin + spec.path
        self.rng = random.Random(f"{seed}/{self.url}")
        self.topic = text.TOPICS[self.site.topic]
        self.base = "https://cdn.example-city.test/assets/2024/" if "base" in spec.features else None
        self.clips = clips
        self.media_dir = "/assets/2024/photos/" if self.base else self.site.media_dir
        self.media: dict[str, Blob] = {}
        self.title = ""
        self.article: list[str] = []
        self.words = 0

    # -- media references -------------------------------------------------------------------
    def ref(self, path: str, blob: Blob, form: str = "root") -> str:
        """Href for `path` (absolute path on this site, or absolute URL) in the given `form`."""
        if path.startswith("http"):
            href = path
        elif self.base:
            href = posixpath.relpath(path, urlsplit(self.base).path)
        elif form == "absolute":
            href = self.site.origin + path
        elif form == "protocol":
            href = "//" + urlsplit(self.site.origin).netloc + path
        elif form == "relative":
            href = posixpath.relpath(path, posixpath.dirname(self.spec.path))
        else:
            href = path
        resolved = urljoin(self.base or self.url, href)
        self.media[resolved] = blob
        return href

    def _image_blob(self, shape: media.ShapeSpec, size: tuple[int, int], fmt: str) -> Blob:
        img = media.draw_shape(shape, size)
        body = media.truncated_jpeg(img) if fmt == "truncated" else media.encode(img, fmt)
        return Blob(200, _content_type(fmt)[1], body)

    # -- article text -----------------------------------------------------------------------
    def para(self, content: str) -> None:
        """Append a paragraph; Japanese (unspaced) text counts one word per two characters."""
        self.article.append(f"<p>{_A(content)}</p>")
        self.words += len(content) // 2 if self.site.lang == "ja" else len(content.split())

    def filler(self, count: int) -> None:
        if self.site.lang == "ja":
            self.para(text.japanese_paragraph(self.rng, count))
        else:
            self.para(text.paragraph(self.rng, self.topic, count))

    # -- content pictures -------------------------------------------------------------------
    def picture(self, k: int, fmt: str, variant: str) -> None:
        """One described picture: markup in `variant`, then the paragraph that describes it."""
        rng = self.rng
        shape = media.random_spec(rng)
        size = rng.choice(media.CONTENT_SIZES)
        slug = posixpath.splitext(posixpath.basename(self.spec.path))[0] or "index"
        stem = f"{self.media_dir}{slug}-{k + 1}"
        ext = _content_type(fmt)[0]
        form = rng.choice(("root", "root", "absolute", "relative", "protocol"))
        if self.site.lang == "ja":
            sentence = text.japanese_describe(shape.colour, shape.shape, shape.background)
            alt = sentence
        else:
            sentence = text.describe(rng, shape.colour, shape.shape, shape.background)
            alt = rng.choice((f"{shape.colour} {shape.shape} on {shape.background}", "", "photo",
                              text.shape_phrase(shape.colour, shape.shape)))
        w, h = size
        if fmt == "missing":
            src = self.ref(stem + ".jpg", Blob(404, "text/html; charset=utf-8", NOT_FOUND), form)
            tag = f'<img src="{_A(src)}" alt="{_A(alt)}" width="{w}" height="{h}">'
        elif variant == "srcset":
            small = self.ref(f"{stem}-{w}w{ext}", self._image_blob(shape, size, fmt), form)
            large = self.ref(f"{stem}-{2 * w}w{ext}", self._image_blob(shape, (2 * w, 2 * h), fmt), form)
            tag = (f'<img src="{_A(small)}" srcset="{_A(small)} {w}w, {_A(large)} {2 * w}w" '
                   f'sizes="(max-width: {2 * w}px) 100vw, {2 * w}px" alt="{_A(alt)}">')
        elif variant == "picture":
            webp = self.ref(stem + ".webp", self._image_blob(shape, size, "webp"), form)
            jpeg = self.ref(stem + ".jpg", self._image_blob(shape, size, "jpeg"), form)
            tag = (f'<picture><source type="image/webp" srcset="{_A(webp)}">'
                   f'<img src="{_A(jpeg)}" alt="{_A(alt)}" width="{w}" height="{h}"></picture>')
        else:
            src = self.ref(stem + ext, self._image_blob(shape, size, fmt), form)
            if variant == "lazy":
                tag = (f'<img class="lazyload" src="{media.PIXEL_GIF_URI}" data-src="{_A(src)}" '
                       f'alt="{_A(alt)}" width="{w}" height="{h}">')
            elif variant == "lazy2":
                tag = f'<img src="{media.PIXEL_GIF_URI}" data-lazy-src="{_A(src)}" alt="{_A(alt)}">'
            else:
                tag = f'<img src="{_A(src)}" alt="{_A(alt)}" width="{w}" height="{h}" loading="lazy">'
        if variant == "figure":
            caption = f"Figure {k + 1}. " + text.shape_phrase(shape.colour, shape.shape).capitalize()
            self.article.append(f'<figure class="wp-block-image">{tag}<figcaption>{_A(caption)}'
                                f"</figcaption></figure>")
            self.words += len(caption.split())
        else:
            self.article.append(f'<div class="image">{tag}</div>')
        if self.site.lang == "ja":
            self.para(sentence + text.japanese_paragraph(rng, 2))
        else:
            self.para(sentence + " " + text.paragraph(rng, self.topic, rng.randint(1, 3)))

    def video(self, name: str) -> None:
        """A `<video>` with poster and sources, then the paragraph that describes the motion."""
        clip, files = self.clips[name]
        poster = self.ref(f"/media/{name}-poster.jpg",
                          Blob(200, "image/jpeg", media.encode(media.clip_frame(clip, 0), "jpeg")))
        sources = "".join(
            f'<source src="{_A(self.ref(f"/media/{name}.{ext}", Blob(200, f"video/{ext}", data)))}" '
            f'type="video/{ext}">' for ext, data in files.items())
        w, h = clip.size
        self.article.append(f'<figure class="video"><video controls preload="none" width="{w}" height="{h}" '
                            f'poster="{_A(poster)}">{sources}Your browser does not support the video tag.'
                            f"</video></figure>")
        self.para(text.describe_clip(clip.colour, clip.background, clip.direction) + " "
                  + text.paragraph(self.rng, self.topic, 2))


NOT_FOUND = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>\n"
VARIANTS = ("plain", "plain", "figure", "lazy", "lazy2")
SPECIAL_FORMATS = ("progressive", "exif6", "truncated", "missing")


def build_article(b: PageBuilder) -> str:
    """Title, byline, intro, pictures with their descriptions, closing paragraphs."""
    rng, features = b.rng, b.spec.features
    ja = b.site.lang == "ja"
    b.title = "小さな庭の春の記録" if ja else text.title(rng, b.topic)
    b.article.append(f"<h1>{_A(b.title)}</h1>")
    b.words += len(b.title.split())
    byline = "" if ja else f"By {rng.choice(('Jo Baker', 'Sam Okafor', 'Mira Patel', 'Lee Chen'))}"
    if "avatar" in features:
        avatar = b.ref("/avatars/author-40.png", Blob(200, "image/png", media.avatar()))
        byline = f'<img class="avatar" src="{_A(avatar)}" width="40" height="40" alt=""> {byline}'
    b.article.append(f'<p class="byline">{byline} &middot; <time>2024-04-{rng.randint(1, 28):02d}</time></p>')
    b.filler(rng.randint(3, 5))
    for extra in ("cp1252", "lying", "forgery"):
        if extra in features:
            b.para({"cp1252": text.SMART_QUOTES, "lying": text.LYING_CHARSET, "forgery": text.FORGERY}[extra])
    if "svg" in features:
        badge = b.ref("/static/badges/top10.svg", Blob(200, "image/svg+xml", media.svg_badge()))
        b.article.append(f'<p><img src="{_A(badge)}" alt="Top 10 shop badge" width="120" height="120"> '
                         f"We were voted one of the top ten small craft shops this year.</p>")
    target = rng.randint(220, 700)
    count = next((int(f[7:]) for f in features if f.startswith("images=")), rng.randint(1, 6))
    for k in range(count):
        if b.words < target * (k + 1) // (count + 2):
            b.filler(rng.randint(3, 5))
        if not ja and rng.random() < 0.3:
            b.article.append(f"<h2>{_A(rng.choice(b.topic.headings))}</h2>")
        fmt = next((f for f in SPECIAL_FORMATS if f in features and k == 0), None)
        variant = next((v for v in ("srcset", "picture") if v in features and k == count - 1), None)
        b.picture(k, fmt or ("png" if rng.random() < 0.15 else "jpeg"), variant or rng.choice(VARIANTS))
        for clip in ("clip-1", "clip-2"):
            if clip in features and k == 0:
                b.video(clip)
    while b.words < target:
        b.filler(rng.randint(3, 6))
    return "\n".join(b.article)


def _shell(b: PageBuilder, article: str, charset: str) -> str:
    """Everything around the article: head, cookie banner, header, nav, ads, aside, footer."""
    rng, site = b.rng, b.site
    ja = site.lang == "ja"
    logo = b.ref("/static/logo.png", Blob(200, "image/png", media.logo(site.name, site.logo_colour)))
    banner = b.ref(BANNER_URL, Blob(200, "image/jpeg", media.banner()))
    pixel = b.ref(PIXEL_URL, Blob(200, "image/gif", media.PIXEL_GIF))
    nav = "".join(f'<li><a href="/{i}/">{_A(item)}</a></li>' for i, item in enumerate(site.nav))
    popular = "".join(f'<li><a href="/post/{rng.randint(100, 999)}">{_A(text.title(rng, b.topic))}</a></li>'
                      for _ in range(4))
    cookie = ("当サイトではクッキーを使用しています。" if ja else
              "We use cookies to give you the best experience on our website. "
              "By continuing to browse you agree to our use of cookies.")
    meta = (f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">' if "lying" in b.spec.features
            else f'<meta charset="{charset}">')
    canonical = b.url.split("?")[0]
    base = f'<base href="{b.base}">' if b.base else ""
    return f"""<!DOCTYPE html>
<html lang="{site.lang}">
<head>
{meta}
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_A(b.title)} | {_A(site.name)}</title>
<link rel="canonical" href="{_A(canonical)}">
{base}
<link rel="stylesheet" href="/static/site.css?v=3">
<style>.ad{{margin:1em auto;text-align:center}}#cookie-banner{{position:fixed;bottom:0}}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}gtag('js',1);</script>
</head>
<body class="post-template">
<div id="cookie-banner" class="cookie-consent" role="dialog"><p>{cookie}</p>
<button type="button" class="accept">OK</button> <a href="/privacy">Privacy policy</a></div>
<header class="site-header"><a class="brand" href="/">
<img src="{_A(logo)}" alt="{_A(site.name)} logo" width="200" height="60"></a>
<nav class="main-nav"><ul>{nav}</ul></nav></header>
<div class="ad ad-leaderboard"><a href="{AD_HOST}/click?c={rng.randint(1000, 9999)}" rel="sponsored nofollow">
<img src="{_A(banner)}" width="728" height="90" alt="Advertisement"></a></div>
<main class="content"><article class="post">
{article}
</article>
<aside class="sidebar"><h3>{"人気の記事" if ja else "Popular posts"}</h3><ul>{popular}</ul>
<div class="ad ad-sidebar">
<iframe src="{AD_HOST}/frame/300x250.html" width="300" height="250" title="Advertisement"></iframe></div>
<div class="newsletter"><h3>Newsletter</h3><p>Get new posts by email. No spam, ever.</p>
<form><input type="email" name="email"><button>Subscribe</button></form></div>
</aside></main>
<footer class="site-footer">
<nav><a href="/about">About</a> | <a href="/contact">Contact</a> | <a href="/privacy">Privacy</a></nav>
<p>&copy; 2024 {_A(site.name)}. All rights reserved.</p>
<img src="{_A(pixel)}" width="1" height="1" alt="" style="display:none"></footer>
<script src="/static/app.js" async></script>
</body>
</html>
"""


def build_page(spec: PageSpec, seed: int, clips: dict[str, tuple[media.ClipSpec, dict[str, bytes]]]) -> Page:
    """Render `spec`: encode per its features and choose the HTTP Content-Type header."""
    b = PageBuilder(spec, seed, clips)
    article = build_article(b)
    if "sjis" in spec.features:
        charset, declared = "Shift_JIS", "shift_jis"
    elif "cp1252" in spec.features:
        charset, declared = "windows-1252", "cp1252"
    elif "lying" in spec.features:
        charset, declared = "iso-8859-1", "utf-8"  # the meta tag lies; the bytes are UTF-8
    else:
        charset, declared = "utf-8", "utf-8"
    page = _shell(b, article, charset)
    # Plain UTF-8 pages sometimes rely on the meta tag alone; the liar never declares in HTTP.
    undeclared = "lying" in spec.features or (charset == "utf-8" and b.rng.random() < 0.2)
    content_type = "text/html" if undeclared else f"text/html; charset={charset}"
    return Page(b.url, content_type, page.encode(declared), b.media)
