"""Images of a page: their source URL (lazy attributes, `srcset`, `<picture>`, else any attribute
named as a source) and their class.

Classes: `content` (in the article, the default kept set), `teaser` (a thumbnail linking to another
page, or in a card whose only text is a title linking to one, or linking where the card's title links
too: related/recommended article cards; or any linked image whose URL asks for a thumbnail's size,
`url_size`, or whose file is named as a thumbnail: a gallery strip; or a crop named a teaser; or a
social network's post hot-linked by a feed widget; or a bare image linking to a shop's product page: a
product card), `logo` (logos, icons, avatars, emoji, spacers, buttons and banner strips: small or
strip-shaped size, declared in the markup or else asked for in the URL, or named so (a JPEG named for a
photographed thing, `button-mushrooms.jpg`, or a picture-sized one whose class only says `icon`, is
not), a byline's author avatar, an author box's photo (the box named so, or opened by an "About the
author" heading), a team page's headshots (named as a person's picture); stand-ins for a missing
picture; controls (an image map's too), app-store badges, the site's theme files and the files of its shared `common`
folder), `ad` (ad and tracker hosts and slots, and files named as banners or newsletter sign-ups:
promotions), `outside` (elsewhere on the page than the main content, or in a sidebar `<aside>` the
selection kept: one that does not hold the article's core), `copy` (a content image whose picture the
page showed already, see `copy_key`, or a small-screen variant of one, or a Pinterest image the page
hides, or a preview: a thumbnail's file stretched to a picture's declared size, `_PREVIEW_RATIO`, or a recipe
card's summary image after a content image, `_SUMMARY_IMAGE_RE`). The
class is decided from the DOM alone, before any download.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import islice
from urllib.parse import urljoin, urlsplit

from lxml import etree

from m3w_builder.document import ImageNode, VideoNode
from m3w_builder.extract.boilerplate import BLOCK_TAGS, class_words, text_of
from m3w_builder.extract.content import Item
from m3w_builder.extract.urls import best_srcset, resolve

CONTENT, TEASER, LOGO, AD, OUTSIDE, COPY = "content", "teaser", "logo", "ad", "outside", "copy"

LAZY_SRC_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src",
                  "data-normal", "data-full-src", "data-orig-src", "data-original-src", "data-actualsrc",
                  "data-echo", "data-img-src", "data-image", "data-srcset-fallback")
LAZY_SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "data-original-set")
_LAZY_ATTRS = frozenset(LAZY_SRC_ATTRS + LAZY_SRCSET_ATTRS)
_READ_ATTRS = _LAZY_ATTRS | {"src", "srcset"}
# The name of any other attribute that may hold the picture: a lazy loader the list above does not know
# (NitroPack's `nitro-lazy-src`, Splide's `data-splide-lazy`, `data-img-url`, Salon's `data-source-standard`).
_SOURCE_NAME_RE = re.compile(r"src|lazy|source|original|img-url|image-url")
# Substrings of the lower-cased class, id, file name and alt (`in` tests: far cheaper than one
# case-insensitive regex alternation per image).
_LOGO_WORDS = ("logo", "icon", "avatar", "sprite", "emoji", "emoticon", "smiley", "badge", "favicon",
               "gravatar", "spinner", "placeholder", "spacer", "blank.", "pixel", "button", "rating", "flag-",
               "author", "authorphoto", "profile-photo", "profile-image", "profile-pic", "profile photo",
               "profile image", "profile pic", "profilbild", "photo de profil", "foto de perfil", "headshot", "btn")
# Logo words that longer words carry: each counts only where its pattern finds it (`silicon-valley.jpg`,
# `iconic-skyline.jpg`, `honey-badger.jpg`, `decorating-the-cake.jpg`, `authorized-dealer.jpg`,
# `authors-at-the-fair.jpg`, `plating-pixels-chef.jpg`, `pixelated-mural.jpg`, `sewing-buttons.jpg`,
# `buttonhole-stitch.jpg`, `spritely-dance.jpg`, `vishnu-avatara.jpg` are pictures; a word run into the one
# before it still names the thing: `sharebutton.png`, a `comavatar` class), and, where the flag says so, only
# in the class, id or file name: `author-1x1.jpg` or a `byline__author` class is a byline's avatar, an alt
# "Photograph of the author" on an about page the page's picture, an alt "Pixel 8 Pro" or "Sprite" a phone's
# or a drink's. Tested only once the word is in, so most images pay nothing.
_BOUNDED_LOGO_WORDS = {"icon": (re.compile(r"(?<!sil)(?<!lex)icon(?!ic|ograph|ocla)"), True),
                       "badge": (re.compile(r"badge(?!r)"), True),
                       "rating": (re.compile(r"(?<![a-z])ratings?(?![a-z])"), True),
                       "author": (re.compile(r"(?<![a-z])author(?![a-z])"), False),
                       "avatar": (re.compile(r"avatars?(?![a-z])"), True),
                       "button": (re.compile(r"button(?![a-z])"), True),
                       "sprite": (re.compile(r"sprite(?!l)"), False),
                       "pixel": (re.compile(r"(?<![a-z])pixel(?![a-z])"), False)}
# Logo words that also name things photographed (button mushrooms, a salad spinner, a Pixel phone, a can
# of Sprite, a country's flag): in a JPEG's file name they name the photo's subject (`button-mushrooms.jpg`),
# as the control, tracking pixel, sprite sheet or flag icon they name elsewhere is drawn as a PNG, GIF or SVG.
# The class, id and alt still count.
_PHOTOGRAPHED_WORDS = frozenset(("button", "spinner", "pixel", "sprite", "flag-"))
_PHOTO_FILES = (".jpg", ".jpeg")
# Logo words naming a small drawn thing (an icon, an emoji, a button): in the class or id of a raster image
# the markup lays out as a picture, at least `_PICTURE_SIDE` on both sides, they name a site's card style
# (taste.com.au's `main-icon` on its lead photo and cards), no icon. Its file name and alt still count.
_SMALL_THING_WORDS = frozenset(("icon", "emoji", "emoticon", "smiley", "spinner", "button", "btn"))
_PICTURE_SIDE = 200
# A person's picture in a list of people, named so in its class or id (`Person__Picture`, `team-member-photo`,
# `staff-image`, `speaker-headshot`): a team or staff page's headshots, avatars like a byline's. In a file
# name or alt (`team-photo.jpg`, "Staff photo at the picnic") the words may name a group's picture.
_PERSON_HINTS = ("person", "member", "staff", "speaker", "employee")
_PERSON_PICTURE_RE = re.compile(r"(?:person|member|staff|speaker|employee)s?[-_]*(?:picture|photo|image|img|pic|"
                                r"portrait|headshot|avatar)")
# Logo words of a file name only: a spinner's file (`snake-loader.gif`); on a class they name a lazy
# loader's state (`image--loading`, `ImageLoader`) on the picture itself.
_LOGO_FILE_WORDS = ("loader", "loading")
_ICON_PREFIXES = ("ico_", "ico-")  # a file named as an icon (`ico_chef_sm.png`, `ico-24-selector-DE.png`)
_AD_WORDS = ("doubleclick", "googlesyndication", "googleadservices", "adservice", "adnxs", "amazon-adsystem",
             "taboola", "outbrain", "criteo", "scorecardresearch", "quantserve", "/ads/", "/adserver", "/adx/",
             "/banners/", "advert", "sponsor", "tracking", "beacon", "analytics", "facebook.com/tr")
# A file named a banner or a newsletter sign-up is a promotion: the site's own (a cookbook, a plan, an app,
# its newsletter: `cookbook-banner-5.png`, `SEO-GB-Recipe-Banner-Square-300x250.gif`, `newsletter_recipe.jpg`)
# or a partner's (`banner_syo06.gif`); a folder so named (Drupal's `field_banner_image/`) may hold the
# article's lead picture.
_PROMO_WORDS = ("banner", "newsletter", "subscribe", "signup", "sign-up")
# An ad server's host: `ad.` or `ads2.` before a domain (`ad.gmw.cn`; the newspaper `ad.nl` is no server).
_AD_HOST_RE = re.compile(r"//ads?\d*\.[^/.]+\.")
# Whole words of a class/id naming an ad slot (`/a/ad/` in a hashed path is no ad).
_AD_NAMES = frozenset(("ad", "ads", "adslot", "adunit", "advert", "advertisement", "sponsored", "dfp", "gpt-ad"))
_SHORT_ALT = 30
# An author box: a block beside the article introducing who wrote it, the person's photo and a few lines of
# bio (`author-box`, `authorInfoBox`, `about-the-author`, `cwp-about-me`, CultivateWP's `block-about` and
# `block-personal-note`, `sidebar-bio`, a `team-member` card, `autor-box`, `sobre-el-autor`, `chi-sono`):
# its photo is the writer's, no picture of the article. A class or id of the image or of its
# `_BOX_LEVELS` nearest ancestors names it; a block so named holding over `_BOX_TEXT` characters is
# the article itself (an about page), not a box beside it. `_BOX_HINTS` are tested first (`in`).
_BOX_HINTS = ("author", "about", "bio", "personal", "team", "autor", "auteur", "sono", "mich")
_AUTHOR_BOX_RE = re.compile(
    r"(?<![a-z])(?:(?:post|article|entry)?[-_]?author[-_]?(?:info|bio)?[-_]?(?:box|bio|card|profile|info|block|"
    r"wrap|wrapper|details|description|widget|section|area|heading)|about[-_]?(?:the[-_]?)?(?:author|me)|"
    r"(?:block|sidebar|widget)[-_]about|(?:author|sidebar|user|writer|member|profile)[-_]?bio(?:graphy)?|"
    r"personal[-_]note|team[-_]member|autor(?:e|in)?[-_]?(?:box|bio|info)|(?:sobre|acerca)[-_](?:de[-_])?"
    r"(?:el[-_]|o[-_])?autor|auteur[-_]?(?:box|bio|info)|a[-_]propos[-_]de[-_]l[-_]?auteur|chi[-_]sono|"
    r"u(?:e)?ber[-_]mich)(?![a-z])")
# A box may say so in a heading instead ("About the author", "Written by", "Meet the author", "Hi, I'm
# Melissa!", "Über den Autor", "Sobre el autor", "L'autore") in the unlinked image's nearest block
# holding text (`_text_block`): a small one (`_BOX_TEXT`), not an article closing on such a section.
_AUTHOR_HEADING_RE = re.compile(
    r"(?:about (?:the )?(?:author|writer)|meet the (?:author|writer)|written by|about me\b|(?:hi|hello|hey)[,!]? "
    r"(?:i[’']m|i am|we[’']re|we are)\b|über (?:den|die) autor|über mich|à propos de l[’']auteur|"
    r"sobre (?:el|la|o|a) autor|sobre mí|l[’']autore|chi sono|o autorze|over de auteur|om forfatteren)",
    re.IGNORECASE)
_HEADINGS = frozenset(("h2", "h3", "h4", "h5", "h6"))
_BOX_LEVELS = 4
_BOX_TEXT = 1000  # the dev pages' boxes hold at most 408
_BOX_ELEMENTS = 200
# Of an ancestor's class and id, the first characters read (for an author box, a small-screen variant):
# every image reads its ancestors' again, and a hostile page's 100 kB class above 2000 images cost each a
# scan of it (the dev pages' box names end by the 76th character).
_ANCESTOR_NAME_CHARS = 1000
# Hosts serving a social network's posts: an image hot-linked from them is a feed widget's tile (an
# Instagram feed under a recipe, a lightbox of its posts), standing for a post elsewhere; an embedded
# post in an article is an iframe, not an `<img>`.
_SOCIAL_FEED_HOSTS = ("cdninstagram.com/", "fbcdn.net/")
# An image linking to an app store is its badge ("Download on the App Store"), whatever its name.
_APP_STORES = ("//apps.apple.com/", "//itunes.apple.com/", "//play.google.com/store", "//appgallery.huawei.com/",
               "//www.microsoft.com/store/")
# A file named only as a stand-in (optionally with a version or hash): the transparent or one-pixel
# image a lazy loader or a layout shows in place of a picture (`transparent-1093278.png`, `1px.gif`);
# a named photo cropped square (`chicken-1x1-1.jpg`) is no stand-in. So is a GIF named by one letter or
# none (Yahoo's `t.gif`, `s.gif`, a bare `.gif`): a numbered photo (`1.jpg`) is a picture.
_STAND_IN_RE = re.compile(r"(?:transparent|trans|1px|1x1|clear|blank|empty|spacer|pixel|dot|grey|gray|white|"
                          r"placeholder|loading|loader|default|none|no-?image)"
                          r"(?:[-_.@](?=[a-z]*[0-9])[0-9a-z]{1,16})?\.(?:gif|png|jpe?g|webp|svg|avif)|[a-z_]?\.gif")
# A link to a shop's product page (`shop.x.it/products/sac-a-poche`, `/produkt/386/bio-basmati-reis`,
# `/shopbrand/001/017/`): a bare image linking there is a product card, whatever page it sits on.
_PRODUCT_LINK_RE = re.compile(r"//(?:shop|store)\.|/(?:products?|produkt[ea]?|produits?|productos?|prodott[oi]|shop|"
                              r"store|shopbrand)/")
# A file standing in for a missing picture (`project-nothumbnail.jpg`, `no_image_available.png`); the
# word stands alone: `piano-images.jpg` and `monophoto.jpg` are pictures.
_MISSING_RE = re.compile(r"(?<![a-z])no[-_]?(?:thumb|image|img|photo|picture|pic|avatar)")
# A file named only after a network or a page action, with an optional style, state or size: a share or
# follow button (`facebook.png`, `twitter-white-32.svg`); a photo named after one (`pinterest-collage-dahl.jpg`)
# is not one.
_BUTTON_SUFFIX = (r"(?:[-_](?:icon|logo|button|btn\d?|share|white|black|grey|gray|color|colour|circle|square|round|"
                  r"small|large|sm|md|lg|up|down|left|right|on|off|hover|active|full|empty|half|\d{1,3}(?:x\d{1,3})?))*(?:@[1-4]x)?")
_SOCIAL_RE = re.compile(r"(?:facebook|fb|twitter|x-twitter|pinterest|pin-it|pinit|whatsapp|linkedin|instagram|"
                        r"youtube|tiktok|reddit|tumblr|telegram|mastodon|threads|bluesky|vk|weibo|wechat|"
                        r"email|e-mail|mail|rss|feed|print|printer|share|comment|comments)"
                        + _BUTTON_SUFFIX + r"\.(?:gif|png|jpe?g|webp|svg|avif)")
# A control drawn as a file (`chevron.svg`, `basket_up.gif`, `search_btn2.gif`, a rating's `star-half.png`), optionally behind a
# site builder's content hash (`60908306c5938d99543d2b58_close.svg`): a graphics format only, as a
# photo of a basket or a menu (`basket.jpg`) is named the same.
_CONTROL_RE = re.compile(r"(?:[0-9a-f]{16,}_)?(?:close|search|download|menu|hamburger|arrow|chevron|caret|cart|"
                         r"shopping-?cart|basket|wishlist|login|logout|next|prev|previous|back|top|plus|minus|"
                         r"play|pause|expand|collapse|stars?)" + _BUTTON_SUFFIX + r"\.(?:gif|png|svg)")
_CONTROL_FORMATS = (".gif", ".png", ".svg")  # tested first: most content is JPEG, and `endswith` is ~10x cheaper
# Folders of a source path holding only icons, avatars and the like (`/avatar/129.jpg`, Twitter's
# `/profile_images/`), or a site's own look: its theme, template, skin or style sheet files
# (`/wp-content/themes/x/images/`, `/templets/default/`, `/areatemplate/images/`, `/css/images/`); an
# article's pictures are uploads, not part of the theme.
_LOGO_FOLDER_RE = re.compile(r"/(?:avatars?|profile_images|icons?|emojis?|smilies|smileys|emoticons|flags|badges|"
                             r"logos?|sprites|themes?|[a-z]*templates?|templets|skins?|css|_?ui)/")
# The folder a file sits in itself named `common`: the pieces every page of a site shares
# (`/images/common/brand_dot.gif`, `/660x660/common/PDF-MOINS-2E-square.png`), none an article's.
_COMMON_FOLDER_RE = re.compile(r"/common/[^/?#]*(?:[?#]|$)")
_IMAGE_FILE_RE = re.compile(r"\.(?:jpe?g|png|gif|webp|avif|bmp|svg|tiff?)(?:$|[?#])", re.IGNORECASE)
# A declared side this small makes an icon; so do both sides under `_MIN_CONTENT_SIDE`, and a strip
# (short side under `_STRIP_SIDE`, long side `_STRIP_RATIO` times it): buttons, text banners, signatures,
# the 728x90 / 468x60 / 320x50 banner slots; the dev pages' content images hold none.
_ICON_SIDE = 24
_MIN_CONTENT_SIDE = 64
_STRIP_SIDE = 100
_STRIP_RATIO = 4
# A side its source URL asks the image server or the CMS for (`url_size`), read when the markup declares none
# (and for a preview, `_PREVIEW_RATIO`): a `-150x150.jpg` crop, a `/resize/120x80/` or `/60x60/` folder,
# `thumbnail=130,87`, `?w=100&h=80`, Cloudinary's `w_100,h_80`, MediaWiki's `/120px-` thumbnail, Medium's
# `/max/60/` width. Two to four digits: `-1x1-1.jpg` names a square crop, and a date folder (`/2019-10/`) no size.
_URL_HEIGHT_RE = re.compile(r"x(\d{2,4})(?=[-_./@]|$)")  # a `WxH`'s height; its width is read backwards
_URL_QUERY_PAIR_RE = re.compile(r"(?:thumbnail|resize|size)=(\d{2,4})(?:%2c|,|x|:)(\d{2,4})")
_URL_SIDE_RE = re.compile(r"[?&;](?:(w|width)|h|height)=(\d{2,4})(?![\d.])|[/,](?:(w)|h)_(\d{2,4})(?=[,/])"
                          r"|/(\d{2,4})(px)-|/max/(\d{2,4})/")
# A thumbnail: the sides its URL asks for at most this (the markup declaring none: a layout's small
# `width` is no request for a small file), or a file named as one (a CMS's crop name: `-thumbLarge.jpg`,
# `_thumb.jpg`, `-thumb_square_large.jpg`; a `/thumb/` folder holds every size); linked (to a gallery
# slide, a full-size file, another page) it is a strip or list entry standing for a picture shown, or
# to be shown, elsewhere. A crop named a teaser (`-left-tease.jpg`) is one, linked or not.
_THUMB_SIDE = 160
# A preview: a thumbnail's file (the URL asks for a width up to `_THUMB_SIDE`) declared at least this many
# times wider in the markup: the blurred stand-in a lazy loader stretches until the picture comes
# (Medium's `/max/60/` beside the `<noscript>` picture), a `copy` of a picture, no picture of its own.
_PREVIEW_RATIO = 4
_THUMB_NAME_RE = re.compile(r"[-_.](thumb|thumbnail|thumbs|tease|teaser)(?:[-_.]|large|small|standard|wide|$)")


# What makes two URLs of one picture differ: size/format query parameters, a WordPress `-1024x683` or
# `-scaled` suffix, a `@2x` density suffix (also before a converter's second extension: WebP Express's and
# ShortPixel's `-380x520.jpg.webp` beside `.jpg.webp`), a MediaWiki `/540px-` thumbnail prefix.
_SIZE_PARAMS = frozenset(("w", "h", "width", "height", "resize", "fit", "crop", "quality", "q", "dpr", "auto",
                          "format", "fm", "ssl", "strip", "zoom", "size", "sz", "scale"))
_SIZE_SUFFIX_RE = re.compile(r"(?:-\d{2,5}x\d{2,5}|-scaled|@[1-4]x)(?=(?:\.(?:jpe?g|png|gif))?\.\w{2,5}$)|^\d{2,5}px-")
# A folder that only names a size (`/images/360-240/HASH/x.jpg` beside `/images/100-75/HASH/x.jpg`); a
# year and month (`/2016-03/`) is no size.
_SIZE_FOLDER_RE = re.compile(r"/(?!(?:19|20)\d\d-)\d{2,4}[x-]\d{2,4}(?=/|$)")


def url_size(lowered: str) -> tuple[int | None, int | None]:
    """The width and height a lower-cased source URL asks for, None where it names none; the last
    pair in the URL wins (a CDN's resize of an original that carries its own size). Each pattern
    starts with a literal and runs only where its marker is in the URL: a regex starting with a digit
    class costs ~20 us on a long URL, and most URLs name no size."""
    width = height = None
    for match in _URL_HEIGHT_RE.finditer(lowered) if "x" in lowered else ():
        end = start = match.start()
        while start > 0 and end - start < 4 and lowered[start - 1].isdigit():
            start -= 1
        if end - start >= 2 and start > 0 and lowered[start - 1] in "-_/":
            width, height = int(lowered[start:end]), int(match[1])
    query = "=" in lowered
    for match in _URL_QUERY_PAIR_RE.finditer(lowered) if query else ():
        width, height = int(match[1]), int(match[2])
    if width is None and (query or "_" in lowered or "px-" in lowered or "/max/" in lowered):
        for match in _URL_SIDE_RE.finditer(lowered):
            side = match[2] or match[4] or match[5] or match[7]
            if match[1] or match[3] or match[6] or match[7]:
                width = int(side)
            else:
                height = int(side)
    return width, height


def copy_key(src: str) -> str:
    """The URL of an image less what only picks its size or format: two images of a page with one key
    are copies of one picture (a `srcset` variant, a `<noscript>` or lightbox copy, a "pin it" repeat)."""
    path, _, query = src.partition("#")[0].partition("?")
    folder, _, name = path.rpartition("/")
    if "x" in folder or "-" in folder:
        folder = _SIZE_FOLDER_RE.sub("/", folder)
    path = f"{folder}/{_SIZE_SUFFIX_RE.sub('', name)}"  # the file name only for suffixes: a third of the path to scan
    if not query:
        return path
    kept = [pair for pair in query.split("&") if pair.partition("=")[0].lower() not in _SIZE_PARAMS]
    return f"{path}?{'&'.join(kept)}" if kept else path


def nearest(ancestors: list[etree._Element], tags: tuple[str, ...]) -> etree._Element | None:
    """The first of `ancestors` (innermost first) with one of `tags`: a Python scan of the list is
    ~3x faster than a tag-filtered `iterancestors` (its tag matcher is set up on every call)."""
    for ancestor in ancestors:
        if ancestor.tag in tags:
            return ancestor
    return None


def candidate_sources(el: etree._Element, ancestors: list[etree._Element]) -> Iterator[str | None]:
    """Candidate sources in preference order, computed lazily (most images stop at the first)."""
    get = el.get
    if not _LAZY_ATTRS.isdisjoint(el.keys()):  # most images have none: one C set test, not 18
        present = set(el.keys())
        for attr in LAZY_SRC_ATTRS:
            if attr in present:
                value = get(attr)
                yield _width_filled(value, get("data-widths")) if "{width}" in value else value
        for attr in LAZY_SRCSET_ATTRS:
            if attr in present:
                yield best_srcset(get(attr))
    yield best_srcset(get("srcset"))
    yield get("src")
    picture = nearest(ancestors, ("picture",))  # libxml2 may nest <img> inside <source>
    if picture is not None:
        for source in picture.iter("source"):
            yield best_srcset(source.get("srcset")) or source.get("src")
    yield from _other_sources(el)


# A lazy source that is a URL template (lazysizes' RIAS plugin, Shopify themes: `photo_{width}x.jpg` with
# `data-widths="[360, 540, 720]"`): the script fills in a width from the list; here the largest, or
# `_TEMPLATE_WIDTH` when none is listed. A template left unfilled is no URL.
_TEMPLATE_WIDTH = 1080
_WIDTHS_RE = re.compile(r"\d{2,5}")


def _width_filled(template: str, widths: str | None) -> str:
    """A lazy source's `{width}` template filled in (see `_TEMPLATE_WIDTH`)."""
    listed = [int(width) for width in _WIDTHS_RE.findall(widths[:1000])] if widths else []
    return template.replace("{width}", str(max(listed) if listed else _TEMPLATE_WIDTH))


def _other_sources(el: etree._Element) -> Iterator[str | None]:
    """The values of the image's other attributes named as sources (`_SOURCE_NAME_RE`) that hold one
    image URL (or a `srcset`), in markup order: read last, so only an image whose known sources give
    nothing (no `src`, or a lazy loader's `data:` blank) reaches them."""
    for name, value in el.items():
        if name in _READ_ATTRS or not _SOURCE_NAME_RE.search(name):
            continue
        if name.endswith("srcset"):
            yield best_srcset(value)
        elif " " not in value.strip() and _IMAGE_FILE_RE.search(value):
            yield value


def _placeholder(el: etree._Element) -> bool:
    """Whether an `<img>` names no picture: no source at all, or only `data:` URIs (the blank a
    lazy loader shows until a script swaps the picture in)."""
    for attr in ("src", "srcset", *_LAZY_ATTRS):
        value = el.get(attr)
        if value and not value.isspace() and value.lstrip()[:5].lower() != "data:":
            return False
    return True


def _only_image(el: etree._Element) -> etree._Element | None:
    """The one `<img>` of an element that holds nothing else: no text, no second image."""
    if el.tag == "img":
        return el
    found = list(islice(el.iter("img"), 2))
    return found[0] if len(found) == 1 and not _has_text(el) else None


def restore_noscript_images(noscripts: list[etree._Element]) -> None:
    """Put the picture of a `<noscript>` holding one image in place of the placeholder just before it
    (`_placeholder`: Next.js's `data-nimg` blank, a lazy loader's `data:` GIF): the script that swaps
    the picture in never runs here, and the `<noscript>` copy is the page's only source for it. A
    placeholder that names the picture in a lazy attribute keeps it (its `<noscript>` copy goes)."""
    for noscript in noscripts:
        inner = _only_image(noscript) if len(noscript) else None
        before = noscript.getprevious()
        while before is not None and not isinstance(before.tag, str):  # a comment between them
            before = before.getprevious()
        if inner is None or before is None:
            continue
        shown = _only_image(before)
        if shown is not None and _placeholder(shown):
            inner.tail = shown.tail
            shown.getparent().replace(shown, inner)


def restore_figure_images(figures: list[etree._Element]) -> None:
    """Give a `<figure>` that holds no image but names one in an attribute (schema.org's `itemid`, a
    lazy loader's `data-src` on the figure) that image: the script that would draw it never runs
    here. The first attribute whose value is one image URL (no spaces) is read."""
    for figure in figures:
        if next(figure.iter("img", "picture"), None) is not None:
            continue
        for value in figure.values():
            value = value.strip()
            if value and " " not in value and _IMAGE_FILE_RE.search(value):
                figure.insert(0, figure.makeelement("img", {"src": value}))
                break


# AMP pages draw their pictures with `<amp-img>` and their GIFs with `<amp-anim>` (the AMP runtime makes the
# `<img>` when the page loads): each is read as the `<img>` it becomes. One marked `placeholder` (the stand-in
# shown until the picture loads: an `<amp-anim>`'s still frame) or `fallback` (the same picture in an older
# format, inside the `<amp-img>` of its WebP) is no picture of its own: it goes, its tail kept.
AMP_IMAGE_TAGS = ("amp-img", "amp-anim")


def restore_amp_images(elements: list[etree._Element]) -> None:
    """Make each `<amp-img>`/`<amp-anim>` of `elements` (in document order) the `<img>` it stands for, and
    remove the stand-ins (`AMP_IMAGE_TAGS`)."""
    for el in elements:
        if el.get("placeholder") is None and el.get("fallback") is None:
            el.tag = "img"
            continue
        parent = el.getparent()
        if parent is None:
            continue
        if el.tail:
            before = el.getprevious()
            if before is not None:
                before.tail = (before.tail or "") + el.tail
            else:
                parent.text = (parent.text or "") + el.tail
        parent.remove(el)


def image_source(el: etree._Element, base_url: str, page_url: str, ancestors: list[etree._Element]) -> str | None:
    """The best absolute http(s) source of an `<img>`; the page itself or a bare host is no image.
    An image with no lazy attribute and no `srcset` (most) tries its `src` first, without the
    generator: it is the first candidate then."""
    keys = el.keys()
    if "srcset" not in keys and _LAZY_ATTRS.isdisjoint(keys):
        url = _image_url(base_url, page_url, el.get("src"))
        if url is not None:
            return url
    for candidate in candidate_sources(el, ancestors):
        url = _image_url(base_url, page_url, candidate)
        if url is not None:
            return url
    return None


def _image_url(base_url: str, page_url: str, candidate: str | None) -> str | None:
    """A candidate source resolved (see `image_source`), or None."""
    if candidate:
        url = resolve(base_url, candidate)
        if url and url != page_url and url.partition("//")[2].partition("?")[0].rstrip("/").count("/"):
            return url
    return None


def missing_source_reason(el: etree._Element, base_url: str, ancestors: list[etree._Element]) -> str:
    """The drop reason of an `<img>` `image_source` found no source for, from its first non-empty
    candidate: `image_data_uri`, `image_bad_scheme` (`file:`, `javascript:`, `mailto:`, `about:`,
    ...: nothing to fetch over HTTP, a relative source on a `file://` page included), or
    `image_no_src` (none given, unparseable, or the page itself / a bare host)."""
    candidate = next((c.strip() for c in candidate_sources(el, ancestors) if c and c.strip()), None)
    if candidate is None:
        return "image_no_src"
    if candidate[:5].lower() == "data:":
        return "image_data_uri"
    try:
        scheme = urlsplit(urljoin(base_url, candidate)).scheme.lower()
    except ValueError:
        return "image_no_src"
    return "image_no_src" if scheme in ("http", "https", "") else "image_bad_scheme"


_LINKED = "linked"  # provisional: a bare image linking to another page
_VARIANT = "variant"  # provisional: a small-screen variant (`_small_screen_variant`), a copy in the content
_CARD = "card"  # provisional: a bare image linking where its card's title links (`link_card`)
SUMMARY = "summary"  # provisional: a recipe card's summary image (`_card_summary`), a copy after a content image
# A card: the unlinked image's nearest block holding text (up to `_CARD_LEVELS` blocks up), of at most
# `_CARD_ELEMENTS` elements, whose text is all in links to other pages, at least a title's length.
_CARD_LEVELS = 3
_CARD_ELEMENTS = 30
_MIN_TITLE = 12
_TITLE_SHARE = 0.6  # of its block's text, for a link to be a title line


def _has_text(el: etree._Element, descendants: list[etree._Element] | None = None) -> bool:
    """Whether `el` holds any non-space text; stops at the first (a link around a whole page is
    not read once per image) and walks plainly (`itertext` costs ~3x more to set up).
    `descendants`: all of `el`'s, when the caller has them (`_small_subtree`)."""
    text = el.text
    if text and not text.isspace():
        return True
    for inner in el.iterdescendants() if descendants is None else descendants:
        text, tail = inner.text, inner.tail
        if (text and not text.isspace()) or (tail and not tail.isspace()):
            return True
    return False


def _small_subtree(block: etree._Element) -> list[etree._Element] | None:
    """The descendants of a card candidate in document order, or None past `_CARD_ELEMENTS` (then
    no card): one walk serves the size cap and the text and link reads after it."""
    inner = list(islice(block.iterdescendants(), _CARD_ELEMENTS + 1))
    return None if len(inner) > _CARD_ELEMENTS else inner


def _links_away(href: str | None, page_url: str) -> bool:
    """Whether a resolved link leads to another page (not this one, not an image file)."""
    return bool(href) and href != page_url and not _IMAGE_FILE_RE.search(href)


def _text_block(ancestors: list[etree._Element]) -> tuple[etree._Element, list[etree._Element]] | None:
    """The nearest block holding text of an image outside any link, with its descendants: within
    `_CARD_LEVELS` blocks, of at most `_CARD_ELEMENTS` elements (else None), the block a teaser
    card (`_is_card`) or an author box (`_author_heading`) would be."""
    levels = 0
    for block in ancestors:  # nearest first: each block holds the one below, so past the size cap
        if block.tag not in BLOCK_TAGS:  # no higher block is small enough (and no block is read whole)
            continue
        inner = _small_subtree(block)
        if inner is None:
            return None
        if _has_text(block, inner):
            return block, inner
        levels += 1
        if levels >= _CARD_LEVELS:
            return None
    return None


def _is_card(card: etree._Element, inner: list[etree._Element], base_url: str, page_url: str) -> bool:
    """Whether an image's `_text_block` is a teaser card: `<img>` beside a title linking to another
    article (`<h3><a>`, a "stretched link" making the whole card clickable), no other text."""
    linked = 0
    for link in inner:
        if link.tag == "a" and _links_away(resolve(base_url, link.get("href")), page_url):
            linked += len(" ".join(text_of(link).split()))
    return linked >= _MIN_TITLE and linked >= len(" ".join(text_of(card).split()))


def _author_heading(box: etree._Element, inner: list[etree._Element]) -> bool:
    """Whether an image's `_text_block` is an author box that says so in a heading
    (`_AUTHOR_HEADING_RE`) and holds at most `_BOX_TEXT` characters."""
    for heading in inner:
        if heading.tag in _HEADINGS and _AUTHOR_HEADING_RE.match(" ".join(text_of(heading).split())):
            return _short_box(box)
    return False


def _is_title_line(link: etree._Element) -> bool:
    """Whether a link is a line of its own: at least `_TITLE_SHARE` of its nearest block's text (a
    card's title; a caption naming a linked person in a sentence is not one)."""
    own = len(" ".join(text_of(link).split()))
    if not own:
        return False
    block = next((up for up in link.iterancestors() if up.tag in BLOCK_TAGS), None)
    return block is None or own >= _TITLE_SHARE * len(" ".join(text_of(block).split()))


def link_card(link: etree._Element, href: str, ancestors: list[etree._Element], base_url: str
              ) -> etree._Element | None:
    """The card of a text-less image link whose title (or "comments" line) links to the same page:
    a link card's thumbnail (`<a href=X><img></a>` beside `<h2><a href=X>Title</a></h2>`, the title a
    line of its own: `_is_title_line`), or None.
    Looks up to `_CARD_LEVELS` blocks above the link, each at most `_CARD_ELEMENTS` elements."""
    levels, own = 0, link.get("href")
    for card in ancestors[ancestors.index(link) + 1:]:
        if card.tag not in BLOCK_TAGS:
            continue
        inner = _small_subtree(card)
        if inner is None:
            return None
        for other in inner:
            raw = other.get("href") if other.tag == "a" else None  # the link's own text, mostly: no resolving
            if raw and other is not link and (raw == own or resolve(base_url, raw) == href) and _is_title_line(other):
                return card
        levels += 1
        if levels >= _CARD_LEVELS:
            return None
    return None


# A variant for small screens beside the one for large screens (the same picture, cropped or laid
# out again): on the image or its `_VARIANT_LEVELS` nearest ancestors, a declared upper screen width
# (ai2html's artboards: `data-max-width`) or a class shown on small screens only (Bootstrap's
# `d-md-none`, `visible-xs`, Foundation's `show-for-small-only`, `mobile-only`, `hide-desktop`).
_VARIANT_LEVELS = 2
_SMALL_SCREEN_CLASSES = ("visible-xs", "visible-sm", "d-sm-none", "d-md-none", "d-lg-none", "d-xl-none",
                         "mobile-only", "mobileonly", "only-mobile", "show-mobile", "visible-mobile",
                         "show-for-small", "hide-for-large", "hide-desktop", "hide-on-desktop", "hidden-desktop",
                         "hide-from-desktop")
# A copy too: a Pinterest image the page hides, the post's pictures again in Pinterest's tall format for
# its "Pin it" button, named so on the image or its `_VARIANT_LEVELS` nearest ancestors (Social Pug's
# `dpsp-post-pinterest-image-hidden`, Tasty Pins' `tasty-pins-hidden-image`, Social Warfare's
# `swp_hidden_pin_image`, Shared Counts' `shared-counts-hidden-image-container`), or named for Pinterest on
# an image its own style hides (`scriptless__pinterest-image` with `display:none`). A hidden image alone may
# be the only copy of a picture a CSS background shows.
_HIDDEN_PIN_RE = re.compile(r"(?:pin(?:terest)?s?|image|img)[-_]*(?:post[-_]*)?hidden|"
                            r"hidden[-_]*(?:pin(?:terest)?|image|img)(?![a-z])")
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none")


# A recipe card's summary image: the recipe plugin's card at the post's end shows the recipe's photo again,
# a square crop (WP Recipe Maker's `wprm-recipe-image`, Tasty Recipes' `tasty-recipes-image`, Mediavine
# Create's `mv-create-image`, WPZOOM's `wpzoom-recipe-card-image`, on the image or its `_VARIANT_LEVELS`
# nearest ancestors). Its file is often another upload than the post's photo it repeats (a `-featured` or
# `-square` file, another month's folder), so `copy_key` misses it: after a content image it is a `copy`,
# alone it is the recipe's picture. `wprm-recipe-images-before` (an ingredient list's layout) names no card.
_SUMMARY_IMAGE_RE = re.compile(r"(?:wprm-recipe|tasty-recipes|mv-create|wpzoom-recipe-card)-image(?:-container)?"
                               r"(?![-\w])")


class Holders:
    """What the class and id of each ancestor of a page's images say (`_small_screen_variant`,
    `_card_summary`, `_names_author_box`), read once per ancestor and page: each image read its
    ancestors' again, and the images of one block share them. Attributes do not change while the
    tree is read; a box's size (`_short_box`) may, and is read again each time."""

    def __init__(self) -> None:
        self.linked_text: dict[etree._Element, bool] = {}  # link -> whether it holds text
        self.variant: dict[etree._Element, bool] = {}
        self.summary: dict[etree._Element, bool] = {}
        self.author_box: dict[etree._Element, bool] = {}


def _summary_named(holder: etree._Element) -> bool:
    names = holder.get("class")
    return bool(names) and "-image" in names and _SUMMARY_IMAGE_RE.search(names[:_ANCESTOR_NAME_CHARS]) is not None


def _card_summary(el: etree._Element, ancestors: list[etree._Element], holders: Holders) -> bool:
    """Whether an image is a recipe card's summary image (`_SUMMARY_IMAGE_RE`)."""
    return _summary_named(el) or _named_ancestor(ancestors[:_VARIANT_LEVELS], holders.summary, _summary_named) is not None


def _held_as(el: etree._Element, ancestors: list[etree._Element], holders: Holders) -> str | None:
    """The provisional class a content candidate's holders give it: `_VARIANT` (`_small_screen_variant`),
    `SUMMARY` (`_card_summary`), or None."""
    if _small_screen_variant(el, ancestors, holders):
        return _VARIANT
    return SUMMARY if _card_summary(el, ancestors, holders) else None


def _variant_named(holder: etree._Element, own: bool) -> bool:
    """Whether an image (`own`) or an ancestor of it is named as a small-screen variant or a hidden
    Pinterest image (see `_small_screen_variant`)."""
    if holder.get("data-max-width") is not None:
        return True
    names = holder.get("class")
    if names:
        names = names[:_ANCESTOR_NAME_CHARS].lower()
        return _has_any(names, _SMALL_SCREEN_CLASSES) or ("hidden" in names and _HIDDEN_PIN_RE.search(names) is not None) \
            or (own and "pinterest" in names and _HIDDEN_STYLE_RE.search(holder.get("style") or "") is not None)
    return False


def _small_screen_variant(el: etree._Element, ancestors: list[etree._Element], holders: Holders) -> bool:
    """Whether an image is a small-screen variant (`_SMALL_SCREEN_CLASSES`, `data-max-width`) or a hidden
    Pinterest image (`_HIDDEN_PIN_RE`, `_HIDDEN_STYLE_RE`)."""
    return _variant_named(el, True) or _named_ancestor(ancestors[:_VARIANT_LEVELS], holders.variant,
                                                       lambda holder: _variant_named(holder, False)) is not None


def _logo_named(marks: str, names_at: int, alt_at: int, photo_file: bool, picture_sized: bool) -> bool:
    """Whether the lower-cased class and id, file name (from `names_at`) and short alt (from `alt_at`) of an
    image hold a logo word (`_LOGO_WORDS`, `_BOUNDED_LOGO_WORDS`); a JPEG's file name (`photo_file`) holds
    no `_PHOTOGRAPHED_WORDS`, a picture's class or id (`picture_sized`) no `_SMALL_THING_WORDS`."""
    for word in _LOGO_WORDS:
        if word in marks:
            bounded = _BOUNDED_LOGO_WORDS.get(word)
            end = alt_at if bounded is not None and not bounded[1] else len(marks)
            skip_file = photo_file and word in _PHOTOGRAPHED_WORDS
            skip_names = picture_sized and word in _SMALL_THING_WORDS
            if not (skip_file or skip_names):
                spans: tuple[tuple[int, int], ...] = ((0, end),)
            else:  # the fields left to read: class and id, file name, alt
                spans = tuple((start, stop) for start, stop, skip in ((0, names_at, skip_names),
                              (names_at, alt_at, skip_file), (alt_at, end, False)) if not skip and start < stop)
            for start, stop in spans:
                if bounded[0].search(marks, start, stop) if bounded is not None else marks.find(word, start, stop) >= 0:
                    return True
    return False


def _person_picture(names: str) -> bool:
    """Whether a lower-cased class and id name a person's picture in a list of people (`_PERSON_PICTURE_RE`)."""
    return _has_any(names, _PERSON_HINTS) and _PERSON_PICTURE_RE.search(names) is not None


def _names_author_box(holder: etree._Element) -> bool:
    """Whether an element's class or id names an author box (`_BOX_HINTS`, `_AUTHOR_BOX_RE`)."""
    cls, ident = holder.get("class"), holder.get("id")
    if not cls and not ident:  # a third of them: nothing to read
        return False
    names = f"{(cls or '')[:_ANCESTOR_NAME_CHARS]} {(ident or '')[:_ANCESTOR_NAME_CHARS]}".lower()
    return _has_any(names, _BOX_HINTS) and _AUTHOR_BOX_RE.search(names) is not None


def _in_author_box(el: etree._Element, ancestors: list[etree._Element], holders: Holders) -> bool:
    """Whether an image sits in a block named as an author box (`_AUTHOR_BOX_RE`) that is one (`_short_box`)."""
    if _names_author_box(el):
        return _short_box(el)
    holder = _named_ancestor(ancestors[:_BOX_LEVELS], holders.author_box, _names_author_box)
    return holder is not None and _short_box(holder)


def _named_ancestor(ancestors: list[etree._Element], seen: dict[etree._Element, bool],
                    named: Callable[[etree._Element], bool]) -> etree._Element | None:
    """The nearest of `ancestors` that `named` holds true of, its verdict kept in `seen` (one per
    page: several images share their holders), or None."""
    for holder in ancestors:
        verdict = seen.get(holder)
        if verdict is None:
            verdict = seen[holder] = named(holder)
        if verdict:
            return holder
    return None


def _short_box(box: etree._Element) -> bool:
    """Whether a block holds at most `_BOX_TEXT` characters of text and `_BOX_ELEMENTS` elements:
    a walk that stops past either, as every image of a block reads it again."""
    size = 0
    for count, inner in enumerate(box.iter()):
        text, tail = inner.text, inner.tail if inner is not box else None
        size += (len(text.strip()) if text else 0) + (len(tail.strip()) if tail else 0)
        if size > _BOX_TEXT or count >= _BOX_ELEMENTS:
            return False
    return True


def _has_any(text: str, words: tuple[str, ...]) -> bool:
    """Whether one of `words` is in `text` (a loop: ~30% cheaper than `any` over a generator)."""
    for word in words:
        if word in text:
            return True
    return False


def dom_class(el: etree._Element, src: str, width: int | None, height: int | None, base_url: str,
              page_url: str, ancestors: list[etree._Element], holders: Holders
              ) -> tuple[str | None, etree._Element | None]:
    """The class an image's own markup decides (ad, logo, teaser, `_LINKED`, `_CARD`, `_VARIANT`), or
    None when it depends on where the main content is; with the card of a `_CARD` thumbnail (see
    `link_card`). `ancestors`: the image's, innermost first. `holders`: what the page's ancestors
    met so far say, kept by the caller for the page, with whether each link holds text: a link
    holding 2000 images and no text was walked whole once per image."""
    get = el.get
    names = f"{get('class') or ''} {get('id') or ''}"
    marks = lowered = f"{src} {names} ".lower()
    if _has_any(marks, _AD_WORDS) or not _AD_NAMES.isdisjoint(class_words(names)) \
            or ("//ad" in lowered and _AD_HOST_RE.search(lowered)):
        return AD, None
    if _has_any(lowered, _SOCIAL_FEED_HOSTS):
        return TEASER, None
    thumbnail = False
    laid_out = width is not None and height is not None and min(width, height) >= _PICTURE_SIDE
    url_width, url_height = url_size(lowered[:len(src)])
    if width is None or height is None:
        width, height = width or url_width, height or url_height
        thumbnail = bool(url_width or url_height) and max(url_width or 0, url_height or 0) <= _THUMB_SIDE
    elif url_width and url_width <= _THUMB_SIDE and width >= _PREVIEW_RATIO * url_width:
        return COPY, None
    file_name = src.rsplit("/", 1)[-1].split("?", 1)[0].lower()
    if _has_any(file_name, _PROMO_WORDS):
        return AD, None
    named = _THUMB_NAME_RE.search(file_name) if "thumb" in file_name or "tease" in file_name else None
    thumbnail = thumbnail or named is not None
    sides = [s for s in (width, height) if s]
    alt = get("alt") or ""
    own = names.lower()
    machine = f"{own} {file_name} "
    alt_at = len(machine)  # lower-casing may change a length: measured after it
    marks = f"{machine}{alt.lower() if len(alt) < _SHORT_ALT else ''}"
    short = min(sides) if sides else 0
    # an image map (`usemap`): links drawn as one picture, each `<area>` a button (xkcd's "Selected Comics"
    # banner, a shop's footer of links, a portal's header or job-ad strip): the site's controls, no picture
    if get("usemap") is not None or (sides and short < _ICON_SIDE) or (len(sides) == 2 and (max(sides) < _MIN_CONTENT_SIDE or (
            short < _STRIP_SIDE and max(sides) >= _STRIP_RATIO * short))) \
            or _logo_named(marks, len(own) + 1, alt_at, file_name.endswith(_PHOTO_FILES),
                           laid_out and not file_name.endswith(".svg")) \
            or _person_picture(own) or _has_any(file_name, _LOGO_FILE_WORDS) \
            or _STAND_IN_RE.fullmatch(file_name) or _SOCIAL_RE.fullmatch(file_name) \
            or ("no" in file_name and _MISSING_RE.search(file_name)) \
            or (file_name.endswith(_CONTROL_FORMATS) and _CONTROL_RE.fullmatch(file_name)) \
            or file_name.startswith(_ICON_PREFIXES) or _LOGO_FOLDER_RE.search(lowered) \
            or ("/common/" in lowered and _COMMON_FOLDER_RE.search(lowered, 0, len(src))) \
            or _in_author_box(el, ancestors, holders):
        return LOGO, None
    ancestor = nearest(ancestors, ("a", "nav"))
    if ancestor is not None and ancestor.tag == "nav":
        return OUTSIDE, None
    if named and named[1].startswith("tease"):
        return TEASER, None
    if ancestor is None:
        block = _text_block(ancestors)
        if block is not None:
            if _is_card(*block, base_url, page_url):
                return TEASER, None
            if _author_heading(*block):
                return LOGO, None
        return _held_as(el, ancestors, holders), None
    if thumbnail and ancestor.get("href"):
        return TEASER, None
    href = resolve(base_url, ancestor.get("href"))
    if href != src and _links_away(href, page_url):
        if _has_any(href, _APP_STORES):
            return LOGO, None
        if _PRODUCT_LINK_RE.search(href) and href.partition("?")[0] != page_url.partition("?")[0]:
            return TEASER, None
        has_text = holders.linked_text.get(ancestor)
        if has_text is None:
            has_text = holders.linked_text[ancestor] = _has_text(ancestor)
        if has_text:
            return TEASER, None
        card = link_card(ancestor, href, ancestors, base_url)
        return (_LINKED, None) if card is None else (_CARD, card)
    return _held_as(el, ancestors, holders), None


# The lead picture: a story's photo above its headline and byline (a recipe's hero over its title, a news
# photo in the article's header), which the text selection leaves out with the headline. It is the last
# image the markup leaves a content candidate before the first kept text, with at most `_LEAD_GAP`
# characters of text between them (title, byline, dates, share labels) and no linked image or ad (the
# page's menu, a banner: the picture is above them, no story's), no image kept before, laid out
# as a picture: every side declared (or asked for in its URL) at least `_LEAD_SIDE` and, both known, the long
# one at most `_LEAD_RATIO` times the short (a site's banner strip over its menu is none), or none but in a
# `<figure>` or `<picture>`; no GIF or SVG, no entry of a list (a slider's slide, a gallery's card).
# One image a page at most, so a misfire costs one picture.
_LEAD_GAP = 600
_LEAD_SIDE = 300
_LEAD_RATIO = 3
_AWAY = frozenset((TEASER, AD, _LINKED, _CARD))
_DRAWN_FILES = (".gif", ".svg")


def lead_picture(items: list[Item], kept: list[bool], media: list[tuple[ImageNode | VideoNode, str | None]]
                 ) -> int | None:
    """The index of the item of the page's lead picture (see `_LEAD_GAP`), or None. `items`: the page's
    paragraph and media items in DOM order, `kept` their selection, `media` each media index's node and
    provisional class (`dom_class`)."""
    lead, gap = None, 0
    for index, item in enumerate(items):
        if item.media < 0:
            if kept[index]:
                return lead if lead is not None and gap <= _LEAD_GAP else None
            gap += len(item.text)
            continue
        node, provisional = media[item.media]
        if kept[index]:
            return None
        if provisional is None and isinstance(node, ImageNode) and _laid_out_as_picture(node):
            lead, gap = index, 0
        elif provisional in _AWAY:  # a link to another page or an ad between: the picture is above the page's chrome
            lead = None
    return None


def _laid_out_as_picture(node: ImageNode) -> bool:
    """Whether an image node is laid out as a lead picture (`_LEAD_SIDE`, `_LEAD_RATIO`, `_DRAWN_FILES`)."""
    path = node.dom_path
    if "/li/" in path or node.src.partition("?")[0].lower().endswith(_DRAWN_FILES):
        return False
    sides = [side for side in (node.width, node.height) if side]
    if not sides:
        sides = [side for side in url_size(node.src.lower()) if side]
    if sides:
        return min(sides) >= _LEAD_SIDE and max(sides) <= _LEAD_RATIO * min(sides)
    return "/figure/" in path or "/picture/" in path


def final_class(provisional: str | None, in_content: bool, in_link_block: bool, listing: bool,
                sidebar: bool) -> str:
    """The class once the main content is known: a bare image linking to another page is content
    in the article's prose, a teaser in a link list (`in_link_block`) or outside the article; a
    card's thumbnail is a teaser unless the content is the list of cards itself (`listing`: a
    section front, a blog index); a small-screen variant is a copy. In a sidebar (`sidebar`: an
    `<aside>` that does not hold the article's core) an image is outside, a linked one a teaser,
    whatever the selection kept."""
    if sidebar and provisional in (None, _LINKED, _CARD, _VARIANT, SUMMARY):
        return TEASER if provisional in (_LINKED, _CARD) else OUTSIDE
    if provisional == _VARIANT:
        return COPY if in_content else OUTSIDE
    if provisional == _LINKED or (provisional == _CARD and listing):
        return CONTENT if in_content and not in_link_block else TEASER
    if provisional == _CARD:
        return TEASER
    if provisional is None or provisional == SUMMARY:
        return CONTENT if in_content else OUTSIDE
    return provisional
