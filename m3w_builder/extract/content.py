"""Main-content selection over a page's block tree: which paragraphs and media are the article.

`read_tree` walks the DOM once (lxml's `iterwalk`: the walk in C, Python only at each element's
start and end) into a compact tree of blocks, each with the paragraphs it directly holds (text
length, link-text length), and the media positions in DOM order; `select` scores it:

- every paragraph of at least `_MIN_PARAGRAPH` characters credits its container (and, less, the
  containers above), more for longer text and more commas: prose sits in the block that directly
  holds many paragraphs (the readability family's idea);
- a container's score gets a bonus or penalty from its tag and its class/id words, and is scaled
  down by its link density, so menus, teaser lists and "related" blocks lose;
- the best container is widened to an ancestor shared by several near-best ones and to the wrappers
  that add nothing but a link label (an article folded behind "Read more"), then joined by sibling
  blocks that score close to it, read as prose or are figures (a lead picture and its caption), and
  by the other parts of an article split into separate wrappers (blocks of its tag and class nearby:
  `story-body-1`, `story-body-2`; of the posts' class when the best blocks are a thread's posts: a
  Q&A page's question beside its answers); a gallery embedded in the article that holds the best block (a
  slideshow's captions outscoring the story) is removed and the page scored again (up to `_MAX_GALLERIES` times);
- inside, link-heavy blocks, link paragraphs (but for the entries of a plain-text list, a linked
  ingredient, and the cells of a plain-text table, a film's title in a list of films) and ad-slot
  labels ("Advertisement") are dropped, so are lists of teaser cards whose blurbs are plain text
  (a title link over a short blurb, beside more prose than they hold), runs of bare numbers
  counting up (a gallery's slide counter, a pager), a chart's axis labels drawn in HTML, short
  datelines and player clocks ("posted on April 21, 2015, at 11:29 a.m.", "Current Time 0:00"), short lines an author or credit label opens
  ("Author: Aubrey", "Foto: REUTERS"), lines that are only a button's label ("Print this Recipe")
  or a share bar's ("分享到：微信 微博"), a docs heading's permalink pilcrow ("Installing¶"),
  site notices with their small block (`notices.py`: copyright lines, comment policies, cookie-banner
  text, paywall prompts, calls to follow, subscribe or donate, "was this page helpful?" questions), the headline before the prose that repeats the page's `<title>` (the
  document keeps it as its title), a short label repeated line after line (a
  gallery's title once per slide), and a comment or readers' review section that only its heading
  names ("12 Comments", "Reviews"), and a short heading whose section was dropped ("More soup
  recipes" over a teaser list) goes with it, so does a label line ending with a colon over dropped
  text ("More games news:");
- guard: if the selection holds less than `_MIN_GOOD_SHARE` of the page's prose (long, unlinked
  paragraphs), it is widened until it does, so one misfiring rule cannot delete most of an article;
  the prose of teaser streams beside a story (cards with a title link and a long blurb) and of
  sidebars the boilerplate guard kept (a live-news `<aside>`), which can outweigh the story, is not
  counted, and they join it as no sibling.

Lengths count a CJK/kana/Hangul character as 3 (about one word's worth of Latin letters), so
pages in scripts without spaces are scored like the others.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from heapq import heapify, heappop, heappush

from lxml import etree

from m3w_builder.extract import boilerplate, notices

# Blocks of the block tree; table rows and sections hold only cells, which are blocks themselves.
BLOCK_TAGS = boilerplate.BLOCK_TAGS - {"br", "hr", "html", "tr", "tbody", "thead", "tfoot"}
_BLOCK, _LINK, _BREAK, _MEDIA = 1, 2, 3, 4
_ROLES = {tag: _BLOCK for tag in BLOCK_TAGS} | {"a": _LINK, "br": _BREAK, "hr": _BREAK, "img": _MEDIA,
                                                "video": _MEDIA}
_WIDE_RE = re.compile("[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_WIDE_RUN_RE = re.compile(_WIDE_RE.pattern + "+")
_COMMAS = (",", "\uff0c", "\u3001", "\u060c")  # Latin, fullwidth, ideographic, Arabic
_SENTENCE_END_RE = re.compile(r"[.!?。！？।]['\"”’)]?\s*$")

_MIN_PARAGRAPH = 25       # characters for a paragraph to credit its containers
_PROSE = 80               # characters of a paragraph that reads as prose on its own
_MAX_PROSE_LINKS = 0.25   # link density of prose
_MAX_LINK_PARAGRAPH = 0.6  # a paragraph mostly link text is navigation
_MAX_BLOCK_LINKS = 0.5    # a block mostly link text is a menu or teaser list
_MIN_GOOD_SHARE = 0.5
_MIN_CARDS = 4            # sibling teaser cards that make a card list
_CARD_SHARE = 0.75        # of the siblings that must be cards
_MIN_CARD_TITLE = 15      # characters of a card's title link
_MIN_CARD_LINK_SHARE = 0.2
_MAX_CARD_BLURB = 300     # unlinked characters of a card
_MAX_CAPTION = 300        # weighted characters of a figure's caption (`_is_figure`)
_MAX_CARDS_SHARE = 0.4    # card text against the selected prose outside the cards
_MAX_STREAM_BLURB = 700   # prose characters of a card in a teaser stream
_ANCESTOR_LEVELS = 5
# What a paragraph's score is divided by at each of its `_ANCESTOR_LEVELS` ancestors (parent first).
_LEVEL_DIVIDERS = tuple(1 if level == 0 else 2 if level == 1 else level * 3 for level in range(_ANCESTOR_LEVELS))
_DIGITS = "0123456789"
# Class words of a gallery, and the prose around it that makes it an embed in an article (`_embedded_gallery`).
_GALLERY_WORDS = frozenset(("gallery", "slideshow", "carousel", "slider", "lightbox"))
_MIN_EMBED_PROSE = 1000
# Galleries removed per page, each followed by a scoring of the whole page: the real pages hold at most
# one; 300 side by side were 300 scorings (~2 s a MB, quadratic) and a recursion past Python's limit.
_MAX_GALLERIES = 4
_MIN_PLAIN_ENTRIES = 3    # plain-text entries of a list whose linked entries are content (`_plain_list_entries`)
_PLAIN_LIST_SHARE = 0.6
_CELL_TAGS = frozenset(("td", "th"))
_MIN_PART_SHARE = 0.2     # of the top block's prose that another part of a split article holds
_PROSE_GUARDED = frozenset(("hidden", "role"))  # see `boilerplate.MAX_PROSE_SHARE`
_NOTICE_CEILING = frozenset(("html", "body", "main", "article"))  # a notice's block stays inside them

# Words of a lower-cased class or id that add to or take from a block's score (`_class_weight`): `in`
# tests, ~10% cheaper there than one alternation's search per name.
_POSITIVE_WORDS = ("article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "post", "text", "blog",
                   "story", "prose")
_NEGATIVE_WORDS = (
    "hidden", "banner", "combx", "comment", "com-", "contact", "foot", "footnote", "masthead", "media", "meta",
    "outbrain", "promo", "related", "recommend", "scroll", "share", "shoutbox", "sidebar", "skyscraper", "sponsor",
    "shopping", "tags", "tool", "widget", "teaser", "trending", "popular", "newsletter", "subscribe", "more-stories",
    "read-next", "byline", "author", "nav", "menu", "breadcrumb")
# A block's class or id naming a picture (see `_is_figure`).
_FIGURE_RE = re.compile(r"figure|image|img|photo|picture|media|foto|bild")
_TAG_BONUS = {"div": 5, "article": 10, "main": 10, "section": 3, "pre": 3, "td": 3, "blockquote": 3,
              "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
              "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5,
              "nav": -25, "aside": -25, "footer": -25, "header": -10}
# Containers that are dropped inside the content when they are mostly links.
_CONDITIONAL = frozenset("div section ul ol dl table form aside nav header footer details".split())
# A paragraph that is only an ad slot's label (its ad, an iframe or script, is gone): no article text.
_AD_LABELS = frozenset((
    "advertisement", "advertisements", "advertising", "anzeige", "werbung", "annons", "annonse", "annonce",
    "publicité", "publicidad", "publicidade", "pubblicità", "reklama", "reklame", "advertentie", "mainos",
    "hirdetés", "реклама", "إعلان", "广告", "広告", "광고", "continue reading the main story",
    "story continues below advertisement", "article continues below advertisement", "skip advertisement",
))
_MAX_LABEL = 40  # weighted characters
_MAX_SHARE_LINE = 100  # weighted characters of a share bar's line (`_SHARE_LINE_RE`)
# A paragraph that is only a button's label (its button, a link or a `<span>` with a script, left its text):
# print, share, save; "Email" is left out (`.email` in a list of domains).
_BUTTON_LABELS = frozenset((
    "print", "print recipe", "print this recipe", "printable recipe", "full printable recipe", "print shopping list",
    "share", "share this", "share this recipe", "share this with the world", "save", "save recipe",
    "save this recipe", "pin", "pin it", "pin recipe", "pin this recipe", "tweet", "jump to recipe",
    "skip to recipe", "drucken", "rezept drucken", "teilen", "speichern", "imprimer", "partager", "enregistrer",
    "imprimir", "compartir", "guardar", "stampa", "condividi", "salva", "afdrukken", "delen", "opslaan", "drukuj",
    "udostępnij", "skriv ut", "dela", "spara", "печать", "поделиться", "сохранить",
    # a sort menu's label, its `<select>` gone ("Sorted by:" over a Q&A page's answers, "Sort by:" over reviews)
    "sorted by", "sort by", "ordenado por", "ordenar por", "trier par", "trié par", "sortieren nach", "sortiert nach",
    "ordina per", "ordinato per", "sorteer op", "sortuj według", "сортировка", "сортировать по", "並べ替え", "排序",
    "排序方式", "정렬",
))
# A share bar's line: a share label and the networks' names its buttons left ("分享到：微信 微博 QQ空间",
# "Share: Facebook Twitter Email", "شارك على فيسبوك"), in the languages of the web's large scripts.
_SHARE_LABELS = (
    r"share(?: this(?: article| story| post| page)?)?(?: on| via| with)?|teilen|partager|compartir|condividi|delen|"
    r"udostępnij|dela|поделиться|分享到|分享至|分享|シェアする|シェア|공유하기|공유|شارك(?: هذا المقال| الخبر)?(?: على| عبر)?|"
    r"مشاركة(?: على| عبر)?|שתף|แชร์|paylaş|chia sẻ|bagikan"
)
_NETWORKS = (
    r"facebook|twitter|x|whatsapp|linkedin|pinterest|reddit|telegram|tumblr|email|e-mail|mail|print|copy link|"
    r"line|vk|ok|微信|微博|新浪微博|腾讯微博|qq空间|qq|豆瓣|朋友圈|weibo|wechat|kakaotalk|카카오톡|카카오스토리|"
    r"페이스북|트위터|밴드|فيسبوك|تويتر|واتساب|تلغرام|はてブ|はてなブックマーク|ツイート|ไลน์"
)
_SHARE_LINE_RE = re.compile(rf"(?:{_SHARE_LABELS})\s*[:：]?\s*(?:(?:{_NETWORKS})\s*[,，、|·/]?\s*)*$")
_PARAGRAPH_TAGS = frozenset("p pre blockquote".split())
_CONTENT, _END = 0, 7  # see `kept_items`: what follows a heading, around the ranks of h1..h6
_HEADING_RANKS = {f"h{rank}": rank for rank in range(1, 7)}
# A line that labels a list of other articles like a heading, in a `<p>` or `<strong>` ("Related stories",
# "Lesen Sie auch", "เรื่องที่เกี่ยวข้อง"): a heading of the lowest rank for `_drop_orphaned_headings`.
_RELATED_LABELS = frozenset((
    "related", "related articles", "related stories", "related posts", "related news", "related content",
    "related links", "related topics", "related reading", "related recipes", "read more", "read next", "see also",
    "more stories", "more news", "most read", "most popular", "also read", "you may also like",
    "you might also like", "recommended", "recommended for you", "more like this", "mehr zum thema",
    "lesen sie auch", "auch interessant", "das könnte sie auch interessieren", "weitere artikel",
    "verwandte artikel", "meistgelesen", "à lire aussi", "lire aussi", "sur le même sujet", "articles similaires",
    "voir aussi", "les plus lus", "leer más", "lee también", "te puede interesar", "noticias relacionadas",
    "artículos relacionados", "lo más leído", "ver también", "leggi anche", "articoli correlati",
    "potrebbe interessarti", "i più letti", "leia também", "veja também", "notícias relacionadas", "mais lidas",
    "lees ook", "gerelateerde artikelen", "meest gelezen", "czytaj także", "czytaj też", "zobacz także",
    "powiązane artykuły", "lasi arī", "saistītie raksti", "ilgili haberler", "benzer haberler", "читайте также",
    "похожие статьи", "по теме", "самое читаемое", "相关新闻", "相关文章", "相關新聞", "相關文章", "延伸阅读", "延伸閱讀",
    "推荐阅读", "関連記事", "関連ニュース", "あわせて読みたい", "관련기사", "관련 기사", "많이 본 뉴스",
    "เรื่องที่เกี่ยวข้อง", "ข่าวที่เกี่ยวข้อง", "اقرأ أيضا", "اقرأ أيضاً", "مقالات ذات صلة", "أخبار ذات صلة",
))
_MIN_ORPHANED = 25  # weighted characters of dropped text that make a heading the title of a dropped section
_MAX_TITLE = 60     # a longer heading is a tagline or a statement, kept on its own
_MIN_COUNTER_RUN = 3    # bare numbers counting up one by one that make a pager or slide counter
_MAX_COUNTER_DIGITS = 3
# A chart's tick or value label: a number with its currency, sign, unit or a year's apostrophe ("$263",
# "’17", "-2.5%", "140"); `_drop_chart_ticks` drops runs of them.
_TICK_RE = re.compile(r"([-+−$€£¥’'‘]*)(\d[\d,]*(?:\.\d+)?)\s?(?:%|k|m|bn|b|t)?$", re.IGNORECASE)
_MAX_TICK = 12         # weighted characters of a line in a chart's run of labels
_MIN_TICKS = 6
_MAX_TICK_WORDS = 3    # word labels ("billion", "MONTHLY") per `_MIN_TICKS` numbers in such a run
_MAX_TICKS_SHARE = 0.2  # of the kept text that a page's runs of chart labels may hold
_MIN_AXIS_STEPS = 4    # numbers in a row, evenly stepped, that make an axis
# A clock time or a numeric date (ISO, day.month.year, CJK), in a paragraph this short (`_drop_short_lines`).
_DATELINE_RE = re.compile(r"(?<!\d)(?:\d{1,2}:\d{2}(?!\d)|\d{4}[./-]\d{1,2}[./-]\d{1,2}(?!\d)"
                          r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?!\d)|\d{4}年\d{1,2}月\d{1,2}日)")
_MAX_DATELINE = 40
_LETTER_RE = re.compile(r"[^\W\d_]")
# An author label or a photo's credit label and its colon opening a line (`_drop_short_lines`), in the
# languages of the pages seen; "Image copyright Getty", "ဓာတ်ပုံ မူပိုင် ..." (Burmese: photo copyright) need none.
_AUTHOR_LABEL_RE = re.compile(
    r"(?i)(?:(?:authors?|by|written by|posted by|autor|autora|autores|autoren|autori|autore|auteurs?|auteur\(s\)|"
    r"forfatter|författare|szerző|yazar|автор|авторы|著者|作者|記者|기자|"
    r"(?:photos?|fotos?|fotó|images?|pictures?|bild|фото|写真|사진|图片|圖片)(?: ?credits?| ?copyright| courtesy)?|"
    r"credits?|photography)\s*[:：]|(?:image|photo|picture) copyright\b|ဓာတ်ပုံ မူပိုင်)")
_MAX_AUTHOR_LINE = 100
# A docs generator's permalink after a heading or an API entry (Sphinx, MkDocs: "Installing¶",
# "json.dumps(obj)¶"): the pilcrow is a link's label there, and no sentence ends with one.
_PERMALINK = "¶"
_TITLE_TAGS = frozenset(("h1", "h2"))  # a page's headline (`_drop_title_headings`)
_TITLE_WORD_RE = re.compile(f"{_WIDE_RE.pattern}|[^\\W_{_WIDE_RE.pattern[1:-1]}]+")
_TITLE_SIMILARITY = 0.75
_TITLE_COVER = 0.2
_MAX_HEADLINE = 300  # weighted characters
_LISTED_TAGS = frozenset(("td", "th", "li", "dd", "dt"))
# A Q&A page's or a thread's count of its answers over them ("3 Answers", "12 Replies", "3 件の回答", "回答 3"):
# a count and the word alone (a hidden copy of the count may follow: "3 Answers 3"), at most `_MAX_LABEL`.
_ANSWER_COUNT_RE = re.compile(
    r"\d[\d,.]*\s*(?:answers?|replies|reply|responses?|respuestas?|respostas?|réponses?|antworten|antwort|"
    r"risposte|risposta|antwoorden|antwoord|odpowiedzi|odpowiedź|ответ|ответа|ответов|件の回答|个回答|個回答|"
    r"개의 답변)(?:\s+\d+)?|(?:回答|답변)\s*\d+\s*(?:件|个|個|개)?", re.IGNORECASE)
_MAX_COMMENTS_HEADING = 40  # weighted characters
# A heading that names a comment section (stripped of a count: "12 Comments", "Comments (3)").
_COMMENT_HEADINGS = frozenset((
    "comment", "comments", "reader comments", "user comments", "readers' comments", "comentários", "comentarios",
    "commentaires", "kommentare", "commenti", "reacties", "komentarze", "komentáře", "kommentarer", "yorumlar",
    "комментарии", "评论", "評論", "コメント", "댓글",
    # user reviews and questions under a recipe or product: a feed of readers' posts like comments
    "reviews", "user reviews", "customer reviews", "reader reviews", "ratings & reviews",
    "ratings and reviews", "reviews & ratings", "questions & replies", "bewertungen", "rezensionen",
    "reseñas", "opiniones", "recensioni", "recensies", "avaliações", "отзывы", "レビュー", "口コミ", "리뷰",
))


@dataclass(slots=True)
class Block:
    """One block element of the page: its tree position and the text it holds. Only the first two
    fields are `__init__` arguments: the others start at constants (a call with eleven defaulted
    arguments costs ~1.7x as much, and `read_tree` makes one per block, ~160,000 on the dev pages)."""

    element: etree._Element
    parent: int
    removed: bool = field(default=False, init=False)    # boilerplate that passed the guards
    first_text: Item | None = field(default=None, init=False)
    own_links: float = field(default=0.0, init=False)  # link characters of paragraphs directly in this block
    total: int = field(default=0, init=False)          # weighted characters of paragraphs in the subtree
    links: float = field(default=0.0, init=False)
    good: int = field(default=0, init=False)           # prose characters in the subtree
    end: int = field(default=0, init=False)            # last block id of the subtree (ids in document order)
    score: float = field(default=0.0, init=False)
    scored: bool = field(default=False, init=False)


@dataclass(slots=True)
class Item:
    """A paragraph (`text`) or a media position (`media`: index into the page's media) in DOM order."""

    owner: int
    text: str = ""
    media: int = -1
    weight: int = 0        # weighted characters
    link_share: float = 0.0


def weighted_length(text: str) -> int:
    """Characters, a CJK/kana/Hangul character counting as 3. The wide ones are counted in runs from
    the first (one match per run, not one string per character: ~5x faster on CJK text)."""
    if text.isascii():
        return len(text)
    first = _WIDE_RE.search(text)
    if first is None:
        return len(text)
    return len(text) + 2 * sum(map(len, _WIDE_RUN_RE.findall(text, first.start())))


def read_tree(body: etree._Element, add_media: Callable[[etree._Element], int | None],
              skip_screen_reader: bool = False) -> tuple[list[Block], list[Item]]:
    """The block tree and the paragraph/media items of `body` in DOM order. A paragraph is the text
    between two block starts/ends, line breaks or media. `add_media` is called at the start of
    each `<img>`/`<video>`, in DOM order, before its text is read: the index of its node, or None
    (then it is no media position). `skip_screen_reader`: leave out the text of inline elements
    outside links that `boilerplate.screen_reader_only` names (inside a link it may be a teaser
    card's only title, which the image tests read).

    The loop runs twice per element (~640,000 times on the dev and silver pages), so each path is
    kept short: inline elements, whose text is all they add, are tested first; the open block is
    `current` (its id `owner`) and its parent is its `Block.parent` (no stack); the joins are
    written out (no helper call per paragraph); after a paragraph ends no
    text is pending, so a leading-space test needs no look at `texts`."""
    media: dict[etree._Element, int] = {}  # media element -> index of its node
    current = Block(body, -1)  # the innermost open block: owns the text read now
    blocks = [current]
    add_block = blocks.append
    items: list[Item] = []
    add_item = items.append
    owner = 0  # `current`'s id
    texts: list[str] = []  # raw text of the current paragraph; joined, whitespace runs made one space
    add_text = texts.append
    run = 0  # where in `texts` the current stretch (between two link starts/ends) begins
    link_chars = in_link = 0
    hrefs: list[bool] = []  # of each open link, innermost last: whether it has an `href`

    walk = etree.iterwalk(body, events=("start", "end"))
    next(walk)  # body's start: block 0
    if body.text and not body.text.isspace():
        add_text(body.text)
    # the root is a block whatever its tag (the <html> of a page without <body>; never nested)
    roles = _ROLES if body.tag in BLOCK_TAGS else {**_ROLES, body.tag: _BLOCK}
    get_role = roles.get
    for event, el in walk:
        role = get_role(el.tag)
        if role is None:  # an inline element: its text, then its tail, are the paragraph's
            text = el.text if event == "start" else el.tail
            if text and (texts or not text.isspace()):  # leading space would be stripped
                if skip_screen_reader and event == "start" and not in_link \
                        and boilerplate.screen_reader_only(el, text):
                    continue
                add_text(text)
            continue
        start = event == "start"
        if role != _BLOCK:
            if role == _LINK:  # a link start or end ends a stretch of (non-)link text
                # tested at its start only (no string made of the URL: ~40% cheaper than `get`); its end pops it
                if ("href" in el.attrib) if start else hrefs.pop():
                    if in_link and run < len(texts):
                        link_chars += len(" ".join("".join(texts[run:]).split()))
                    run = len(texts)
                    if start:
                        in_link += 1
                        hrefs.append(True)
                    elif in_link:
                        in_link -= 1
                elif start:
                    hrefs.append(False)
                text = el.text if start else el.tail
                if text and (texts or not text.isspace()):
                    add_text(text)
                continue
            if start:  # a line break or media start ends nothing
                if role == _MEDIA:
                    index = add_media(el)
                    if index is not None:
                        media[el] = index
                text = el.text
                if text and (texts or not text.isspace()):
                    add_text(text)
                continue
            if role == _MEDIA and el not in media:  # no node: as an inline element
                tail = el.tail
                if tail and (texts or not tail.isspace()):
                    add_text(tail)
                continue
        if texts:  # a block start or end, a line break or a media position ends the paragraph
            if in_link and run < len(texts):
                link_chars += len(" ".join("".join(texts[run:]).split()))
            paragraph = " ".join("".join(texts).split())
            texts.clear()
            run = 0
            if paragraph:
                share = min(link_chars / len(paragraph), 1.0)
                weight = len(paragraph) if paragraph.isascii() else weighted_length(paragraph)
                item = Item(owner, paragraph, -1, weight, share)
                add_item(item)
                current.total += weight
                current.own_links += share * weight
                if weight >= _PROSE and share < _MAX_PROSE_LINKS:
                    current.good += weight
                if current.first_text is None:
                    current.first_text = item
            link_chars = 0
        if role == _BLOCK:
            if start:
                current = Block(el, owner)
                owner = len(blocks)
                add_block(current)
                text = el.text
                if text and not text.isspace():  # nothing pending: the paragraph ended above
                    add_text(text)
                continue
            block = current
            block.end = len(blocks) - 1  # every block opened since is inside it
            block.links += block.own_links
            owner = block.parent
            if owner < 0:
                break  # the root: its tail is not page text
            current = blocks[owner]  # the block is complete: its totals go up
            current.total += block.total
            current.links += block.links
            current.good += block.good
        elif role == _MEDIA:  # a line break's end adds no item
            add_item(Item(owner, media=media[el]))
        tail = el.tail
        if tail and not tail.isspace():
            add_text(tail)
    return blocks, items


def _fill(blocks: list[Block], index: int) -> None:
    for inner in range(index, blocks[index].end + 1):
        blocks[inner].removed = True


def remove_boilerplate(blocks: list[Block], classify: Callable[[etree._Element, bool], str | None]
                       ) -> frozenset[int]:
    """Mark the boilerplate candidates that pass the guards (see `boilerplate.py`) as removed, and
    take their text out of every ancestor's totals. `classify` (why a block looks like
    boilerplate, or None; told whether the block is small enough for a widget) runs only on blocks
    the guards leave open, not inside removed ones.
    A `<nav>`/`<aside>`/`<footer>` (kind `tag`) is weighed against the text still on the page, the
    others against the whole page: a tag is what the parser lets grow past its end tag (an unclosed
    `<div>` in a `<nav>` swallows the article that follows), and once the menus went it holds all
    that is left; a class name or a hidden flag does not grow, and the page's size judges it.
    Returns the blocks a class or id names as boilerplate (kind `name`: `site-sidebar`) that the
    share guard kept: no part of a story beside them (`select`).
    Blocks are met in document order, so none holds a block removed before it: only the page's
    total (`left`) changes while the loop runs, and the ancestors' totals are settled after it
    (`_take_out`), once per ancestor, not once per removed block below it."""
    page = left = blocks[0].total
    prose = blocks[0].good
    largest = max(boilerplate.MAX_SHARE.values()) * page
    named = 0
    guarded, removed = [], []
    for index, block in enumerate(blocks):
        if block.removed or block.total > largest:
            continue
        kind = classify(block.element, block.total - block.links <= boilerplate.MAX_WIDGET_CHARS)
        if kind is None:
            continue
        if block.total > boilerplate.MAX_SHARE[kind] * (left if kind == "tag" else page):
            if kind == "name":
                guarded.append(index)
            continue
        if kind == "widget" and block.total - block.links > boilerplate.MAX_WIDGET_CHARS:
            continue
        if kind in _PROSE_GUARDED and block.good > boilerplate.MAX_PROSE_SHARE * prose:
            continue
        if kind in ("name", "widget"):
            if named + block.total > boilerplate.MAX_REMOVED_NAMED_SHARE * page:
                continue
            named += block.total
        _fill(blocks, index)
        left -= block.total
        removed.append(index)
    _take_out(blocks, removed)
    return frozenset(guarded)


def _remove(blocks: list[Block], index: int) -> None:
    """Mark a block and its subtree removed and take its text out of every ancestor's totals."""
    _fill(blocks, index)
    _take_out(blocks, [index])


def _take_out(blocks: list[Block], removed: list[int]) -> None:
    """Take the text of the `removed` blocks (none inside another) out of their ancestors' totals,
    each ancestor settled once with the sum from below: deepest first (a block's id is above its
    parent's), from a heap of the ancestors reached. Walking up from each removed block cost
    its depth each: 50,000 share boxes under 2000 nested blocks were 10^8 steps."""
    pending: dict[int, list] = {}  # ancestor -> [total, links, good] to take out
    for index in removed:
        block, parent = blocks[index], blocks[index].parent
        if parent < 0:
            continue
        if parent in pending:
            sums = pending[parent]
            sums[0] += block.total
            sums[1] += block.links
            sums[2] += block.good
        else:
            pending[parent] = [block.total, block.links, block.good]
    heap = [-index for index in pending]
    heapify(heap)
    while heap:
        index = -heappop(heap)
        total, links, good = pending.pop(index)
        block = blocks[index]
        block.total -= total
        block.links -= links
        block.good -= good
        parent = block.parent
        if parent < 0:
            continue
        if parent in pending:
            sums = pending[parent]
            sums[0] += total
            sums[1] += links
            sums[2] += good
        else:
            pending[parent] = [total, links, good]
            heappush(heap, -parent)


def _class_weight(element: etree._Element) -> int:
    weight = 0
    for name in (element.get("class"), element.get("id")):
        if name:
            name = name.lower()
            for word in _NEGATIVE_WORDS:
                if word in name:
                    weight -= 25
                    break
            for word in _POSITIVE_WORDS:
                if word in name:
                    weight += 25
                    break
    return weight


def _link_density(block: Block) -> float:
    return block.links / block.total if block.total else 0.0


def _score_candidates(blocks: list[Block], items: list[Item]) -> None:
    for item in items:
        if item.media >= 0 or item.weight < _MIN_PARAGRAPH or item.link_share >= _MAX_LINK_PARAGRAPH \
                or blocks[item.owner].removed:
            continue
        text = item.text
        commas = text.count(",") if text.isascii() else sum(map(text.count, _COMMAS))  # ~5x faster than `re`
        credit = 1 + commas + min(item.weight / 100, 3)
        index = blocks[item.owner].parent
        for divider in _LEVEL_DIVIDERS:
            if index < 0:
                break
            block = blocks[index]
            if not block.scored:
                block.scored = True
                block.score = _TAG_BONUS.get(block.element.tag, 0) + _class_weight(block.element)
            block.score += credit / divider
            index = block.parent


def children(blocks: list[Block], index: int) -> list[int]:
    """The blocks directly inside block `index`, found by jumping over each one's subtree (ids are in
    document order): asked for a few blocks per page, so `read_tree` keeps no list per block."""
    inner, end, found = index + 1, blocks[index].end, []
    while inner <= end:
        found.append(inner)
        inner = blocks[inner].end + 1
    return found


def _contains(blocks: list[Block], outer: int, inner: int) -> bool:
    return outer <= inner <= blocks[outer].end


@dataclass
class Selection:
    """The article: which blocks are kept, and the block whose loose prose is kept too."""

    kept: list[bool]
    loose_owner: int
    link_blocks: list[bool]  # inside the article but in a link-heavy block (menu, teaser list, gallery)
    drop_link_paragraphs: bool = True
    core: int = 0  # the best-scored block, before widening: the article's core (the root when none was scored)
    list_entries: frozenset[int] = frozenset()  # kept `<li>`s/cells of plain lists/tables (`_plain_list_entries`)

    def keeps(self, item: Item) -> bool:
        """Whether an item belongs to the selected content (media in link-heavy blocks do: their
        own markup decides, see `images.final_class`)."""
        if self.kept[item.owner]:
            if item.media >= 0 or not self.drop_link_paragraphs:
                return True
            return (item.link_share < _MAX_LINK_PARAGRAPH or item.owner in self.list_entries) \
                and not _is_ad_label(item)
        if item.media >= 0:
            return self.link_blocks[item.owner]
        return item.owner == self.loose_owner and _reads_as_prose(item)


def kept_items(blocks: list[Block], items: list[Item], selection: Selection,
               pictures: frozenset[int] = frozenset(), title: str = "") -> list[bool]:
    """Which items are kept: `selection.keeps`, less counter runs (`_drop_counters`), chart labels
    (`_drop_chart_ticks`), repeated
    labels, datelines, author and credit lines and site notices in the main content
    (`_drop_repeated_labels`, `_drop_short_lines`), the
    headline that repeats the page's `title` (`_drop_title_headings`), comment sections found by
    their heading (`_drop_comment_section`) and the headings whose section went
    (`_drop_orphaned_headings`; `pictures`: the media indexes that may be content, see `select`)."""
    kept = [selection.keeps(item) for item in items]
    _drop_counters(items, kept)
    _drop_chart_ticks(blocks, items, kept)
    if selection.drop_link_paragraphs:  # the main content's: the whole page (`keep_all`) keeps them
        _drop_repeated_labels(blocks, items, kept)
        _drop_short_lines(blocks, items, kept)
        if title:
            _drop_title_headings(blocks, items, kept, title)
    comment_headings = _drop_orphaned_headings(blocks, items, kept, pictures)
    if comment_headings:  # one budget for all: the sections together hold at most MAX_SHARE of the kept text
        text = sum(item.weight for item, keep in zip(items, kept) if keep and item.media < 0)
        budget = boilerplate.MAX_SHARE["comments"] * text
        for index in sorted(comment_headings):  # in page order: each scan stops at the next (kept) heading
            budget -= _drop_comment_section(blocks, items, kept, index, budget)
        if budget < boilerplate.MAX_SHARE["comments"] * text:
            _drop_orphaned_headings(blocks, items, kept, pictures)  # a heading over the dropped comments: orphaned
    return kept


def _drop_counters(items: list[Item], kept: list[bool]) -> None:
    """Unmark runs of at least `_MIN_COUNTER_RUN` kept paragraphs that are bare numbers of at most
    `_MAX_COUNTER_DIGITS` digits counting up by one, with no other kept text between them ("1 2 3 ...
    14": a gallery's slide numbers, a pager's pages): no article text. A recipe's step numbers each
    stand before their step's text, so they make no run; a row of years has four digits."""
    numbers = [index for index, item in enumerate(items)
               if item.weight <= _MAX_COUNTER_DIGITS and kept[index] and item.text.isdigit() and item.text.isascii()]
    if len(numbers) < _MIN_COUNTER_RUN:
        return
    run = [numbers[0]]
    for index in [*numbers[1:], -1]:  # -1: ends the last run
        last = run[-1]
        if index > last and int(items[index].text) == int(items[last].text) + 1 and not any(
                kept[between] and items[between].media < 0 for between in range(last + 1, index)):
            run.append(index)
            continue
        if len(run) >= _MIN_COUNTER_RUN:
            for number in run:
                kept[number] = False
        run = [index]


def _drop_chart_ticks(blocks: list[Block], items: list[Item], kept: list[bool]) -> None:
    """Unmark a chart's axis and value labels drawn in HTML (a news graphic: "$900", "billion", "600",
    "300", "0", "’17", "’18"...): runs of kept short lines, at least `_MIN_TICKS` of them numbers
    (`_TICK_RE`) and at most `_MAX_TICK_WORDS` of each `_MIN_TICKS` words (units, "MONTHLY"), with
    nothing longer between them, whose numbers hold an axis (`_holds_axis`): a grid of figures laid
    out in `<div>`s (a recipe's quantities: "5.000", "50.00", "Yeast") has none. Table cells and list
    entries stay, and so does everything when the runs hold more than `_MAX_TICKS_SHARE` of the kept
    text (a page of figures)."""
    runs: list[int] = []
    run: list[int] = []
    numbers: list[float] = []
    for index, item in enumerate([*items, None]):
        if item is not None and not kept[index]:
            continue
        if item is not None and item.media < 0 and item.weight <= _MAX_TICK \
                and blocks[item.owner].element.tag not in _LISTED_TAGS:
            run.append(index)
            tick = _TICK_RE.match(item.text)
            if tick is not None:
                numbers.append(_tick_value(tick))
            continue
        if len(numbers) >= _MIN_TICKS and (len(run) - len(numbers)) * _MIN_TICKS <= _MAX_TICK_WORDS * len(numbers) \
                and _holds_axis(numbers):
            runs += run
        run, numbers = [], []
    if runs and sum(items[index].weight for index in runs) <= _MAX_TICKS_SHARE * sum(
            item.weight for item, keep in zip(items, kept) if keep and item.media < 0):
        for index in runs:
            kept[index] = False


def _tick_value(tick: re.Match) -> float:
    """A tick label's number; a year's two digits after an apostrophe count on past 99 ("’98", "’00")."""
    value = float(tick.group(2).replace(",", "") or 0)
    return value + 100 if tick.group(1) and tick.group(1)[-1] in "’'‘" and value < 50 else value


def _holds_axis(numbers: list[float]) -> bool:
    """Whether `_MIN_AXIS_STEPS` numbers in a row step evenly (an axis: 600, 300, 0; ’17, ’18, ’19)."""
    steps = 1
    for before, at, after in zip(numbers, numbers[1:], numbers[2:]):
        steps = steps + 1 if at != before and after - at == at - before else 1
        if steps + 1 >= _MIN_AXIS_STEPS:
            return True
    return False


def _drop_repeated_labels(blocks: list[Block], items: list[Item], kept: list[bool]) -> None:
    """Unmark runs of at least `_MIN_COUNTER_RUN` kept paragraphs of one text, at most `_MAX_TITLE`
    long, with nothing else kept between them ("Weather threatens holiday plans" once per slide of
    a gallery, a "Load more" per hidden page): a label repeated per item of a widget, no article
    text. Table cells and list entries (a column of "Yes", "N/A") stay, and so does a run without
    a letter (a code listing's closing braces, one per line; a row of zeros)."""
    run: list[int] = []
    for index, item in enumerate(items):
        if not kept[index]:
            continue
        if item.media < 0 and item.weight <= _MAX_TITLE and blocks[item.owner].element.tag not in _LISTED_TAGS:
            if run and items[run[0]].text == item.text:
                run.append(index)
                continue
            _unmark_run(run, items, kept)
            run = [index]
        else:
            _unmark_run(run, items, kept)
            run = []
    _unmark_run(run, items, kept)


def _unmark_run(run: list[int], items: list[Item], kept: list[bool]) -> None:
    if len(run) >= _MIN_COUNTER_RUN and _LETTER_RE.search(items[run[0]].text):
        for index in run:
            kept[index] = False


def _title_words(text: str) -> list[str]:
    """Lower-cased words, each CJK/kana/Hangul character one word (their titles have no spaces)."""
    return _TITLE_WORD_RE.findall(text.lower())


def _repeats_title(heading: str, title: dict[str, int], title_chars: int) -> bool:
    """Whether a heading's words are, by their characters, at least `_TITLE_SIMILARITY` words of
    the title (the title adds the site's name: "How to Build a Terrarium (with Pictures) | eHow"),
    and make at least `_TITLE_COVER` of the title's (a section's "Ingredients" under a long title
    naming its ingredients is no headline). `title`: the characters of each of the title's words."""
    words = _title_words(heading)
    if not words:
        return False
    shared = {word for word in words if word in title}
    return sum(len(word) for word in words if word in shared) >= _TITLE_SIMILARITY * sum(map(len, words)) \
        and sum(title[word] for word in shared) >= _TITLE_COVER * title_chars


def _drop_title_headings(blocks: list[Block], items: list[Item], kept: list[bool], title: str) -> None:
    """Unmark the kept `<h1>`/`<h2>` headings before the article's first prose paragraph that repeat
    the page's `<title>` (`_repeats_title`): the headline, which the document keeps as its title;
    the article benchmarks' texts leave it out. Only before the prose, so a section heading that
    happens to share the title's words stays, and only on a page with prose after it."""
    title_words: dict[str, int] = {}  # measured once: a page may hold many headings before its prose
    for word in _title_words(title):
        title_words[word] = title_words.get(word, 0) + len(word)
    title_chars = sum(title_words.values())
    headlines = []
    for index, item in enumerate(items):
        if not kept[index] or item.media >= 0:
            continue
        if blocks[item.owner].element.tag in _TITLE_TAGS and item.weight <= _MAX_HEADLINE \
                and _repeats_title(item.text, title_words, title_chars):
            headlines.append(index)
        elif item.weight >= _PROSE and _reads_as_prose(item):
            break
    else:
        return  # no prose: the headline may be all the page says
    for index in headlines:
        kept[index] = False


def _drop_short_lines(blocks: list[Block], items: list[Item], kept: list[bool]) -> None:
    """One pass over the kept short paragraphs of the main content (they are most of its paragraphs).

    Datelines: at most `_MAX_DATELINE` characters holding a clock time or a numeric date
    (`_DATELINE_RE`: "Šodien, 17:40", "2018/6/19 5:50", "posted on April 21, 2015, at 11:29 a.m."), a
    player's clock ("Current Time 0:00"). Author and credit lines: at most `_MAX_AUTHOR_LINE` characters
    that an author or credit label opens (`_AUTHOR_LABEL_RE`: "Author: Aubrey", "Autori: Anna Ūdre (LTV
    Ziņu dienesta ...)", "By: Modern Honey", "Foto: REUTERS, NTB", "Image copyright Getty Images"): a
    byline, a recipe card's author field, a photo's credit (its caption, a line of its own, stays); the
    label and its colon both, so "By Jonathan Corbet" heading a column stays. Both no article text; a
    table cell or list entry (a timetable's "10:00 Registration", a book's "Author: Jane Austen") stays.
    Button labels: a line that is only one (`_BUTTON_LABELS`: "Print this Recipe", "Partager :"),
    in a list too, but no heading ("Save This Recipe" over a sign-up box's pitch names the box), and a
    share bar's line (`_SHARE_LINE_RE`: "分享到：微信 微博", "Share: Facebook Twitter"). Answer counts: a
    line that is only a count of the answers or replies below it (`_ANSWER_COUNT_RE`: "3 Answers", "3 件の回答"),
    but no table cell or list entry (a survey's "12 responses").
    Permalinks: a docs heading's pilcrow (`_PERMALINK`) is cut off, at any length, and a line that is only
    one goes. The other lines of at most `notices.MAX_NOTICE` characters are looked at as site notices
    (`_drop_notices`)."""
    short, lines = [], []
    for index, item in enumerate(items):
        if not kept[index] or item.media >= 0:
            continue
        if item.text.endswith(_PERMALINK):
            item.text = item.text.rstrip(_PERMALINK + " ")
            item.weight = weighted_length(item.text)
            if not item.text:
                kept[index] = False
                continue
        if item.weight > notices.MAX_NOTICE:
            continue
        if (item.weight <= _MAX_AUTHOR_LINE and blocks[item.owner].element.tag not in _LISTED_TAGS and (
                (item.weight <= _MAX_DATELINE and _DATELINE_RE.search(item.text)) or _AUTHOR_LABEL_RE.match(item.text))) \
                or (item.weight <= _MAX_LABEL and blocks[item.owner].element.tag not in _HEADING_RANKS
                    and item.text.lower().lstrip("▢✓•·|- ").rstrip(" :!.|-") in _BUTTON_LABELS) \
                or (item.weight <= _MAX_SHARE_LINE and blocks[item.owner].element.tag not in _HEADING_RANKS
                    and _SHARE_LINE_RE.match(item.text.lower()) is not None) \
                or (item.weight <= _MAX_LABEL and blocks[item.owner].element.tag not in _LISTED_TAGS
                    and _ANSWER_COUNT_RE.fullmatch(item.text) is not None):
            kept[index] = False
        else:
            short.append(index)
            lines.append(item.text)
    if short:
        _drop_notices(blocks, items, kept, short, lines)


def _drop_notices(blocks: list[Block], items: list[Item], kept: list[bool], short: list[int], lines: list[str]
                  ) -> None:
    """Unmark the site notices in the main content (`notices.notice_lines`: a copyright line, a comment
    form's or comment section's rules, a typo-report prompt, a paywall's prompt, a call to follow,
    subscribe or donate), each with the small block around it (`_notice_block`: the notice's lead-in
    "Kļūda rakstā?", its list of profile links), all of them only while they hold at most
    `notices.MAX_NOTICE_SHARE` of the kept text: a page about newsletters keeps its text. `short`: the
    kept paragraphs of at most `notices.MAX_NOTICE` weighted characters, `lines` their texts."""
    found = [short[line] for line in notices.notice_lines(lines)]
    if not found:
        return
    drop: set[int] = set()
    for index in found:
        if index not in drop:
            drop.update(_notice_block(blocks, items, kept, index))
    text = sum(item.weight for item, keep in zip(items, kept) if keep and item.media < 0)
    if sum(items[index].weight for index in drop) <= notices.MAX_NOTICE_SHARE * text:
        for index in drop:
            kept[index] = False


def _notice_block(blocks: list[Block], items: list[Item], kept: list[bool], index: int) -> list[int]:
    """The kept items of the widest block around a notice that holds at most `notices.MAX_NOTICE`
    weighted characters and no media (items of a block's subtree are contiguous: block ids and items
    are in DOM order), inside the page's own containers (`_NOTICE_CEILING`)."""
    start = end = index
    block = items[index].owner
    while block >= 0 and blocks[block].total <= notices.MAX_NOTICE and blocks[block].element.tag not in _NOTICE_CEILING:
        low, high, last = start, end, blocks[block].end
        while low > 0 and block <= items[low - 1].owner <= last:
            low -= 1
        while high + 1 < len(items) and block <= items[high + 1].owner <= last:
            high += 1
        if any(items[inner].media >= 0 for inner in range(low, high + 1)):
            break
        start, end, block = low, high, blocks[block].parent
    return [inner for inner in range(start, end + 1) if kept[inner]]


def _drop_comment_section(blocks: list[Block], items: list[Item], kept: list[bool], heading: int,
                          limit: float) -> int:
    """Unmark a comment section that only its heading names ("Comments", "12 Comments", "Comentários":
    a site whose class names say nothing, such as utility CSS): the heading and the kept items after
    it inside the block around the heading (and its wrappers that hold nothing else), up to a kept
    heading of its rank or higher. Guard: the section may hold at most `limit` characters (what is
    left of `boilerplate.MAX_SHARE["comments"]` of the kept text, as for comment sections named by
    their class: they often outweigh the post). The weighted characters it dropped."""
    owner = items[heading].owner
    rank = _HEADING_RANKS[blocks[owner].element.tag]
    parent = blocks[owner].parent
    while parent > 0 and blocks[parent].total <= blocks[owner].total:  # a wrapper of the heading alone
        parent = blocks[parent].parent
    end = blocks[parent].end if parent >= 0 else len(blocks) - 1
    section = [heading]
    for index in range(heading + 1, len(items)):
        item = items[index]
        if item.owner > end:
            break
        if kept[index] and item.media < 0 and _HEADING_RANKS.get(blocks[item.owner].element.tag, _END) <= rank:
            break
        if kept[index]:
            section.append(index)
    weight = sum(items[index].weight for index in section)
    if weight > limit:
        return 0
    for index in section:
        kept[index] = False
    return weight


def _is_comments_heading(text: str) -> bool:
    return text.lower().strip(" :0123456789()[]") in _COMMENT_HEADINGS


def _drop_orphaned_headings(blocks: list[Block], items: list[Item], kept: list[bool],
                            pictures: frozenset[int]) -> list[int]:
    """Unmark the headings whose section went ("More soup recipes" over a teaser list dropped as
    link-heavy, "Reader interactions" over removed comments): a short heading followed by at least
    `_MIN_ORPHANED` characters of dropped text, or by nothing kept at all, then by nothing kept or
    by a kept heading of its rank or higher. Kept media that are no content candidates (not in
    `pictures`: the thumbnails of "Other recipes you may like", logos) are no section. A line that
    only labels a list of other articles (`_RELATED_LABELS`: "Related stories" in a `<p>`) is a heading
    of the lowest rank, and a label line of at most `_MAX_LABEL` ending with a colon ("More games news:",
    "阅读下一篇：") goes when that much dropped text follows it, whatever comes next. One backward pass;
    returns the kept headings that name a comment section."""
    comment_headings = []
    after = _END  # what the next kept item is: _END (none), _CONTENT or a heading's rank
    dropped = 0   # weighted characters of text dropped between here and that item
    ranks = _HEADING_RANKS
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if not kept[index] or (item.media >= 0 and item.media not in pictures):
            dropped += item.weight
            continue
        rank = ranks.get(blocks[item.owner].element.tag, _CONTENT) if item.media < 0 else _CONTENT
        if rank == _CONTENT and (dropped >= _MIN_ORPHANED or after == _END) and item.media < 0 \
                and item.weight <= _MAX_TITLE and item.text.lower().strip(" :：›»>|-–—") in _RELATED_LABELS:
            rank = _HEADING_RANKS["h6"]
        if rank != _CONTENT and (dropped >= _MIN_ORPHANED or after == _END) and item.weight <= _MAX_TITLE \
                and (after == _END or _CONTENT < after <= rank):
            kept[index] = False
            dropped += item.weight
            continue
        if rank == _CONTENT and dropped >= _MIN_ORPHANED and item.media < 0 and item.weight <= _MAX_LABEL \
                and item.text.endswith((":", "：")):
            kept[index] = False  # a label whose list went right after it ("More games news:", "See more photos:")
            dropped += item.weight
            continue
        if rank != _CONTENT and item.weight <= _MAX_COMMENTS_HEADING and _is_comments_heading(item.text):
            comment_headings.append(index)
        after, dropped = rank, 0
    return comment_headings


def _is_ad_label(item: Item) -> bool:
    return item.weight <= _MAX_LABEL and item.text.lower().rstrip(" :-–—|") in _AD_LABELS


def keep_all(blocks: list[Block]) -> Selection:
    """Everything but removed boilerplate (no main-content selection)."""
    return Selection([not b.removed for b in blocks], -1, [False] * len(blocks), drop_link_paragraphs=False)


def _reads_as_prose(item: Item) -> bool:
    if item.media >= 0:
        return False
    if item.weight > _PROSE:
        return item.link_share < _MAX_PROSE_LINKS
    return item.link_share == 0 and bool(_SENTENCE_END_RE.search(item.text))


def select(blocks: list[Block], items: list[Item], pictures: frozenset[int] = frozenset(),
           named: frozenset[int] = frozenset()) -> Selection:
    """The main content of a page (everything but boilerplate when no block holds prose).
    `pictures`: the media indexes whose own markup leaves them content candidates (no logo, ad or
    teaser: see `images.dom_class`); a figure beside the article is one that holds one of them.
    `named`: the blocks named as boilerplate that the share guard kept (`remove_boilerplate`)."""
    for removed in range(_MAX_GALLERIES + 1):
        _score_candidates(blocks, items)
        candidates = sorted((i for i, b in enumerate(blocks) if b.scored),
                            key=lambda i: blocks[i].score * (1 - _link_density(blocks[i])), reverse=True)
        if not candidates:
            return keep_all(blocks)
        gallery = _embedded_gallery(blocks, items, candidates[0]) if removed < _MAX_GALLERIES else -1
        if gallery < 0:
            break
        _remove(blocks, gallery)  # its captions are no part of the article around it: scored again without them
        for block in blocks:
            block.score, block.scored = 0.0, False
    final = {i: blocks[i].score * (1 - _link_density(blocks[i])) for i in candidates[:5]}
    top = candidates[0]
    # several near-best blocks: their shared ancestor is the article; not one in or around a kept
    # sidebar (`named`), which owes its score to the sidebar's paragraphs
    sidebars = [index for index in named if not _contains(blocks, index, top)]
    close = [i for i in candidates[1:5] if final[i] >= 0.75 * final[top] and not any(
        _contains(blocks, index, i) or _contains(blocks, i, index) for index in sidebars)]
    # a thread's posts (answers, replies: near-best blocks of one tag and class) also model the other
    # parts of the article (`_split_parts`): the question or first post in a wrapper of its own
    model = -1
    if len(close) >= 2:
        ancestor = blocks[top].parent
        while ancestor > 0 and sum(_contains(blocks, ancestor, i) for i in close) < 2:
            ancestor = blocks[ancestor].parent
        if ancestor >= 0:
            if _alike(blocks, top, [i for i in close if _contains(blocks, ancestor, i)]):
                model = top
            top = ancestor
    while blocks[top].parent > 0 and _is_wrapper(blocks, blocks[top].parent, top):
        top = blocks[top].parent
    good_total = blocks[0].good
    streams = _outside_story(blocks, items, top, named) if blocks[top].good < _MIN_GOOD_SHARE * good_total else []
    good_total -= sum(blocks[index].good for index in streams)  # no part of the story: before widening
    while top > 0 and blocks[top].good < _MIN_GOOD_SHARE * good_total:
        top = blocks[top].parent
    kept = [False] * len(blocks)
    ranges = _with_siblings(blocks, top, streams, sorted(item.owner for item in items if item.media in pictures))
    ranges += _split_parts(blocks, top, ranges, model if model >= 0 else top)
    for lo, hi in ranges:
        kept[lo:hi + 1] = [True] * (hi + 1 - lo)
    link_blocks = _link_heavy_blocks(blocks, kept, top, ranges)
    _drop_card_lists(blocks, items, kept, top, ranges)
    for lo, hi in ranges:  # outside them nothing is marked
        for index in range(lo, hi + 1):
            if blocks[index].removed:
                kept[index] = link_blocks[index] = False
    return Selection(kept, blocks[top].parent, link_blocks, core=candidates[0],
                     list_entries=_plain_list_entries(blocks, items, kept))


def _embedded_gallery(blocks: list[Block], items: list[Item], top: int) -> int:
    """The block of a gallery embedded in an article that holds the best-scored block (a slideshow's
    fifty captions can outscore the story around it), or -1: the nearest of `top` and its
    `_ANCESTOR_LEVELS` ancestors whose class or id names a gallery (`_GALLERY_WORDS`), when one of its
    `_ANCESTOR_LEVELS` ancestors below the root holds at least `_MIN_EMBED_PROSE` prose of its own
    around it (`_own_prose`: the story's paragraphs, not a sidebar's). A gallery page, its captions
    the content, has no such article around it."""
    index = top
    for _ in range(_ANCESTOR_LEVELS + 1):
        if index <= 0:
            return -1
        element = blocks[index].element
        names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
        if ("gal" in names or "sl" in names or "car" in names or "light" in names) \
                and not _GALLERY_WORDS.isdisjoint(boilerplate.class_words(names)):
            break
        index = blocks[index].parent
    else:
        return -1
    above = blocks[index].parent
    for _ in range(_ANCESTOR_LEVELS):
        if above <= 0:
            return -1
        if blocks[above].good - blocks[index].good >= _MIN_EMBED_PROSE \
                and _own_prose(blocks, items, above, index) >= _MIN_EMBED_PROSE:
            return index
        above = blocks[above].parent
    return -1


def _own_prose(blocks: list[Block], items: list[Item], index: int, gallery: int) -> int:
    """Prose characters (`_reads_as_prose` paragraphs of at least `_PROSE`, not removed) that block
    `index` holds itself or in its child blocks (a story's `<p>` elements), outside block `gallery`."""
    end = blocks[gallery].end
    return sum(item.weight for item in items if item.weight >= _PROSE and not gallery <= item.owner <= end and (
        item.owner == index or blocks[item.owner].parent == index) and not blocks[item.owner].removed
        and _reads_as_prose(item))


def _alike(blocks: list[Block], index: int, others: list[int]) -> bool:
    """Whether one of the blocks `others` has the tag and class of block `index` (a class it has)."""
    element = blocks[index].element
    tag, name = element.tag, element.get("class")
    return bool(name) and any(blocks[i].element.tag == tag and blocks[i].element.get("class") == name for i in others)


def _split_parts(blocks: list[Block], top: int, ranges: list[tuple[int, int]], model: int) -> list[tuple[int, int]]:
    """The other parts of an article split into several blocks that are no siblings (`story-body
    story-body-1` and `story-body story-body-2`, each in its own wrapper; sections between
    full-width figures; a Q&A page's question beside the list of its answers): blocks of the `model`
    block's tag and class (digits aside; the top block, or one of the posts it was widened to
    hold), within `_ANCESTOR_LEVELS` ancestors of `top`, outside the kept `ranges`, that hold at least
    `_MIN_PART_SHARE` of the model's prose (a postscript of one line is no part) and are not link-heavy.
    The whole class, not one name of it: `row` or `flex` names a layout, not a part."""
    name = _part_class(blocks[model].element.get("class"))
    scope = top
    for _ in range(_ANCESTOR_LEVELS):
        if blocks[scope].parent <= 0:
            break
        scope = blocks[scope].parent
    if not name or scope == top:
        return []
    tag, least, parts = blocks[model].element.tag, _MIN_PART_SHARE * blocks[model].good, []
    spans, at = sorted(ranges), 0  # walked beside the blocks: thousands of kept siblings cost one pass
    index, end = scope + 1, blocks[scope].end
    while index <= end:
        while at < len(spans) and spans[at][1] < index:
            at += 1
        if at < len(spans) and spans[at][0] <= index:
            index = spans[at][1] + 1
            continue
        block = blocks[index]
        if block.removed or block.good == 0:
            index = block.end + 1
            continue
        if block.element.tag == tag and block.good >= least and _link_density(block) <= _MAX_BLOCK_LINKS \
                and _part_class(block.element.get("class")) == name:
            parts.append((index, block.end))
            index = block.end + 1
        else:
            index += 1
    return parts


def _part_class(value: str | None) -> str:
    """A class value less its numbered variants of another of its names (`story-body story-body-2`
    is a part like `story-body story-body-1`; `col-md-4` is no `col-md-8`). The names are looked up
    in a set: a class of 10^4 numbered names was 10^8 list comparisons."""
    if not value:
        return ""
    names = value.split()
    known = frozenset(names)
    return " ".join(name for name in names if name.rstrip(_DIGITS) == name or name.rstrip(_DIGITS).rstrip("-_")
                    not in known)


def _is_wrapper(blocks: list[Block], parent: int, top: int) -> bool:
    """Whether block `parent` only wraps `top`: its one child, or all it adds is one link label
    (at most `_MAX_LABEL`: the "Read more" link of an article folded until a click)."""
    added = blocks[parent].total - blocks[top].total
    return len(children(blocks, parent)) == 1 or (
        0 < added <= _MAX_LABEL and blocks[parent].links - blocks[top].links >= added)


def _with_siblings(blocks: list[Block], top: int, streams: list[int], media_owners: list[int]
                   ) -> list[tuple[int, int]]:
    """The top block and the siblings that join it: blocks scoring close to it, prose paragraphs,
    and figures (`_is_figure`: the lead picture above the story's body, a photo between its
    parts). `media_owners`: the sorted ids of the blocks that own each picture (see `select`)."""
    parent = blocks[top].parent
    if parent < 0:
        return [(top, blocks[top].end)]
    threshold = max(10.0, 0.2 * blocks[top].score)
    top_class = blocks[top].element.get("class")
    kept = []
    for index in children(blocks, parent):
        block = blocks[index]
        if index == top:
            kept.append((index, block.end))
            continue
        if index in streams:
            continue
        bonus = 0.2 * blocks[top].score if top_class and block.element.get("class") == top_class else 0.0
        if block.scored and block.score * (1 - _link_density(block)) + bonus >= threshold:
            kept.append((index, block.end))
        elif (block.element.tag in _PARAGRAPH_TAGS and block.end == index and block.first_text is not None
              and _reads_as_prose(block.first_text)) or _is_figure(block, index, media_owners):
            kept.append((index, block.end))
    return kept


def _is_figure(block: Block, index: int, media_owners: list[int]) -> bool:
    """Whether a block is a figure: it holds one picture (`media_owners`) and at most a caption's text
    (`_MAX_CAPTION`), no link text (a breadcrumb or a card with its icon is no figure), it is or
    holds a `<figure>` or its class names a picture (`_FIGURE_RE`: `article-media`, `inline-photo`,
    `featured-image`), and no boilerplate (`_NEGATIVE_WORDS`). Which images are content the images' own
    markup decides (a logo or a linked teaser stays out)."""
    if block.removed or block.total > _MAX_CAPTION or block.links \
            or bisect_right(media_owners, block.end) - bisect_left(media_owners, index) != 1:
        return False
    element = block.element
    names = f"{element.get('class') or ''} {element.get('id') or ''}".lower()
    return (_FIGURE_RE.search(names) is not None or next(element.iter("figure"), None) is not None) \
        and _class_weight(element) >= 0


def _titled_blocks(items: list[Item]) -> list[int]:
    """The sorted ids of the blocks that own a title line: a link of at least `_MIN_CARD_TITLE`."""
    return sorted({item.owner for item in items
                   if item.link_share >= _MAX_LINK_PARAGRAPH and item.weight >= _MIN_CARD_TITLE and item.media < 0})


def _card_groups(blocks: list[Block], index: int) -> list[int]:
    """The largest group of blocks directly inside block `index` with one tag and class (text-less ones left out)."""
    groups: dict[tuple[str, str], list[int]] = {}
    for child in children(blocks, index):
        if blocks[child].total:
            groups.setdefault((blocks[child].element.tag, blocks[child].element.get("class") or ""), []).append(child)
    cards = max(groups.values(), key=len, default=[])
    return cards if len(cards) >= _CARD_SHARE * sum(map(len, groups.values())) else []


def _teaser_streams(blocks: list[Block], items: list[Item], top: int) -> list[int]:
    """The teaser streams outside and around `top` ("Recommended for you" under a short story: at
    least `_MIN_CARDS` sibling cards of one tag and class, most of them a title link with at most
    `_MAX_STREAM_BLURB` of prose, often one long blurb). Such a stream can hold more prose than the
    story, and is no part of it: the share guard of `select` leaves its prose out, and it joins the
    story as no sibling. Only beside a story: `top` must hold more prose than one card may and
    fewer than `_MIN_CARDS` title links (else it is a card itself, or a list of them: a section
    front's content is its cards), and a stream that holds `top` stays in."""
    titled = _titled_blocks(items)
    if len(titled) < _MIN_CARDS or blocks[top].good <= _MAX_STREAM_BLURB \
            or _titles_in(titled, top, blocks[top].end) >= _MIN_CARDS:
        return []
    found, index, top_end = [], 1, blocks[top].end
    while index < len(blocks):
        block = blocks[index]
        if top <= index <= top_end or block.good == 0 or block.end - index < _MIN_CARDS \
                or _titles_in(titled, index, block.end) < _MIN_CARDS:
            index = block.end + 1 if block.good == 0 or top <= index <= top_end else index + 1
            continue
        cards = [] if _contains(blocks, index, top) else _card_groups(blocks, index)
        if len(cards) >= _MIN_CARDS and sum(
                blocks[card].good <= _MAX_STREAM_BLURB and _titles_in(titled, card, blocks[card].end) > 0
                for card in cards) >= _CARD_SHARE * len(cards):
            found.append(index)
            index = block.end + 1
        else:
            index += 1
    return found


def _outside_story(blocks: list[Block], items: list[Item], top: int, named: frozenset[int]) -> list[int]:
    """The kept sidebars and the teaser streams outside them (`_kept_asides`, `_teaser_streams`),
    none inside another, so no prose is left out twice."""
    asides = _kept_asides(blocks, top, named)
    return asides + [index for index in _teaser_streams(blocks, items, top)
                     if not any(_contains(blocks, aside, index) for aside in asides)]


def _kept_asides(blocks: list[Block], top: int, named: frozenset[int]) -> list[int]:
    """The `<aside>`/`<nav>`/`<footer>` blocks, complementary/navigation landmarks and blocks named
    as boilerplate (`named`: a `site-sidebar` of widgets) outside and around `top` that the
    boilerplate share guard kept (a live-news sidebar outweighing the story): no part of the
    story, like `_teaser_streams`. One that holds `top` stays in: the parser let it
    swallow the article, which is why the guard kept it."""
    found, index, top_end = [], 1, blocks[top].end
    while index < len(blocks):
        block = blocks[index]
        if top <= index <= top_end or block.removed or block.good == 0:
            index = block.end + 1
            continue
        element = block.element
        if not _contains(blocks, index, top) and (index in named or element.tag in boilerplate.STRUCTURAL_TAGS or (
                element.get("role") or "").lower() in boilerplate.BOILERPLATE_ROLES):
            found.append(index)
            index = block.end + 1
        else:
            index += 1
    return found


def _titles_in(titled: list[int], index: int, end: int) -> int:
    """How many of the sorted block ids `titled` lie in the subtree `index..end`."""
    return bisect_right(titled, end) - bisect_left(titled, index)


def _is_card(blocks: list[Block], index: int, titled: list[int]) -> bool:
    """A teaser card: a title line that is a link (`titled`: the sorted ids of the blocks owning
    one) over a short blurb; a `<figure>` is the article's own media."""
    block = blocks[index]
    return block.links >= _MIN_CARD_LINK_SHARE * block.total and block.total - block.links <= _MAX_CARD_BLURB \
        and block.element.tag != "figure" and _titles_in(titled, index, block.end) > 0


def _drop_card_lists(blocks: list[Block], items: list[Item], kept: list[bool], top: int,
                     ranges: list[tuple[int, int]]) -> None:
    """Unmark in `kept` the lists of teaser cards ("Most popular": at least `_MIN_CARDS` sibling
    blocks of one tag and class, most of them a title link on its own line over a short blurb):
    their blurbs are plain text, so the list is not link-heavy. Guards: never an ancestor of `top`,
    the article's core, and only beside prose: the cards' text may be at most `_MAX_CARDS_SHARE` of
    the selected prose outside them (a section front, a blog index or a registry's list of links
    with blurbs is its cards)."""
    titled = _titled_blocks(items)
    if len(titled) < _MIN_CARDS:
        return
    prose = sum(blocks[lo].good for lo, _ in ranges)
    for lo, hi in ranges:
        index = lo
        while index <= hi:
            block = blocks[index]
            if not kept[index] or block.end - index < _MIN_CARDS or _contains(blocks, index, top) \
                    or block.total > _MAX_CARDS_SHARE * (prose - block.good) \
                    or _titles_in(titled, index, block.end) < _MIN_CARDS:
                index += 1
                continue
            cards = _card_groups(blocks, index)
            if len(cards) >= _MIN_CARDS \
                    and sum(_is_card(blocks, card, titled) for card in cards) >= _CARD_SHARE * len(cards):
                prose -= block.good
                kept[index:block.end + 1] = [False] * (block.end + 1 - index)
                index = block.end + 1
            else:
                index += 1


def _plain_list_entries(blocks: list[Block], items: list[Item], kept: list[bool]) -> frozenset[int]:
    """The kept `<li>` blocks of lists whose entries are mostly plain text (`_mostly_plain`): an
    entry there whose words are mostly a link ("1 split <a>chicken breast</a>" among a recipe's
    ingredients, a cited source among bullet points) is part of the list, not navigation; a menu's
    entries are all links. With them, found in the same pass, the one-paragraph table cells that
    are mostly a link in tables whose one-paragraph cells are mostly plain text: a linked cell is a
    value of the table there (a film's title in a list of films, linking to its article); a menu
    laid out in a table holds many links in a cell, and a navbox's cells are all links."""
    entries: list[tuple[int, Item]] = []  # (its list, paragraph) of each kept `<li>`'s paragraphs
    cells: dict[int, Item | None] = {}  # cell -> its one paragraph, or None: two or more
    for item in items:
        owner = item.owner
        if item.media < 0 and kept[owner]:
            tag = blocks[owner].element.tag
            if tag == "li":
                entries.append((blocks[owner].parent, item))
            elif tag in _CELL_TAGS:
                cells[owner] = None if owner in cells else item
    lists = _mostly_plain(entries)
    one_paragraph = [(cell, item) for cell, item in cells.items() if item is not None]
    tables = _mostly_plain((blocks[cell].parent, item) for cell, item in one_paragraph)
    list_entries = (index for parent in lists for index in children(blocks, parent)
                    if blocks[index].element.tag == "li")
    table_values = (cell for cell, item in one_paragraph
                    if item.link_share >= _MAX_LINK_PARAGRAPH and blocks[cell].parent in tables)
    return frozenset((*list_entries, *table_values))


def _mostly_plain(entries: Iterable[tuple[int, Item]]) -> set[int]:
    """The groups (a list, a table) of `entries` (group, paragraph) with a link paragraph among at
    least `_MIN_PLAIN_ENTRIES` plain ones that are `_PLAIN_LIST_SHARE` of the group's paragraphs."""
    plain: dict[int, int] = {}
    linked: dict[int, int] = {}
    for group, item in entries:
        counts = linked if item.link_share >= _MAX_LINK_PARAGRAPH else plain
        counts[group] = counts.get(group, 0) + 1
    return {group for group, count in linked.items() if plain.get(group, 0) >= _MIN_PLAIN_ENTRIES
            and plain[group] >= _PLAIN_LIST_SHARE * (plain[group] + count)}


def _link_heavy_blocks(blocks: list[Block], kept: list[bool], top: int,
                       ranges: list[tuple[int, int]]) -> list[bool]:
    """Unmark the article's link-heavy blocks in `kept`; return them. Only the kept `ranges`
    (whole subtrees) are looked at: the rest of the page is no article."""
    heavy = [False] * len(blocks)
    for lo, hi in ranges:
        index = lo
        while index <= hi:
            block = blocks[index]
            if kept[index] and index != top and block.element.tag in _CONDITIONAL and block.total \
                    and block.good == 0 and _link_density(block) > _MAX_BLOCK_LINKS:
                kept[index:block.end + 1] = [False] * (block.end + 1 - index)
                heavy[index:block.end + 1] = [True] * (block.end + 1 - index)
                index = block.end + 1
            else:
                index += 1
    return heavy
