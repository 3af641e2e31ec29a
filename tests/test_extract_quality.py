"""Main-content quality floors on the dev ground truth (../shared/data/html), the scorer itself, image
classes on inline pages, and the duplicate-paragraph document rule.

The floors sit a little under what `make bench-quality` measured when they were set (text P/R/F1
0.959/0.963/0.957 over 153 pages, Trafilatura F1 0.920 on the same pages, 0.872 with the filters;
content-image precision 0.938, recall 0.935, 0.982 of non-icon images), so a change that makes
extraction worse fails here.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from m3w_builder.document import Document, ImageNode, TextNode
from m3w_builder.drops import Rejected
from m3w_builder.extract import ExtractOptions, extract
from m3w_builder.extract.evaluate import ImageTally, dev_pages, mean_scores, shingles, text_scores, tokens
from m3w_builder.extract.notices import notice_lines
from m3w_builder.quality.filters import filter_document
from tests.conftest import shared_path

URL = "https://news.test/2024/story.html"


@pytest.fixture(scope="module")
def dev_results():
    root = shared_path("html")
    scores, filtered = defaultdict(list), []
    images = ImageTally()
    for page in dev_pages(root):
        try:
            doc = extract(page.html, page.url).document
        except Rejected:
            doc = None
        text = doc.text if doc else ""
        scores[page.dataset].append(text_scores(text, page.expected_text))
        try:
            filtered.append(text_scores(filter_document(doc).document.text if doc else "", page.expected_text))
        except Rejected:
            filtered.append(text_scores("", page.expected_text))
        if page.expected_images is not None:
            kept = [n.src for n in doc.nodes if isinstance(n, ImageNode)] if doc else []
            images.add(kept, page.expected_images, page.small_images)
    return scores, filtered, images


def test_text_quality_floors(dev_results):
    scores, filtered, _ = dev_results
    assert len(scores["readability"]) == 130 and len(scores["newspaper4k"]) == 23
    everything = mean_scores(scores["readability"] + scores["newspaper4k"])
    assert everything.f1 >= 0.95 and everything.precision >= 0.95 and everything.recall >= 0.955
    assert mean_scores(scores["readability"]).f1 >= 0.95
    assert mean_scores(scores["newspaper4k"]).f1 >= 0.93
    assert mean_scores(filtered).f1 >= 0.86  # filters reject short/synthetic test pages, never real articles


def test_content_image_floors_and_dom_order(dev_results):
    images = dev_results[2]
    # 0.938 when set, 0.927 once the lead picture above a headline counts (`images.lead_picture`): readability
    # leaves a story's lead photo out when it sits above the headline (folha, liberation-1, telegraph, theverge,
    # gitlab-blog, bug-1255978); most other kept images it lacks are figures it drops
    assert images.precision >= 0.92
    assert images.recall_sized >= 0.97 and images.recall >= 0.925  # 0.982 / 0.935 when set
    assert images.pages_out_of_order == 0


def test_scorer_shingles_words_and_characters():
    assert tokens("Hello, World! 東京タワー") == ["hello", "world", "東", "京", "タ", "ワ", "ー"]
    assert sum(shingles("a b c d e").values()) == 2
    perfect = text_scores("one two three four five", "One two, three four five.")
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    half = text_scores("one two three four five six seven", "one two three four five")
    assert half.recall == 1.0 and half.precision == 0.5
    assert text_scores("", "something here to find").f1 == 0.0


def _article(extra: str = "") -> str:
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(8))
    return f"<html><body><div class='page'>{extra}<article class='post'>{story}" \
           f"<figure><img src='/img/lead.jpg' width='800' height='500'><figcaption>The lead photo.</figcaption></figure>" \
           f"</article></div></body></html>"


def test_teaser_lists_navigation_and_footers_are_not_the_article():
    menu = "<ul class='menu'>" + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(10)) + "</ul>"
    related = "<div class='more'>" + "".join(
        f"<div><a href='/2024/other{i}.html'><img src='/t{i}.jpg' width='300' height='200'>Other story {i}</a></div>"
        for i in range(5)) + "</div>"
    html = _article(menu).replace("</article>", "</article>" + related + "<footer>© News Inc.</footer>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    text = result.document.text
    assert "Paragraph 0 of the story" in text and "Paragraph 7" in text and "The lead photo." in text
    assert "Section 3" not in text and "Other story" not in text and "News Inc" not in text
    classes = {n.src.rsplit("/", 1)[-1]: n.image_class for n in result.document.media}
    assert classes["lead.jpg"] == "content"
    assert {classes[f"t{i}.jpg"] for i in range(5)} == {"teaser"}
    default = extract(html.encode(), URL)  # default: content images only, the rest counted by class
    assert [n.src.rsplit("/", 1)[-1] for n in default.document.media] == ["lead.jpg"]
    assert default.media_drops["image_teaser"] == 5


def test_a_misfiring_boilerplate_name_cannot_delete_the_article():
    body = "".join(f"<p class='paywall'>Paragraph {i} of the article text, long enough to be prose.</p>" for i in range(6))
    html = f"<html><body><div class='TestReport__Section--Ads'><div class='has-sidebar'>{body}</div></div></body></html>"
    assert len([n for n in extract(html.encode(), URL).document.nodes if isinstance(n, TextNode)]) == 6


def test_form_wrapped_and_nav_wrapped_pages_keep_their_text():
    story = "".join(f"<p>Sentence {i} of a page that a web framework wrapped in one form.</p>" for i in range(5))
    assert "Sentence 4" in extract(f"<body><form id='aspnetForm'>{story}</form></body>".encode(), URL).document.text
    assert "Sentence 4" in extract(f"<body><nav><a href='/'>Home</a></nav><nav>{story}</nav></body>".encode(),
                                   URL).document.text


def test_duplicate_paragraph_rule_weighs_repeats_by_length():
    prose = [TextNode(f"Paragraph {i}: " + "the article keeps on telling its story in full sentences " * 3)
             for i in range(6)]
    leftovers = [TextNode(t) for t in ("Share", "Advertisement", "$915", "billion") * 10]
    article = Document("d", URL, [n for pair in zip(prose, leftovers) for n in pair] + leftovers[6:])
    result = filter_document(article)  # 36 of 46 paragraphs repeat, but only short leftovers
    # the 35 in one run are a copied block; the lone "Share" between two paragraphs is no copy
    assert result.paragraph_drops["repeated_paragraph"] == 35
    assert [n.text for n in result.document.nodes if isinstance(n, TextNode)][:2] == [prose[0].text, "Share"]
    spam = Document("s", URL, [prose[0], prose[1]] + [prose[0]] * 3)
    with pytest.raises(Rejected) as err:
        filter_document(spam)
    assert err.value.reason == "duplicate_paragraphs"


def test_real_article_with_repeated_chart_labels_passes_the_filters():
    page = shared_path("html", "mozilla-readability", "nytimes-4.html").read_bytes()
    doc = extract(page, "http://fakehost/test/page.html").document
    assert len(filter_document(doc).document.text.split()) > 1000


def test_ellipsis_rule_spares_a_photo_storys_lead_ins_but_not_truncated_teasers():
    steps = [f"Step {i}: then throw another tablespoon of butter into the skillet and wait a minute or two…"
             for i in range(8)]
    story = [node for i, text in enumerate(steps) for node in (TextNode(text), ImageNode(f"https://a.test/{i}.jpg"))]
    assert len(filter_document(Document("d", URL, story)).document.nodes) == 16
    # the same lines without their photos read as a list of truncated blurbs
    with pytest.raises(Rejected, match="ellipsis_lines"):
        filter_document(Document("t", URL, [TextNode(text) for text in steps]))
    page = shared_path("html", "recipe-scrapers", "thepioneerwoman.com__thepioneerwoman_1.html").read_bytes()
    doc = extract(page, "https://www.thepioneerwoman.com/food-cooking/recipes/a11213/patty-melts/").document
    assert "Whack it in half" in filter_document(doc).document.text
    front = shared_path("html", "newspaper4k", "yahoo_main_site.html").read_bytes()
    with pytest.raises(Rejected, match="ellipsis_lines"):
        filter_document(extract(front, "https://uk.yahoo.com/").document)


def test_removals_are_weighed_against_the_text_left_on_the_page():
    # The menus go first; then an unclosed <div> in a <nav> holds the whole article (libxml2 keeps
    # it open past `</nav>`): it is half of the original page, but all of what is left.
    menus = "".join(f"<div class='menu'>{' '.join(f'<a href=/m{i}{j}>Menu entry {j}</a>' for j in range(8))}</div>"
                    for i in range(6))
    story = "".join(f"<p>Sentence {i} of the recipe, with enough words, commas, and steps to read as prose.</p>"
                    for i in range(6))
    html = f"<body><header>{menus}</header><nav class='tabs'><div class='wrapper'><ul></ul></nav>{story}</body>"
    assert "Sentence 5 of the recipe" in extract(html.encode(), URL).document.text


def test_real_page_whose_article_sits_in_an_unclosed_nav_keeps_it():
    page = shared_path("html", "recipe-scrapers", "argiro.gr__argiro_1.html").read_bytes()
    text = extract(page, "https://www.argiro.gr/recipe").document.text
    assert "Προθερμαίνουμε το φούρνο" in text and len(text) > 1000


REAL_PAGES_KEPT_AND_GONE = [  # (set, file, url, text kept, text gone): one error class each
    pytest.param("recipe-scrapers", "recipeforperfection.com__recipeforperfection_1.html",
                 "https://recipeforperfection.com/recipe", ["Knead dough for 2 minutes"],
                 ["I like to add a tad brown sugar", "Leave a Reply"], id="comments-not-the-recipe"),
    pytest.param("recipe-scrapers", "bettycrocker.com__bettycrocker_1.html", "https://www.bettycrocker.com/recipe",
                 ["Unroll crescent dough"], ["componentMetadata"], id="self-closed-scripts-keep-no-code"),
    pytest.param("recipe-scrapers", "iowagirleats.com__iowagirleats.html", "https://iowagirleats.com/recipe",
                 ["Start by browning or cooking 1lb of the protein"],
                 ["Enter your email to get it sent", "Please enable JavaScript"], id="no-save-this-recipe-form"),
    pytest.param("mozilla-readability", "wordpress.html", "http://fakehost/test/page.html",
                 ["These are both highly portable skills that are in demand on the web."],
                 ["Like this:", 'In "News"'], id="no-likes-or-related-posts"),
    pytest.param("recipe-scrapers", "afullliving.com__afullliving_1.html", "https://afullliving.com/recipe",
                 ["Chicken thighs drenched in a creamy, garlicky parmesan sauce"],
                 ["5 from 14 votes", "Tried this recipe?", "Save This Recipe!"],
                 id="no-rating-call-to-action-or-save-this-widgets"),
    pytest.param("recipe-scrapers", "closetcooking.com__closetcooking.html", "https://closetcooking.com/recipe",
                 ["You simply cook the chicken in a skillet"], ["Reader Interactions"],
                 id="no-heading-over-removed-comments"),
    pytest.param("recipe-scrapers", "101cookbooks.com__onehundredonecookbooks_1.html",
                 "https://101cookbooks.com/recipe",
                 ["a simple broccoli and spinach affair made with a coconut milk broth"],
                 ["LOVE the greens combination"], id="comments-in-a-run-together-name"),
    pytest.param("mozilla-readability", "citylab-1.html", "http://fakehost/test/page.html",
                 ["In the summer of 1898, the Scottish chemist Sir William"],
                 ["This year-long journey across the U.S. keeps you at consistent high temperatures."],
                 id="most-popular-cards-with-plain-blurbs"),
    pytest.param("mozilla-readability", "msn.html", "http://fakehost/test/page.html",
                 ['"Super Mario Run" will launch on iPhone and iPad on December 15'],
                 ["Make MSN my homepage", "Report inappropriate content"], id="dialogs-and-flyouts"),
    pytest.param("mozilla-readability", "yahoo-2.html", "http://fakehost/test/page.html",
                 ["The Progress MS-04 cargo craft broke up at an altitude of 190 kilometers"],
                 ["Closed Caption Settings", "Palatino Linotype"], id="video-player-settings-panel"),
    pytest.param("recipe-scrapers", "andy-cooks.com__andycooks_1.html", "https://www.andy-cooks.com/recipe",
                 ["How to make the juiciest rissoles at home!"], ["Other recipes you may like"],
                 id="no-heading-over-thumbnail-cards"),
    pytest.param("recipe-scrapers", "barefootinthepines.com__barefootinthepines_1.html",
                 "https://barefootinthepines.com/recipe", ["Make the best Brussels sprouts without roasting!"],
                 ["More Side Dishes You’ll Love"], id="no-heading-over-related-recipe-thumbnails"),
    pytest.param("recipe-scrapers", "eatwhattonight.com__eatwhattonight.html", "https://eatwhattonight.com/recipe",
                 ["Stepping into the 5th month of the Work-From-Home regime", "Serve hot immediately with rice."],
                 ["SEACRH FOR A RECIPE", "BY DATE"], id="sidebar-of-widgets-outweighing-the-post"),
]


@pytest.mark.parametrize("dataset,name,url,kept,gone", REAL_PAGES_KEPT_AND_GONE)
def test_real_page_keeps_its_article_text_and_drops_the_rest(dataset, name, url, kept, gone):
    text = extract(shared_path("html", dataset, name).read_bytes(), url).document.text
    assert all(phrase in text for phrase in kept)
    assert not [phrase for phrase in gone if phrase in text]


def test_a_comment_section_longer_than_the_post_is_not_the_article():
    post = "".join(f"<p>Step {i} of the post, with enough words, commas, and sentences to read as prose.</p>"
                   for i in range(5))
    comments = "".join(f"<li><p>Reader {i} wrote that this was lovely, and that they made it twice, with a twist, "
                       f"and that the family asked for more of it.</p></li>" for i in range(6))
    html = f"<body><div class='site'><article class='post'>{post}</article>" \
           f"<div id='comments'><h2>12 Comments</h2><ol class='commentlist'>{comments}</ol></div></div></body>"
    text = extract(html.encode(), URL).document.text
    assert "Step 4 of the post" in text and "Reader" not in text
    # named by run-together words (`commentspost`), but an opinion piece is no comment section
    html = html.replace("id='comments'", "id='commentspost'").replace("'commentlist'", "'commentthread'") \
        .replace("<article class='post'>", "<article class='post'><div class='commentary-body'>") \
        .replace("</article>", "</div></article>")
    text = extract(html.encode(), URL).document.text
    assert "Step 4 of the post" in text and "Reader" not in text


def _image_classes(html: str) -> dict[str, str]:
    """Each image's file name and class, every image kept (`keep_all_images`)."""
    media = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True)).document.media
    return {n.src.rsplit("/", 1)[-1]: n.image_class for n in media}


def test_strip_shaped_images_are_buttons_and_banners_not_content():
    images = ("<img src='/img/photo.jpg' width='800' height='500'>"
              "<img src='/img/panorama.jpg' width='1200' height='300'>"
              "<img src='/img/get-the-recipe.svg' width='406' height='50'>"
              "<img src='/img/promo-728x90.gif' width='728' height='90'>")
    html = _article().replace("<figure>", images + "<figure>")
    classes = _image_classes(html)
    assert classes["photo.jpg"] == classes["panorama.jpg"] == classes["lead.jpg"] == "content"
    assert classes["get-the-recipe.svg"] == classes["promo-728x90.gif"] == "logo"


def test_real_recipe_page_banner_slots_are_not_content_images():
    page = shared_path("html", "recipe-scrapers", "hellofresh.com__hellofresh.html").read_bytes()
    media = extract(page, "https://hellofresh.com/recipe", options=ExtractOptions(keep_all_images=True)).document.media
    banners = [n for n in media if "Recipe-Banner" in n.src and (n.height or 999) < 100]  # 970x90, 728x90, 320x50
    assert len(banners) == 3 and {n.image_class for n in banners} == {"ad"}  # named banners: promotions


def test_self_closed_script_code_is_no_page_text():
    code = "(function() { document.addEventListener('DOMContentLoaded', function() { var x = 1; }); })();"
    html = _article(f"<script type='text/javascript'/>\n{code}\n</script><script src='/a.js'/><p>Kept after.</p>")
    text = extract(html.encode(), URL).document.text
    assert "addEventListener" not in text and "Paragraph 7" in text and "Kept after." in text


def test_card_image_beside_a_title_link_is_a_teaser():
    # The "stretched link" card: the image is outside the link, the card's only text is the title link.
    cards = "".join(f"<article class='item'><img src='/feed/{i}.webp' width='160' height='120'>"
                    f"<h3><a class='stretched-link' href='/recipes/other-dish-{i}'>Another dish number {i} to cook</a>"
                    f"</h3></article>" for i in range(4))
    credit = "<figure><img src='/img/credited.jpg'><figcaption>Photo: <a href='/credits'>Reuters</a></figcaption></figure>"
    html = _article().replace("</article>", f"{credit}<div class='feed'>{cards}</div></article>")
    classes = _image_classes(html)
    assert {classes[f"{i}.webp"] for i in range(4)} == {"teaser"}
    assert classes["lead.jpg"] == classes["credited.jpg"] == "content"


def test_real_recipe_page_related_cards_are_teasers():
    page = shared_path("html", "recipe-scrapers", "en.petitchef.com__petitchef_1.html").read_bytes()
    media = extract(page, "https://en.petitchef.com/recipe", options=ExtractOptions(keep_all_images=True)).document.media
    feed = [n for n in media if "/feed-data/" in n.src]
    assert len(feed) >= 10 and {n.image_class for n in feed} <= {"teaser", "outside"}
    assert any(n.image_class == "content" and "skyr-cake" in n.src for n in media)


def test_email_signup_forms_in_the_post_are_not_article_text():
    form = ("<form class='wpforms-form'><div class='wpforms-title'>Want to save this recipe?</div>"
            "<div>Enter your email to get it sent to your inbox, plus new recipes from us every week.</div>"
            "<label>Email *</label><input type='email' name='email'><button>Save Recipe</button></form>")
    text = extract(_article().replace("</p><p>Paragraph 4", f"</p>{form}<p>Paragraph 4").encode(), URL).document.text
    assert "Paragraph 3" in text and "Paragraph 4" in text
    assert "inbox" not in text and "Email *" not in text and "save this recipe" not in text
    # a form holding the whole page (ASP.NET) keeps it, newsletter field or not: the share guard
    story = "".join(f"<p>Sentence {i} of a page that a web framework wrapped in one form.</p>" for i in range(5))
    page = f"<body><form id='aspnetForm'>{story}<p>Newsletter</p><input type='email'></form></body>"
    assert "Sentence 4" in extract(page.encode(), URL).document.text


def test_a_signup_forms_heading_and_pitch_beside_the_form_go_with_it():
    tool = ("<div class='save-tool'><h3>Save This Recipe!</h3><div class='msg'><p>We'll email this post to you, "
            "so you can come back to it later!</p></div><div><form><input type='email'><input type='submit'>"
            "</form></div></div>")
    photo = f"<div class='wp-block-image'><img src='/img/step.jpg' width='800' height='500'>{tool}</div>"
    html = _article().replace("</p><p>Paragraph 4", f"</p>{photo}<p>Paragraph 4")
    doc = extract(html.encode(), URL).document
    assert "Paragraph 3" in doc.text and "Paragraph 4" in doc.text
    assert "Save This Recipe" not in doc.text and "email this post" not in doc.text
    assert [n.src.rsplit("/", 1)[-1] for n in doc.media] == ["step.jpg", "lead.jpg"]  # the wrapper with the photo stays


def test_blocks_named_by_run_together_words_are_boilerplate():
    related = ("<div id='jp-relatedposts' class='jp-relatedposts'><h3>Related</h3>" + "".join(
        f"<div class='jp-relatedposts-post'><h4><a href='/other-{i}'>Other post {i}</a></h4>"
        f"<p>An excerpt of other post {i}, long enough, with commas, to read as a paragraph of prose.</p></div>"
        for i in range(3)) + "</div>")
    likes = "<div class='sharedaddy sd-like'><h3>Like this:</h3></div>"
    kept = "<div class='shared-note'><p>A note the whole newsroom shared, written as a full sentence.</p></div>"
    html = _article().replace("</article>", f"{kept}{likes}{related}</article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "A note the whole newsroom shared" in text
    assert "Like this" not in text and "Related" not in text and "other post" not in text


def test_sns_share_blocks_are_boilerplate():
    html = _article().replace("</p><p>Paragraph 1", "</p><section class='article-sns'><h2>このニュースをシェア</h2>"
                              "</section><p>Paragraph 1")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "シェア" not in text
    page = shared_path("html", "newspaper4k", "japanese_article2.html").read_bytes()
    assert "このニュースをシェア" not in extract(page, "https://www.afpbb.com/articles/-/3179011").document.text


def test_rating_call_to_action_contents_and_author_box_widgets_are_not_article_text():
    widgets = ("<div class='recipe-rating-details'>4.9 from 59 votes</div>"
               "<div class='toc-container'><p class='toc-title'>Table of Contents</p><ul><li><a href='#a'>Why</a></li>"
               "</ul></div><div class='recipe-call-to-action'>Tried this recipe? Leave a comment below!</div>")
    bio = ("<div class='block-author-box'><p>About Amy</p><p>Amy here, founder of the blog and mother of three.</p>"
           "</div>")
    html = _article().replace("</p><p>Paragraph 4", f"</p>{widgets}<p>Paragraph 4").replace("</article>",
                                                                                             f"</article>{bio}")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 3" in text and "Paragraph 4" in text and "Paragraph 7" in text
    assert not [w for w in ("votes", "Table of Contents", "Tried this", "About Amy", "founder") if w in text]
    # guards: a widget name on a long block, or on the block holding the page's <h1>, removes nothing
    long_cta = "<div class='cta'>" + "".join(f"<p>Tip {i}: weigh the flour, then sift it twice.</p>"
                                             for i in range(6)) + "</div>"
    header = "<div id='ratings'><h1>Pumpkin Salad</h1><span>4.5 (4 votes)</span></div>"
    html = _article(long_cta).replace("<article class='post'>", f"<article class='post'>{header}")
    text = extract(html.encode(), URL).document.text
    assert "Pumpkin Salad" in text and "Tip 5: weigh the flour" in text and "Paragraph 7" in text
    # `author` alone names a byline or a publication's author list, not a bio box
    papers = "".join(f"<li><p>A paper title number {i}</p><div class='author'>Ann Lee, Bo Chen, Cy Diaz</div></li>"
                     for i in range(6))
    assert "Bo Chen" in extract(f"<body><ol class='bibliography'>{papers}</ol></body>".encode(), URL).document.text


def test_action_toolbars_are_not_article_text_but_a_toolbar_of_facts_is():
    buttons = "".join(f"<li><span class='atButton'><div class='atbName'>{label}</div></span></li>"
                      for label in ("Save Recipe", "Print", "Pinterest", "Email", "Keep Screen On"))
    toolbars = (f"<div class='actionToolbar recipeToolbarInline'><ul class='atButtons'>{buttons}</ul></div>"
                "<div class='editor-toolbar'><span>Bold</span> <span>Italic</span></div>")
    facts = "<ul class='section_toolbar icon-prep'><li>Preparation 5 min</li><li>Cooking 10 min</li></ul>"
    html = _article().replace("</p><p>Paragraph 2", f"</p>{toolbars}{facts}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 2" in text and "Paragraph 7" in text
    assert not [w for w in ("Save Recipe", "Pinterest", "Keep Screen On", "Bold", "Italic") if w in text]
    assert "Preparation 5 min" in text and "Cooking 10 min" in text  # a digit: facts, not buttons
    # guard: a toolbar is a widget, so one wrapping a long stretch of prose removes nothing
    story = "".join(f"<p>The {word} part of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for word in ("first", "second", "third", "last"))
    wrapped = f"<html><body><article><div class='page-toolbar'>{story}</div></article></body></html>"
    assert "The last part of the story" in extract(wrapped.encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "bettycrocker.com__bettycrocker_1.html").read_bytes()
    text = extract(page, "https://www.bettycrocker.com/recipes/").document.text
    assert "Pinterest" not in text and "Save Recipe" not in text


def test_keep_the_screen_on_switches_are_not_article_text():
    switches = ("<div class='tasty-recipes-cook-mode'><span>Cook Mode</span> <span>Prevent your screen from going"
                " dark</span></div><div class='recipe-steps__wake-lock'><p>Keep Screen On</p></div>"
                "<div class='wprm-prevent-sleep wprm-toggle-switch-container'><label>Cook Mode</label></div>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{switches}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 2" in text and "Paragraph 7" in text
    assert not [w for w in ("Cook Mode", "Prevent your screen", "Keep Screen On") if w in text]
    # a class that only starts with the switch's name is not it: a recipe template, a cook-mode view of the steps
    short = "<p>Whisk the eggs, then fold in the flour.</p><p>Bake until golden.</p>"
    for name in ("wprm-recipe-template-prevent-sleep-food", "bb-cookmode__preparation__step"):
        page = f"<html><body><article><div class='{name}'>{short}</div></article></body></html>"
        assert "Bake until golden." in extract(page.encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "pinchofyum.com__pinchofyum.html").read_bytes()
    assert "Prevent your screen" not in extract(page, "https://pinchofyum.com/recipe").document.text


def test_affiliate_and_legal_disclosures_are_not_article_text():
    notes = ("<div class='aff-disc'><p>This post may contain affiliate links. Please read our disclosure policy.</p>"
             "</div>"
             "<p class='affiliate-disclaimer'>As an Amazon Associate I earn from qualifying purchases.</p>"
             "<div class='nutrition-disclaimer'>Nutrition information is automatically calculated.</div>")
    facts = "<div class='serving-disclaimer'>1 bag serves 2 (2 bags serve 4)</div>"
    html = _article().replace("<article class='post'>", f"<article class='post'>{notes}{facts}")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0" in text and "Paragraph 7" in text
    assert not [w for w in ("affiliate links", "Amazon Associate", "automatically calculated") if w in text]
    assert "1 bag serves 2" in text  # a digit: a recipe fact, not a disclosure
    # guard: a widget, so a long disclaimer (a page of terms) is kept
    terms = "<div class='disclaimer'>" + "".join(
        f"<p>The {word} clause of the terms, which the reader accepts, is set out here in full.</p>"
        for word in ("first", "second", "third", "fourth", "last")) + "</div>"
    page = f"<html><body><article><h1>Terms of use</h1>{terms}</article></body></html>"
    assert "The last clause of the terms" in extract(page.encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "jocooks.com__jocooks.html").read_bytes()
    assert "may contain affiliate links" not in extract(page, "https://www.jocooks.com/recipes/").document.text


def test_bylines_datelines_credits_section_labels_and_share_labels_are_not_article_text():
    meta = ("<p class='entry-meta'>Updated: <time>May 25, 2024</time> by <a href='/about'>Nicole B.</a></p>"
            "<div class='post-date'>Mar 27, 2025</div><p class='dpsp-share-text'>Sharing is caring!</p>"
            "<p class='photo-credit'>Photo: Jane Doe</p><div class='attribution'><span>IB Times</span></div>"
            "<div class='rubric'><span>Business</span></div>")
    facts = "<div class='recipe-meta'>Prep time 10 minutes</div>"
    html = _article().replace("<article class='post'>", f"<article class='post'>{meta}{facts}")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0" in text and "Paragraph 7" in text and "Prep time 10 minutes" in text
    gone = ("Updated:", "Nicole B.", "Mar 27, 2025", "Sharing is caring", "Jane Doe", "IB Times", "Business")
    assert not [w for w in gone if w in text]
    # guard: a long paragraph a theme names `byline` (a standfirst) is article text
    standfirst = "<p class='byline'>" + "The council voted, after a long night of debate, to close the bridge. " * 4
    text = extract(_article(standfirst + "</p>").encode(), URL).document.text
    assert "to close the bridge" in text
    page = shared_path("html", "recipe-scrapers", "thespicetrain.com__thespicetrain_1.html").read_bytes()
    text = extract(page, "https://thespicetrain.com/recipe").document.text
    assert "This ahi tuna rub creates a delicious" in text and "Published: Jun 7, 2022" not in text
    page = shared_path("html", "recipe-scrapers", "foodfidelity.com__foodfidelity.html").read_bytes()
    assert "Sharing is caring!" not in extract(page, "https://foodfidelity.com/recipe").document.text


def test_a_collapsible_jump_to_menu_is_not_article_text_but_a_collapsible_answer_is():
    menu = "<details><summary>Jump to:</summary><ul>" + "".join(
        f"<li><a href='#s{i}'>Section number {i}</a></li>" for i in range(5)) + "</ul></details>"
    faq = "<details><summary>Can I freeze it?</summary><p>Yes, for up to three months, wrapped well.</p></details>"
    html = _article().replace("</p><p>Paragraph 2", f"</p>{menu}{faq}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 2" in text and "Can I freeze it?" in text and "three months" in text
    assert "Jump to" not in text and "Section number" not in text


def _cards(tag: str = "li") -> str:
    return "".join(f"<{tag} class='card'><img src='/t/{i}.jpg' width='300' height='200'><h3><a href='/2024/other-{i}'>"
                   f"Another story worth reading, number {i}</a></h3><p>A plain blurb that sums up the other story "
                   f"in a sentence, as lists of popular stories do.</p><span>Apr {i + 1}, 2024</span></{tag}>"
                   for i in range(5))


def test_lists_of_teaser_cards_with_plain_blurbs_are_not_the_article():
    more = "".join(f"<p>More of the story, part {i}, with enough words, commas, and sentences to be prose.</p>"
                   for i in range(16))  # the cards may take at most 40% of the prose beside them
    long = _article().replace("</article>", f"{more}</article>")
    html = long.replace("</article>", f"<h2>Most popular</h2><ol class='popular-list'>{_cards()}</ol></article>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    text = result.document.text
    assert "Paragraph 7" in text and "part 15" in text and "The lead photo." in text
    assert "Another story" not in text and "plain blurb" not in text and "Most popular" not in text
    assert {n.image_class for n in result.document.media if "/t/" in n.src} <= {"teaser", "outside"}
    # guards: a page that is a list of cards (a section front) keeps them, and a gallery of figures is media
    front = f"<html><body><h1>Latest stories</h1><ul>{_cards()}</ul></body></html>"
    assert "plain blurb" in extract(front.encode(), URL).document.text
    gallery = "<div class='gallery'>" + "".join(
        f"<figure class='item'><a href='/g/{i}.jpg'><img src='/g/{i}.jpg' width='800' height='600'></a><figcaption>"
        f"<a href='/recipes/dish-{i}'>Photo {i} of the finished dish</a><p>Shot in our kitchen in the morning light "
        f"by Ann</p></figcaption></figure>" for i in range(5)) \
        + "</div>"
    media = extract(long.replace("<figure>", gallery + "<figure>").encode(), URL).document.media
    assert len([n for n in media if "/g/" in n.src]) == 5


def test_the_heading_of_a_dropped_section_goes_with_it():
    more = "<h2>More soup recipes</h2><ul>" + "".join(
        f"<li><a href='/soup-{i}'>Another soup number {i}</a></li>" for i in range(6)) + "</ul>"
    html = _article().replace("<figure>", f"<h2>Method</h2><p>Stir the pot, then serve it hot, with bread.</p>"
                                          f"{more}<h2>Notes</h2><p>Keeps for three days in the fridge, covered.</p>"
                                          f"<figure>").replace("</article>", "<h3>Reader interactions</h3></article>"
                                                                             "<div class='comments'><p>Lovely soup, "
                                                                             "we made it twice this week!</p></div>")
    text = extract(html.encode(), URL).document.text
    assert "Method" in text and "Notes" in text and "Keeps for three days" in text and "The lead photo." in text
    assert "More soup recipes" not in text and "Another soup" not in text and "Reader interactions" not in text
    # a heading followed by a lower-ranked one, or by kept text, stays whatever was dropped between
    html = _article().replace("<figure>", f"<h2>Method</h2>{more}<h3>Step one</h3><p>Stir the pot, then serve.</p>"
                                          f"<h2>Serving</h2>{more}<p>Serve hot, with bread and butter.</p><figure>")
    text = extract(html.encode(), URL).document.text
    assert "Method" in text and "Step one" in text and "Serving" in text


def test_dialogs_flyouts_and_settings_panels_are_boilerplate():
    dialogs = ("<div id='makehomepagedialog'><h2>Make this site my homepage</h2><ol><li>Open the settings menu.</li>"
               "<li>Type the address in the box.</li></ol></div><div class='mod-flyout'><h2>Report this comment</h2>"
               "<p>There was a problem. Please try again.</p></div>")
    lightbox = "<div class='conModal'><img src='/img/zoom.jpg' width='800' height='500'></div>"  # opens in a modal
    html = _article().replace("</p><p>Paragraph 4", f"</p>{dialogs}{lightbox}<p>Paragraph 4")
    doc = extract(html.encode(), URL).document
    assert "Paragraph 3" in doc.text and "Paragraph 4" in doc.text
    assert not [w for w in ("homepage", "settings menu", "Report this", "Please try again") if w in doc.text]
    assert [n.src.rsplit("/", 1)[-1] for n in doc.media] == ["zoom.jpg", "lead.jpg"]
    player = ("<div class='player'><video src='/v/clip.mp4'></video><div class='player-settings'><div>Video Quality"
              "</div><ul><li>Auto</li><li>High (HD)</li></ul><div>Captions will look like this</div></div></div>")
    doc = extract(_article().replace("</p><p>Paragraph 4", f"</p>{player}<p>Paragraph 4").encode(), URL).document
    assert "Paragraph 4" in doc.text and "Video Quality" not in doc.text and "Captions will" not in doc.text
    assert [n.src.rsplit("/", 1)[-1] for n in doc.media] == ["clip.mp4", "lead.jpg"]


def test_ad_slot_labels_are_not_article_text():
    html = _article().replace("</p><p>Paragraph 3", "</p><div class='slot'><p>ADVERTISEMENT</p></div>"
                              "<p>Story continues below advertisement</p><p>Paragraph 3")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 3" in text and "advertisement" not in text.lower()


def test_real_recipe_page_keeps_no_ad_labels():
    page = shared_path("html", "recipe-scrapers", "tasteline.com__tasteline_1.html").read_bytes()
    lines = extract(page, "https://www.tasteline.com/recept").document.text.split("\n")
    assert "Ingredienser" in lines and "Annons" not in lines


def _link_cards(count: int) -> str:
    """Cards whose thumbnail link (no text of its own) and title line lead to the same story."""
    return "".join(f"<li class='stream-item'><div class='thumb'><a href='/2024/story-{i}.html'><img "
                   f"src='/thumbs/{i}.jpg' alt='Story {i} title'></a></div><div class='body'><div>World</div>"
                   f"<h3><a href='/2024/story-{i}.html'>Another headline worth a click, number {i}</a></h3>"
                   f"<p>A blurb of that other story, long enough to read as a sentence of prose, with commas, "
                   f"written the way a news stream sums up each of its stories.</p></div></li>" for i in range(count))


def test_link_card_thumbnails_are_teasers_beside_the_article():
    # The thumbnail's own link has no text, so it passed as an image linked from the prose: the card's
    # title line, linking to the same story, shows it is a card's thumbnail.
    html = _article().replace("</article>", f"<ul class='stream'>{_link_cards(3)}</ul></article>")
    classes = _image_classes(html)
    assert {classes[f"{i}.jpg"] for i in range(3)} == {"teaser"} and classes["lead.jpg"] == "content"
    default = extract(html.encode(), URL)
    assert [n.src.rsplit("/", 1)[-1] for n in default.document.media] == ["lead.jpg"]
    assert default.media_drops["image_teaser"] == 3
    # guards: a page that is the list of cards keeps their thumbnails; a linked image whose caption
    # names the link's target inside a sentence is the article's own
    front = f"<html><body><h1>Latest stories</h1><ul>{_link_cards(5)}</ul></body></html>"
    assert len(extract(front.encode(), URL).document.media) == 5
    captioned = ("<div class='thumb'><div class='image'><a href='/wiki/Elizabeth_II'><img src='/img/queen.jpg'></a>"
                 "</div><div class='caption'><a href='/wiki/Elizabeth_II'>Elizabeth II</a>, Queen of New Zealand,"
                 " at the opening of Parliament</div></div>")
    media = extract(_article().replace("<figure>", captioned + "<figure>").encode(), URL).document.media
    assert [n.src.rsplit("/", 1)[-1] for n in media] == ["queen.jpg", "lead.jpg"]


def test_real_page_stream_thumbnails_are_teasers():
    page = shared_path("html", "mozilla-readability", "yahoo-2.html").read_bytes()
    media = extract(page, "http://fakehost/test/", options=ExtractOptions(keep_all_images=True)).document.media
    stream = [n for n in media if "/api/res/1.2/" in n.src and n.alt.startswith(("Russia: Space", "Trump picks"))]
    assert len(stream) >= 2 and {n.image_class for n in stream} == {"teaser"}


def test_stand_in_images_named_as_such_are_not_content():
    # Lazy loaders and layouts put a transparent or one-pixel file where a picture goes; no size is declared.
    stand_ins = "".join(f"<p>Text beside a stand-in image, long enough to be a paragraph of the story here.<img src="
                        f"'/static/{name}'></p>" for name in ("transparent-1093278.png", "1px.gif", "blank-3.gif",
                                                              "spacer.gif", "placeholder.svg"))
    kept = "<img src='/img/chicken-1x1-1.jpg'><img src='/img/transparent_ice.jpg'>"
    html = _article().replace("</article>", f"{stand_ins}{kept}</article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "chicken-1x1-1.jpg", "transparent_ice.jpg"]
    assert {classes[name] for name in ("transparent-1093278.png", "1px.gif", "blank-3.gif")} == {"logo"}


def test_real_page_transparent_stand_ins_are_not_content():
    page = shared_path("html", "newspaper4k", "yahoo_main_site.html").read_bytes()
    media = extract(page, "https://www.yahoo.com/", options=ExtractOptions(keep_all_images=True)).document.media
    stand_ins = [n for n in media if "/transparent-" in n.src]
    assert len(stand_ins) >= 10 and {n.image_class for n in stand_ins} <= {"logo", "outside"}


def test_a_size_variant_of_a_shown_picture_is_a_copy():
    # A recipe card or a lightbox repeats the hero under another size's URL: a second copy, not a new image.
    shots = ("<img src='/wp-content/uploads/2025/03/stew-1024x683.jpg'><img src='/cdn/soup.jpg?w=800&q=80'>"
             "<img src='/img.php?id=1&w=300'><img src='/img.php?id=2&w=300'>"
             "<div class='recipe-card'><img src='/wp-content/uploads/2025/03/stew-300x300.jpg'>"
             "<img src='/cdn/soup.jpg?w=300'><img src='/cdn/soup.jpg?w=800&q=80'></div>")
    html = _article().replace("</article>", f"<p>The steps, as pictures, one after the other.</p>{shots}</article>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    classes = [(n.src.split("/")[-1], n.image_class) for n in result.document.media]
    assert classes == [("lead.jpg", "content"), ("stew-1024x683.jpg", "content"), ("soup.jpg?w=800&q=80", "content"),
                       ("img.php?id=1&w=300", "content"), ("img.php?id=2&w=300", "content"),
                       ("stew-300x300.jpg", "copy"), ("soup.jpg?w=300", "copy"),
                       ("soup.jpg?w=800&q=80", "content")]  # an exact repeat: the assembler's duplicate rule
    assert extract(html.encode(), URL).media_drops["image_copy"] == 2


def test_a_size_variant_behind_a_converters_second_extension_is_a_copy():
    # WordPress image converters serve `photo.jpg.webp`: the recipe card's `-380x520` crop of the hero sits
    # before the `.jpg`, not before the last extension.
    shots = ("<img src='/wp-content/uploads/2021/01/grinder_edited-1.jpg.webp'>"
             "<img src='/wp-content/uploads/2021/01/fries.png.webp'>"
             "<div class='recipe-card'><img src='/wp-content/uploads/2021/01/grinder_edited-1-380x520.jpg.webp'>"
             "<img src='/wp-content/uploads/2021/01/fries-scaled.png.webp'>"
             "<img src='/wp-content/uploads/2021/01/fries-2.png.webp'></div>")
    html = _article().replace("</article>", f"<p>The steps, as pictures, one after the other.</p>{shots}</article>")
    media = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True)).document.media
    assert [n.image_class for n in media] == ["content", "content", "content", "copy", "copy", "content"]


def test_real_pages_recipe_card_crops_of_converted_pictures_are_copies():
    for page, url, picture, crop in (
            ("savvysavingcouple.net__savvysavingcouple_1.html", "https://savvysavingcouple.net/r",
             "Chourico-and-Fries-Grinder_edited-1-1.jpg.webp", "Chourico-and-Fries-Grinder_edited-1-1-380x520.jpg.webp"),
            ("wedishitup.com__wedishitup_1.html", "https://wedishitup.com/r",
             "Copy-Cat-Nacho-Bell-2.jpg.webp", "Copy-Cat-Nacho-Bell-2-150x150.jpg.webp")):
        data = shared_path("html", "recipe-scrapers", page).read_bytes()
        classes = {n.src.rsplit("/", 1)[-1]: n.image_class
                   for n in extract(data, url, options=ExtractOptions(keep_all_images=True)).document.media}
        assert (classes[picture], classes[crop]) == ("content", "copy")


def test_a_picture_in_another_size_folder_is_a_copy_but_not_one_in_another_month():
    # A gallery's thumbnail strip serves each photo again from a folder that names its size.
    shots = ("<img src='/images/360-240/82a2/319875-original.jpg'><img src='/images/100-75/82a2/319875-original.jpg'>"
             "<img src='/i/800x600/dish.jpg'><img src='/i/150x150/dish.jpg'>"
             "<img src='/uploads/2019-01/step.jpg'><img src='/uploads/2019-02/step.jpg'>")
    html = _article().replace("</article>", f"<p>The steps, as pictures, one after the other.</p>{shots}</article>")
    media = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True)).document.media
    assert [n.image_class for n in media] == ["content", "content", "copy", "content", "copy", "content", "content"]


def test_share_buttons_and_avatar_folders_are_logos():
    # No size declared, no "icon" in the name: the file is named after a network, or sits in an avatar folder.
    names = ("/static/facebook.png", "/static/twitter-white-32.svg", "/img/fb_icon@2x.png", "/public/img/avatar/129.jpg",
             "/pbs/profile_images/5250/SqjK4CPu_normal.png", "/images/icons/tag_blue.gif")
    icons = "".join(f"<a href='https://elsewhere.test/share'><img src='{name}'></a>" for name in names)
    kept = "<img src='/uploads/pinterest-collage-red-lentil-dahl.jpg'><img src='/uploads/share_your_plate.jpg'>"
    html = _article().replace("</article>", f"<p>Share this story with friends, or print it, as you like.{icons}</p>"
                                            f"{kept}</article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "pinterest-collage-red-lentil-dahl.jpg", "share_your_plate.jpg"]
    assert {classes[name.rsplit("/", 1)[-1]] for name in names} == {"logo"}


def test_real_page_tweet_avatars_are_logos():
    page = shared_path("html", "mozilla-readability", "liberation-1.html").read_bytes()
    media = extract(page, "http://fakehost/test/page.html", options=ExtractOptions(keep_all_images=True)).document.media
    avatars = [n for n in media if "/profile_images/" in n.src]
    assert len(avatars) >= 4 and {n.image_class for n in avatars} == {"logo"}


def test_linked_thumbnails_whose_url_asks_for_a_small_size_are_teasers():
    # A gallery strip or a list of links: the markup declares no size, the URL asks the server for a thumbnail.
    strip = "".join(f"<li><a href='{href}'><img src='{src}'></a></li>" for href, src in (
        ("/gallery/2", "https://cdn.test/dims?thumbnail=130%2C87&image_uri=https%3A%2F%2Fx.test%2Fg2.jpg"),
        ("/wp-content/uploads/2024/05/g3.jpg", "/wp-content/uploads/2024/05/g3-150x150.jpg"),
        ("/gallery/4", "/cdn/g4.jpg?w=100&h=75"), ("/gallery/5", "/resize/120x80/g5.jpg")))
    kept = ("<p>More of the story, with a picture linking to its full size, here.<a href='/up/big.jpg'>"
            "<img src='/up/big-1024x683.jpg'></a></p><img src='/up/plain-150x150.jpg'>"
            "<a href='/wiki/File:City.jpg'><img src='/thumb/City.jpg/240px-City.jpg' width='120' height='80'></a>")
    html = _article().replace("</article>", f"{kept}<ul class='gallery'>{strip}</ul></article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "big-1024x683.jpg", "plain-150x150.jpg", "240px-City.jpg"]
    assert {kind for name, kind in classes.items() if name.startswith(("dims", "g3", "g4", "g5"))} <= \
        {"teaser", "outside"}


def test_real_page_gallery_thumbnail_strip_is_not_content():
    page = shared_path("html", "mozilla-readability", "engadget.html").read_bytes()
    media = extract(page, "http://fakehost/test/page.html", options=ExtractOptions(keep_all_images=True)).document.media
    thumbs = [n for n in media if "thumbnail=130" in n.src]
    assert len(thumbs) >= 8 and {n.image_class for n in thumbs} <= {"teaser", "outside"}


def test_images_in_a_sidebar_inside_the_article_are_not_content():
    # An <aside> in the article's container, too big for the boilerplate guards to remove (a live feed of
    # posts holding more text than the story): the selection keeps it, its images are still no article's.
    feed = "".join(f"<li><p>Post {i} of the live feed from our reporters, with a few words on what happened, "
                   f"and more.</p></li>" for i in range(12))
    aside = (f"<aside class='mod'><ul>{feed}</ul><img src='/media/tweet-photo.jpg'>"
             "<a href='/2024/other.html'><img src='/photo/other.jpg'></a></aside>")
    html = _article().replace("</article>", f"</article>{aside}").replace("<div class='page'>", "<div class='page'>"
                                                                          "<div class='main'>")
    classes = _image_classes(html)
    assert classes["lead.jpg"] == "content"
    assert classes["tweet-photo.jpg"] == "outside" and classes["other.jpg"] == "teaser"
    # An <aside> holding the article (an unclosed element lets the parser nest the page in it) is no sidebar.
    swallowed = _article().replace("<article class='post'>", "<aside class='share'><div><article class='post'>")
    media = extract(swallowed.encode(), URL, options=ExtractOptions(keep_all_images=True)).document.media
    assert [(n.src.rsplit("/", 1)[-1], n.image_class) for n in media] == [("lead.jpg", "content")]


def test_real_page_sidebar_images_are_not_content():
    page = shared_path("html", "mozilla-readability", "liberation-1.html").read_bytes()
    result = extract(page, "http://fakehost/test/page.html", options=ExtractOptions(keep_all_images=True))
    sidebar = [n for n in result.document.media if "/aside/" in n.dom_path]
    assert len(sidebar) >= 7 and "content" not in {n.image_class for n in sidebar}


def test_controls_and_theme_files_are_logos():
    # No size, no "icon" in the name: a file named after a control, or part of the site's theme or style sheets.
    names = ("/assets/ui/chevron.svg", "/605236bb/60908306c5938d99543d2b58_close.svg", "/images/common/basket_up.gif",
             "/im/search_btn2.gif", "/design/shoppingcart.gif", "/wp-content/themes/shop/images/blurry.jpg",
             "/_ui/responsive/theme-main/css/images/download.svg", "/templets/default/images/item21060313_s.jpg")
    icons = "".join(f"<a href='/x{i}'><img src='{name}'></a>" for i, name in enumerate(names))
    kept = ("<img src='/uploads/top-10-beaches.jpg'><img src='/uploads/close-up-of-bread.jpg'>"
            "<img src='/images/themed-party-table.jpg'><img src='/uploads/search-and-rescue-team.jpg'>"
            "<img src='/uploads/basket.jpg'>")
    html = _article().replace("</article>", f"<p>Controls beside the story, as the site shows them everywhere.{icons}"
                                            f"</p>{kept}</article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "top-10-beaches.jpg", "close-up-of-bread.jpg", "themed-party-table.jpg",
         "search-and-rescue-team.jpg", "basket.jpg"]
    assert {classes[name.rsplit("/", 1)[-1]] for name in names} == {"logo"}


@pytest.mark.parametrize(("page", "url", "part"), [
    ("bofrost.de__bofrost.html", "https://bofrost.de/recipe", "/css/images/"),
    ("madensverden.dk__madensverden.html", "https://madensverden.dk/recipe", "/themes/")])
def test_real_page_theme_files_are_not_content(page, url, part):
    data = shared_path("html", "recipe-scrapers", page).read_bytes()
    media = extract(data, url, options=ExtractOptions(keep_all_images=True)).document.media
    theme = [n for n in media if part in n.src]
    assert theme and "content" not in {n.image_class for n in theme}


def test_images_named_as_thumbnails_or_teasers_are_teasers():
    # A CMS names its crops: a linked thumbnail stands for a story elsewhere, a teaser crop is one linked or not.
    linked = "".join(f"<li><article><a href='/2024/story{i}.html'><img src='/images/{name}'></a></article></li>"
                     for i, name in enumerate(("19max-thumbLarge.jpg", "soup_thumb.jpg", "16694659-thumb_square_large.jpg")))
    kept = ("<p>The story goes on, beside its pictures, at some length here.<a href='/up/full.jpg'>"
            "<img src='/up/thumbelina-cast.jpg'></a></p><img src='/thumb/a/ab/City.jpg/540px-City.jpg'>"
            "<img src='/up/recipe_thumb.jpg'>")
    html = _article().replace("</article>", f"{kept}<img src='/dam/1406-the-world-left-tease.jpg'>"
                                            f"<ol class='latest'>{linked}</ol></article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "thumbelina-cast.jpg", "540px-City.jpg", "recipe_thumb.jpg"]
    assert classes["1406-the-world-left-tease.jpg"] == "teaser"
    assert {classes[name] for name in ("19max-thumbLarge.jpg", "soup_thumb.jpg", "16694659-thumb_square_large.jpg")} \
        <= {"teaser", "outside"}


def test_real_page_named_teaser_crops_are_not_content():
    page = shared_path("html", "newspaper4k", "cnn_main_site.html").read_bytes()
    media = extract(page, "https://example.test/cnn_main_site.html", options=ExtractOptions(keep_all_images=True)
                    ).document.media
    teases = [n for n in media if n.src.endswith(("-tease.jpg", "-tease.png"))]
    assert len(teases) >= 8 and "content" not in {n.image_class for n in teases}


def test_images_hot_linked_from_a_social_network_are_feed_tiles():
    # An Instagram feed widget under the story: its tiles are the network's posts, not the article's pictures.
    tiles = "".join(f"<div class='swiper-slide'><img src='https://scontent-sin6-{i}.cdninstagram.com/v/t51.29350-15/"
                    f"38639763{i}_n.jpg?stp=dst-jpg&_nc_cat=1'></div>" for i in range(4))
    html = _article().replace("</article>", f"<div class='insta-feed'>{tiles}</div><img src='/up/instagram-cake.jpg'>"
                                            f"</article>")
    result = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True))
    classes = [(n.src.split("/")[2], n.image_class) for n in result.document.media]
    assert classes[0] == ("news.test", "content") and classes[-1] == ("news.test", "content")
    assert {kind for host, kind in classes[1:-1]} == {"teaser"} and len(classes) == 6


def test_real_page_instagram_feed_is_not_content():
    page = shared_path("html", "recipe-scrapers", "eatwhattonight.com__eatwhattonight.html").read_bytes()
    media = extract(page, "https://eatwhattonight.com/recipe", options=ExtractOptions(keep_all_images=True)
                    ).document.media
    feed = [n for n in media if "cdninstagram.com/" in n.src]
    assert len(feed) >= 50 and {n.image_class for n in feed} == {"teaser"}


def test_small_screen_variants_of_a_picture_are_copies():
    # The same chart or photo laid out twice, one for each screen size: only the large-screen one is a new image.
    variants = ("<div class='g-artboard' data-min-width='600'><img src='/graphics/debt-chart-Artboard_2.png'></div>"
                "<div class='g-artboard' data-min-width='300' data-max-width='599'>"
                "<img src='/graphics/debt-chart-Artboard_3.png'></div>"
                "<figure><img class='d-none d-md-block' src='/up/hero-wide.jpg'>"
                "<img class='d-md-none' src='/up/hero-tall.jpg'></figure>"
                "<figure><img class='pagebuilder-mobile-only' src='/up/plate-mobile.jpg'></figure>")
    html = _article().replace("</article>", f"<p>The debt, as a chart, over the last fifty years.</p>{variants}"
                                            f"</article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "debt-chart-Artboard_2.png", "hero-wide.jpg"]
    assert {classes[name] for name in ("debt-chart-Artboard_3.png", "hero-tall.jpg", "plate-mobile.jpg")} == {"copy"}


def test_real_page_mobile_only_images_are_copies():
    page = shared_path("html", "recipe-scrapers", "woop.co.nz__woop.html").read_bytes()
    media = extract(page, "https://woop.co.nz/recipe", options=ExtractOptions(keep_all_images=True)).document.media
    shots = [(n.src.rsplit("/", 1)[-1], n.image_class) for n in media if "/wysiwyg/" in n.src]
    assert len(shots) == 8 and [kind for _, kind in shots] == ["content", "copy"] * 4


def test_stand_ins_for_a_missing_picture_are_not_content():
    names = ("project-nothumbnail.jpg", "no_image_available.png", "default-no-photo.gif")
    stand_ins = "".join(f"<li><img src='/assets/{name}' alt='Our lab'></li>" for name in names)
    kept = "<img src='/up/piano-images.jpg'><img src='/up/monophoto.jpg'><img src='/up/casino_image.jpg'>"
    html = _article().replace("</article>", f"<p>The projects of the lab, one by one, as listed.</p><ul>{stand_ins}"
                                            f"</ul>{kept}</article>")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead.jpg", "piano-images.jpg", "monophoto.jpg", "casino_image.jpg"]
    assert {classes[name] for name in names} == {"logo"}


def test_app_store_badges_are_logos():
    badges = ("<p>Cook along with our app, on every phone, wherever you are.<a href='https://apps.apple.com/de/app/x/id1'>"
              "<img src='/media/fd/7c/AppStore.svg'></a><a href='https://play.google.com/store/apps/details?id=x'>"
              "<img src='/media/c7/08/badge-de.png'></a><a href='https://www.apple.com/newsroom/'>"
              "<img src='/media/event-stage.jpg'></a></p>")
    html = _article().replace("</article>", f"{badges}</article>")
    classes = _image_classes(html)
    assert classes == {"AppStore.svg": "logo", "badge-de.png": "logo", "event-stage.jpg": "content", "lead.jpg": "content"}
def test_slide_counters_and_pagers_are_not_article_text():
    slides = "".join(f"<div class='gNav'><div style='display:none'><img src='/thumb{i}.jpg'></div><span>{i}</span></div>"
                     for i in range(1, 15))
    html = _article().replace("</article>", f"<div class='gallery'>{slides}</div></article>")
    nodes = [n.text for n in extract(html.encode(), URL).document.nodes if isinstance(n, TextNode)]
    assert nodes[0].startswith("Paragraph 0") and "The lead photo." in nodes
    assert not [text for text in nodes if text.isdigit()]
    # a recipe's step numbers stand before their steps; years count up but have four digits; two numbers are no run
    steps = "".join(f"<li><div>{i}</div><p>Step {i}: stir the pot and wait.</p></li>" for i in range(1, 5))
    years = "<table><tr><td>2021</td><td>2022</td><td>2023</td></tr><tr><td>5.1</td><td>6.2</td><td>7.3</td></tr></table>"
    html = _article().replace("</article>", f"<ol>{steps}</ol>{years}<div>1</div><div>2</div></article>")
    nodes = [n.text for n in extract(html.encode(), URL).document.nodes if isinstance(n, TextNode)]
    assert [text for text in nodes if text.isdigit()] == ["1", "2", "3", "4", "2021", "2022", "2023", "1", "2"]


def _comments(heading: str, count: int = 6) -> str:
    comments = "".join(f"<div class='flex mt-4'><div class='w-10/12'><p class='text-sm'>Reader {i} says: made it twice,"
                       f" the family loved it, thanks!</p><p class='text-xs'>0{i}/11/2020</p></div></div>"
                       for i in range(count))
    return f"<div class='mb-6'><div class='flex flex-col'><h5 class='text-3xl'>{heading}</h5></div>{comments}</div>"


def test_a_comment_section_named_only_by_its_heading_is_not_article_text():
    # utility-CSS class names say nothing: the heading names the section
    for heading in ("Comments", "12 Comments", "Comentários (6)", "Kommentare:"):
        html = _article().replace("</article>", f"{_comments(heading)}</article>")
        text = extract(html.encode(), URL).document.text
        assert "Paragraph 7" in text and "The lead photo." in text
        assert heading not in text and "Reader 3 says" not in text and "11/2020" not in text
    # the section ends at the next heading of its rank or higher
    after = "<h5>Tips</h5><p>Use day-old rice, which fries better, and a very hot pan for the best result.</p>"
    html = _article().replace("</article>", f"{_comments('Comments')[:-6]}{after}</div></article>")
    text = extract(html.encode(), URL).document.text
    assert "Reader 3 says" not in text and "Tips" in text and "day-old rice" in text
    # a heading that only starts with the word names no section; guard: a section holding most of the page stays
    html = _article().replace("</article>", f"{_comments('Comments on the recipe')}</article>")
    assert "Reader 3 says" in extract(html.encode(), URL).document.text
    page = f"<html><body><p>A short note.</p>{_comments('Comments', 30)}</body></html>"
    assert "Reader 29 says" in extract(page.encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "cybercook.com.br__cybercook.html").read_bytes()
    text = extract(page, "https://cybercook.com.br/receitas/strogonoff").document.text
    assert "Como Fazer" in text and "Comentários" not in text and "Obrigada pelo seu comentário" not in text


def test_a_user_review_or_question_feed_named_by_its_heading_is_not_article_text():
    # readers' reviews and questions under a recipe are a feed of posts, like comments
    for heading in ("Reviews", "Reviews (15)", "Questions & Replies", "Bewertungen", "Customer reviews"):
        html = _article().replace("</article>", f"{_comments(heading)}</article>")
        text = extract(html.encode(), URL).document.text
        assert "Paragraph 7" in text and heading not in text and "Reader 3 says" not in text
    # a heading that only starts with the word ("Reviews of the new phone") names no feed
    html = _article().replace("</article>", f"{_comments('Reviews of the new phone')}</article>")
    assert "Reader 3 says" in extract(html.encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "food.com__food.html").read_bytes()
    text = extract(page, "https://www.food.com/recipe/chicken-noodle-soup-454415").document.text
    assert "combine the broth, onion, carrots" in text and "1 split chicken breast" in text
    assert "We really enjoyed this soup" not in text and "Can you make this in a crockpot?" not in text


def test_a_members_activity_feed_and_a_disqus_thread_are_comment_sections():
    notes = "".join(f"<li class='activity-item'><p>Member {i} rated this recipe 5/5, two years ago</p><p>Made it "
                    f"for the family, added more mushrooms, everyone loved it and asked for more.</p></li>"
                    for i in range(6))
    for feed in (f"<div class='buddypress clearfix'><ul class='activity-list'>{notes}</ul></div>",
                 f"<div id='disqus_thread'><ul>{notes}</ul></div>"):
        text = extract(_article().replace("</article>", f"{feed}</article>").encode(), URL).document.text
        assert "Paragraph 7" in text and "Member 3 rated" not in text
    page = shared_path("html", "recipe-scrapers", "cookomix.com__cookomix.html").read_bytes()
    text = extract(page, "https://www.cookomix.com/recettes/risotto-champignons-et-courgettes-thermomix/").document.text
    assert "Le risotto est l’un des plats" in text and "a noté 5/5 cette recette" not in text


def test_a_label_repeated_per_slide_is_not_article_text():
    slides = "".join(f"<div class='t{i % 2}'>Weather threatens holiday plans</div>" for i in range(14))
    html = _article().replace("</article>", f"<div class='slides'>{slides}</div></article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "Weather threatens" not in text
    whole = extract(html.encode(), URL, options=ExtractOptions(drop_boilerplate=False)).document.text
    assert whole.count("Weather threatens") == 14  # --keep_boilerplate keeps the whole page
    # twice is no run; a column of table cells or list entries stays
    html = _article().replace("</article>", f"<div>{slides[:2 * len(slides) // 14]}</div></article>")
    assert extract(html.encode(), URL).document.text.count("Weather threatens") == 2
    cells = "<table>" + "".join("<tr><td>Yes</td></tr>" for _ in range(5)) + "</table>"
    entries = "<ul>" + "".join("<li>Same entry</li>" for _ in range(4)) + "</ul>"
    braces = "".join("<div class='line'>}</div>" for _ in range(3))
    html = _article().replace("</article>", f"{cells}{entries}{braces}</article>")
    text = extract(html.encode(), URL).document.text
    assert text.count("Yes") == 5 and text.count("Same entry") == 4 and text.count("}") == 3
    page = shared_path("html", "newspaper4k", "cnn_article.html").read_bytes()
    text = extract(page, "http://www.cnn.com/2013/11/27/travel/weather-thanksgiving/index.html").document.text
    assert "Weather threatens holiday plans" not in text and "he summed up a winter storm" in text


def test_a_hidden_block_holding_most_of_the_pages_prose_is_kept():
    # A script reveals the recipe card (`display: none` until then); the menus and footer hold more text than it.
    menu = "<ul class='site-menu'>" + "".join(f"<li><a href='/c{i}'>Category number {i}</a></li>" for i in range(60)) + "</ul>"
    card = "<div id='rk_design' style='display: none;'><h2>Sheet Pan Halibut</h2>" + "".join(
        f"<p>Step {i}: roast the potatoes, then add the fish, the beans, and the lemon, and bake again.</p>"
        for i in range(5)) + "</div>"
    footer = "<div class='bottom'>" + "".join(f"<p>Store {i} opening hours</p>" for i in range(40)) + "</div>"
    html = f"<html><body><a href='#main'>Skip to content</a>{menu}<main>{card}</main>{footer}</body></html>"
    text = extract(html.encode(), URL).document.text
    assert "Step 0: roast" in text and "Step 4: roast" in text and "Category number" not in text
    # a hidden block of chrome beside the visible prose still goes
    hidden = "<div style='display:none'><p>Sign in to save this recipe to your own box, for free.</p></div>"
    assert "Sign in" not in extract(_article(hidden).encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "sizzlefish.com__sizzlefish_1.html").read_bytes()
    text = extract(page, "https://sizzlefish.com/blogs/recipes/halibut").document.text
    assert "Minimum clean up with maximum flavor" in text and "Baby Yukon Gold Potatoes" in text


def test_a_contributors_bio_box_is_not_article_text():
    bio = ("<div class='recipe-contributor'><div class='recipe-contributor__bio'><p>I didn't start cooking until my"
           " early twenties, even though I come from a family of home cooks, and now I cook every week.</p></div></div>")
    html = _article().replace("</article>", f"{bio}</article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "start cooking" not in text
    # a word for a contributor alone names a list of them, not a bio box
    credits = "<ul class='contributors'><li>Ann Lee, photography</li><li>Bo Chen, recipe testing</li></ul>"
    assert "Bo Chen" in extract(_article().replace("</article>", f"{credits}</article>").encode(), URL).document.text
    page = shared_path("html", "recipe-scrapers", "food.com__food.html").read_bytes()
    text = extract(page, "https://www.food.com/recipe/chicken-noodle-soup").document.text
    assert "While chicken is cooling" in text and "I didn't start cooking" not in text


def _stream(count: int = 6) -> str:
    blurb = ("The council met late into the night, and the vote, which had been delayed twice, finally went ahead; "
             "residents who had waited for hours said they were relieved, though several promised to appeal. ") * 2
    return "<ul class='Mb(0) P(0)'>" + "".join(
        f"<li class='js-stream-content Pos(r)'><div class='C(#959595)'>News</div><div class='Fz(11px)'>Wire "
        f"service</div><h3><a href='/2024/other-{i}.html'>Another story number {i} from the wire</a></h3>"
        f"<p class='Fz(14px)'>{i}: {blurb}</p></li>" for i in range(count)) + "</ul>"


def test_a_teaser_stream_holding_more_prose_than_the_story_is_not_the_article():
    # Each card's blurb is long (no short-blurb card list): the stream outweighs the story it follows.
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose, "
                    f"since a story of a few paragraphs is still a story.</p>" for i in range(6))
    html = f"<html><body><div id='Main'><article class='story'>{story}</article>{_stream()}</div></body></html>"
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0 of the story" in text and "Paragraph 5" in text
    assert "residents who had waited" not in text and "Wire service" not in text
    # guard: a section front's content is its cards: a stream alone, or beside a story too short to be one
    front = f"<html><body><div id='Main'><h1>Latest news</h1>{_stream()}</div></body></html>"
    assert "5: The council met" in extract(front.encode(), URL).document.text
    short = f"<html><body><div id='Main'><p class='intro'>Our latest, in short.</p>{_stream()}</div></body></html>"
    assert "5: The council met" in extract(short.encode(), URL).document.text
    page = shared_path("html", "mozilla-readability", "yahoo-3.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "Vanessa Hicks" in text and "Alan Thicke" not in text and "Frito-Lay" not in text


def test_a_sidebar_outweighing_the_story_is_not_the_article():
    # A live-news sidebar holds more prose than the story: the tag's share guard keeps it, the story is no wider.
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(6))
    feed = "<aside id='sidebar' role='complementary'><ul class='live-flux'>" + "".join(
        f"<li class='live-item'><div class='live-item-content'><span>Update {i}.</span> Elsewhere today, a quake of "
        f"magnitude six shook the island, officials said, though no damage was reported so far.</div></li>"
        for i in range(10)) + "</ul></aside>"
    html = f"<html><body><div class='main-content'><article class='story'>{story}</article>{feed}</div></body></html>"
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0 of the story" in text and "Paragraph 5" in text and "Elsewhere today" not in text
    # guard: an aside that holds the story (the parser let it swallow the article) stays
    swallowed = f"<html><body><aside><p>Related</p><div class='story'>{story}</div>{feed}</aside></body></html>"
    assert "Paragraph 5" in extract(swallowed.encode(), URL).document.text
    page = shared_path("html", "mozilla-readability", "liberation-1.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "Un troisième Français" in text and "Au revoir." not in text


def test_an_id_made_from_a_sections_heading_names_no_boilerplate():
    # docutils and Markdown make a section's id from its heading: "Sharing ..." is the author's word
    def section(slug: str, title: str, body: str) -> str:
        return f"<div class='section' id='{slug}'><h2>{title}</h2><p>{body}, with enough words, commas, and " \
               f"sentences to read as prose, as a tutorial has.</p><p>{body}, once more, in other words.</p></div>"
    page = section("setting-up", "Setting up", "First set up the tools") + section(
        "sharing-with-a-single-developer", "Sharing with a single developer", "Keep your changesets in draft") + \
        section("example-1-amend-a-shared-changeset", "Example 1: Amend a shared changeset", "Amend it and push") + \
        section("example-2-amend-again", "Example 2: Amend again", "Amend it once more") + \
        section("conclusion", "Conclusion", "Mutable history is safe once you practise")
    text = extract(f"<html><body><div class='content'>{page}</div></body></html>".encode(), URL).document.text
    assert "Sharing with a single developer" in text and "Keep your changesets in draft" in text
    # a short id, or one that is not the heading's words, still names the block
    share = "<div id='share-this-story'><h2>Share this story</h2><p>Send it to a friend by email today.</p></div>"
    related = "<div id='related-posts-from-our-archive'><h3>From the archive</h3><p>Older stories we wrote.</p></div>"
    text = extract(_article(share + related).encode(), URL).document.text
    assert "Paragraph 7" in text and "Send it to a friend" not in text and "Older stories" not in text
    page = shared_path("html", "mozilla-readability", "mercurial.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "The key to shared mutable history is to keep your changesets in draft phase" in text


def test_the_lead_of_an_article_folded_behind_read_more_is_kept():
    # The story's first paragraphs, then the rest in a block folded until its "Read more" link is clicked.
    lead = "".join(f"<p>Lead paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                   for i in range(3))
    rest = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose, "
                   f"and some more words, so that the folded part weighs most.</p>" for i in range(8))
    folded = f"<div class='read-more'><div><a href='#more'>Read more</a></div><div class='read-more-content'>{rest}</div></div>"
    html = f"<html><body><nav><a href='/'>Home</a></nav><div class='story-body'><h1>The title</h1>{lead}{folded}" \
           f"</div><div class='promo'><a href='/subscribe'>Subscribe now</a></div></body></html>"
    text = extract(html.encode(), URL).document.text
    assert "Lead paragraph 0" in text and "Lead paragraph 2" in text and "Paragraph 7" in text
    assert "Subscribe now" not in text and "Home" not in text
    page = shared_path("html", "mozilla-readability", "herald-sun-1.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "A HIGH-powered federal government team has been doing the rounds" in text


def test_the_parts_of_an_article_split_into_separate_wrappers_are_kept():
    def paragraphs(word: str, count: int) -> str:
        return "".join(f"<p>The {word} part, paragraph {i}, with enough words, commas, and sentences to read as "
                       f"prose.</p>" for i in range(count))
    first = f"<div class='supplemental'><div class='story-body story-body-1'>{paragraphs('first', 3)}</div></div>"
    second = f"<div class='supplemental'><div class='story-body story-body-2'>{paragraphs('second', 9)}</div>" \
             "<div class='inline-media'><img src='/chart.png' width='600' height='400'></div></div>"
    figure = "<div class='media'><figure><img src='/big.jpg' width='1200' height='600'></figure></div>"
    side = "<div class='col-md-4'><p>Our columnist writes each week about money, markets, and the economy at large.</p>" \
           "<p>She lives in Leeds, with two cats, a dog, and far too many books about central banks.</p></div>"
    note = "<div class='story-body story-body-3'><p>Originally published elsewhere, and shared with permission.</p></div>"
    html = f"<html><body><div class='row'><article class='story'><h1>The title</h1>{first}{figure}{second}" \
           f"<div class='extra'>{note}</div></article>{side}</div></body></html>"
    text = extract(html.encode(), URL).document.text
    assert "The first part, paragraph 0" in text and "The second part, paragraph 8" in text
    # guard: a part holds a fifth of the prose at least (no one-line postscript); another class is no part
    assert "Originally published" not in text and "Our columnist" not in text
    page = shared_path("html", "mozilla-readability", "quanta-1.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "A little over half a century ago, chaos started spilling out of a famous experiment" in text


def test_text_for_screen_readers_only_is_not_article_text():
    labels = ("<h2 class='screen-reader-text'>Reader Interactions</h2><div class='sr-only'>Opens in a new window</div>"
              "<p class='visually-hidden'>Image caption</p>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{labels}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 7" in text
    assert not [w for w in ("Reader Interactions", "Opens in a new window", "Image caption") if w in text]
    # a widget: a block so named that holds the article stays
    story = "".join(f"<p>The {word} part of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for word in ("first", "second", "third", "last"))
    page = f"<html><body><div class='visually-hidden-until-loaded'>{story}</div></body></html>"
    assert "The last part of the story" in extract(page.encode(), URL).document.text


_BLANK_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def test_a_noscript_picture_replaces_the_placeholder_before_it():
    # The script that swaps the picture in never runs: the <noscript> copy is the only source. A
    # placeholder naming its picture in a lazy attribute keeps it, and its <noscript> copy goes.
    shots = (f"<p><img src='{_BLANK_GIF}' data-nimg='fill'><noscript><img src='/up/vision-pro.jpg'></noscript></p>"
             f"<p><span><img src='{_BLANK_GIF}'></span><!-- lazy --><noscript><img srcset='/up/headset-800.jpg 800w'>"
             f"</noscript></p><p><img src='{_BLANK_GIF}' data-src='/up/lazy.jpg'>"
             f"<noscript><img src='/up/lazy.jpg'></noscript></p>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{shots}<p>Paragraph 2")
    classes = _image_classes(html)
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["vision-pro.jpg", "headset-800.jpg", "lazy.jpg", "lead.jpg"]
    assert len(extract(html.encode(), URL).document.media) == 4  # no second lazy.jpg


def test_real_page_noscript_picture_is_content():
    page = shared_path("html", "mozilla-readability", "theverge.html").read_bytes()
    media = extract(page, "http://fakehost/test/page.html").document.media
    assert any("Apple_WWDC23_Vision_Pro_VisionOS_screen.png" in n.src for n in media)


def test_a_figure_naming_its_picture_in_an_attribute_gets_it():
    figure = ("<figure itemscope itemid='https://static.news.test/images/2019/02/12/flood-articleLarge.jpg?quality=90'>"
              "<figcaption>The flood, seen from the bridge.</figcaption></figure>"
              "<figure data-id='7' class='chart'><figcaption>No picture named here.</figcaption></figure>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{figure}<p>Paragraph 2")
    media = extract(html.encode(), URL).document.media
    assert [n.src.rsplit("/", 1)[-1] for n in media] == ["flood-articleLarge.jpg?quality=90", "lead.jpg"]
    assert media[0].caption == "The flood, seen from the bridge."


def test_real_page_figures_without_an_img_keep_their_pictures():
    page = shared_path("html", "mozilla-readability", "nytimes-3.html").read_bytes()
    media = extract(page, "http://fakehost/test/page.html").document.media
    assert len(media) == 7 and sum("-articleLarge.jpg?quality=90" in n.src for n in media) == 5  # 2 before


def test_a_figure_beside_the_story_body_is_content():
    # The lead figure is a sibling of the block holding the prose; so are a photo box between its
    # parts and an author box whose headshot is no picture of the article (its bio stays out too).
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(8))
    html = ("<html><body><article><figure class='canvas-image'><div><img src='/up/lead.jpg'></div>"
            "<figcaption>The headset, on a table.</figcaption></figure>"
            f"<div class='canvas-body'>{story}</div><div class='inline-photo'><img src='/up/second.jpg'>"
            "<span>Photographer / Agency</span></div><div class='media-box'><img src='/up/jm-headshot.jpg'>"
            "<p>Hey friend, I am the author of this blog!</p></div></article></body></html>")
    result = extract(html.encode(), URL)
    assert [n.src.rsplit("/", 1)[-1] for n in result.document.media] == ["lead.jpg", "second.jpg"]
    text = result.document.text
    assert "The headset, on a table." in text and "Photographer / Agency" in text and "Hey friend" not in text


@pytest.mark.parametrize(("page", "part"), [("yahoo-1", "589noY9BZNdmsUUQf6L1AQ"), ("wapo-2", "Nic6429750-1140"),
                                            ("herald-sun-1", "1227261885862")])
def test_real_page_lead_figures_are_content(page, part):
    data = shared_path("html", "mozilla-readability", f"{page}.html").read_bytes()
    assert any(part in n.src for n in extract(data, "http://fakehost/test/page.html").document.media)


def test_a_thumbnail_stretched_to_a_pictures_size_is_a_copy():
    # A blurred preview (the URL asks for 60 px, the markup declares 1144) beside the picture itself.
    shots = ("<figure><img src='https://cdn.blog.test/max/60/1*CANkRN.png?q=20' width='1144' height='708'>"
             "<img src='https://cdn.blog.test/max/2288/1*CANkRN.png' width='1144' height='708'>"
             "<img src='/up/cake-150x150.jpg' width='150' height='150'></figure>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{shots}<p>Paragraph 2")
    classes = _image_classes(html)
    assert classes == {"1*CANkRN.png?q=20": "copy", "1*CANkRN.png": "content", "cake-150x150.jpg": "content",
                       "lead.jpg": "content"}


def test_images_from_an_ad_servers_host_are_ads():
    shots = ("<p><img src='http://ad.news.test/content_banner/content_650x120_qrcodes.jpg'>"
             "<img src='https://ads2.cdn.test/creative/42.jpg'><img src='https://ad.nl/images/harbour.jpg'></p>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{shots}<p>Paragraph 2")
    classes = _image_classes(html)
    assert classes == {"content_650x120_qrcodes.jpg": "ad", "42.jpg": "ad", "harbour.jpg": "content",
                       "lead.jpg": "content"}


def test_a_gallery_embedded_in_an_article_is_not_the_article():
    # Fifty captioned slides of other stories outscore the story around them; a gallery page, with
    # no article around its captions, keeps them.
    slides = "".join(f"<li><h2>{i}/50 Slide title {i}</h2><p>Caption {i} of the slideshow, about another story, "
                     f"with words, commas, and a sentence or two, long enough to read as prose on its own.</p></li>"
                     for i in range(1, 51))
    gallery = f"<div class='widget-wrapper type-gallery'><div class='full-gallery'><ul class='legends'>{slides}</ul>" \
              f"</div></div>"
    story = "".join(f"<p>Paragraph {i} of the hotel story, with enough words, commas, and sentences to read as "
                    f"prose, and then some more words so that the story holds a few lines.</p>" for i in range(8))
    html = f"<html><body><article><div class='text-wrapper'>{story[:600]}{gallery}{story[600:]}</div></article>" \
           f"</body></html>"
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0 of the hotel story" in text and "Paragraph 7" in text and "Caption 3" not in text
    page = f"<html><body><article>{gallery}<p>A short intro.</p></article></body></html>"
    assert "Caption 49 of the slideshow" in extract(page.encode(), URL).document.text
    # a story in a wrapper named so, with a sidebar's prose beside it, is no embedded gallery
    sidebar = f"<div class='rail'><div class='box'>{story.replace('hotel story', 'sidebar note')}</div></div>"
    page = f"<html><body><div class='page'><div class='gallery-post'><div class='entry'>{story}</div></div>" \
           f"{sidebar}</div></body></html>"
    assert "Paragraph 7 of the hotel story" in extract(page.encode(), URL).document.text


def test_real_page_embedded_gallery_is_not_the_article():
    page = shared_path("html", "mozilla-readability", "bug-1255978.html").read_bytes()
    doc = extract(page, "http://fakehost/test/page.html").document
    assert "Take any blankets or duvets off the bed" in doc.text and "United goin down" not in doc.text
    assert sum("/styles/story_medium/" in n.src for n in doc.media) == 5


def test_a_mostly_linked_entry_of_a_plain_list_is_kept():
    # An ingredient whose name links to a product page is part of the list; a menu of links is not.
    entries = ["1 onion, chopped", "4 carrots, halved lengthwise", "1 1/2 teaspoons salt",
               "1 split <a href='/ingredient/chicken-breast'>chicken breast</a>", "1 cup noodles (about 2 ounces)"]
    ingredients = "<ul class='ingredients'>" + "".join(f"<li>{entry}</li>" for entry in entries) + "</ul>"
    menu = "<ul>" + "".join(f"<li><a href='/s{i}'>Section number {i}</a></li>" for i in range(6)) + "</ul>"
    html = _article().replace("</p><p>Paragraph 2", f"</p>{ingredients}{menu}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "1 split chicken breast" in text and "1 onion, chopped" in text and "Section number" not in text


def test_real_page_linked_ingredients_are_kept():
    page = shared_path("html", "recipe-scrapers", "food.com__food.html").read_bytes()
    text = extract(page, "https://food.com/recipe").document.text
    assert "8 cups low sodium chicken broth" in text and "1 split chicken breast" in text


def test_a_linked_cell_of_a_data_table_is_kept():
    # A list of films: each title links to its article, the year and synopsis are plain text.
    rows = "".join(f"<tr><th scope='row'><i><a href='/wiki/Film_{i}'>Film title number {i}</a></i></th><td>19{50 + i}"
                   f"</td><td>A synopsis of film {i}, where a day repeats until the hero gets it right.</td></tr>"
                   for i in range(5))
    table = f"<table class='wikitable'><tr><th>Film</th><th>Year</th><th>Description</th></tr>{rows}</table>"
    # a menu laid out in a table holds many links in a cell; a navbox's cells are all links
    layout = "<table><tr><td>" + "".join(f"<a href='/m{i}'>Menu entry {i}</a><br>" for i in range(6)) + \
             "</td><td>Plain cell one</td><td>Plain cell two</td><td>Plain cell three</td></tr></table>"
    navbox = "<table>" + "".join(f"<tr><td><a href='/n{i}'>Navbox link {i}</a></td></tr>" for i in range(6)) + "</table>"
    html = _article().replace("</p><p>Paragraph 2", f"</p>{table}{layout}{navbox}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Film title number 0" in text and "Film title number 4" in text and "A synopsis of film 4" in text
    assert "Menu entry" not in text and "Navbox link" not in text
    page = shared_path("html", "mozilla-readability", "wikipedia-4.html").read_bytes()
    text = extract(page, "http://fakehost/test/page.html").document.text
    assert "Repeat Performance" in text and "The Girl Who Leapt Through Time" in text


def test_datelines_and_player_clocks_are_not_article_text():
    lines = ("<p>posted on April 21, 2015, at 11:29 a.m.</p><div>Šodien, 17:40</div><span>Current Time 0:00</span>"
             "<p>2018/6/19 5:50</p><table><tr><td>10:00 Registration</td></tr></table>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{lines}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "10:00 Registration" in text  # a timetable's cell stays
    assert not [w for w in ("11:29", "17:40", "Current Time", "2018/6/19") if w in text]


def test_real_page_dateline_is_not_article_text():
    page = shared_path("html", "newspaper4k", "thai_article.html").read_bytes()
    text = extract(page, "https://example.test/thai_article.html").document.text
    assert "Submitted on Mon, 2019-01-21 13:49" not in text and len(text) > 1000


def test_the_headline_repeating_the_pages_title_is_not_article_text():
    prose = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(4))
    html = (f"<html><head><title>Storm Closes the Harbour | Daily News</title></head><body><article>"
            f"<h1>Storm Closes the Harbour</h1>{prose}<h2>Why the storm closes the harbour</h2>{prose}"
            f"</article></body></html>")
    doc = extract(html.encode(), URL).document
    assert doc.title == "Storm Closes the Harbour | Daily News"  # the document keeps it as its title
    lines = doc.text.split("\n")
    assert "Storm Closes the Harbour" not in lines and "Paragraph 0 of the story" in doc.text
    assert "Why the storm closes the harbour" in lines  # after the prose: a section heading, kept
    other = html.replace("<h1>Storm Closes the Harbour</h1>", "<h1>Another Headline Entirely</h1>")
    assert "Another Headline Entirely" in extract(other.encode(), URL).document.text.split("\n")
    short = "<html><head><title>Opening hours</title></head><body><h1>Opening hours</h1><p>Mon-Fri 9-5</p></body></html>"
    assert "Opening hours" in extract(short.encode(), URL).document.text  # no prose: the headline stays
    # a section's heading whose words the title names, but a small part of them: no headline
    long_title = ("<title>Chocolate cake recipe: easy baking with cocoa, butter, eggs, ingredients and instructions"
                  "</title>")
    recipe = (f"<html><head>{long_title}</head><body><h2>Ingredients</h2><ul><li>200 g flour</li><li>3 eggs</li></ul>"
              f"{prose}</body></html>")
    assert "Ingredients" in extract(recipe.encode(), URL).document.text.split("\n")


@pytest.mark.parametrize("folder, page, headline", [
    ("mozilla-readability", "breitbart", "'Neutral' Snopes Fact-Checker David Emery"),
    ("newspaper4k", "latvian_article", "Norvēģijā pēc zemes nogruvuma pieci bojāgājušie"),
    ("newspaper4k", "japanese_article2", "動画：ナイジェリアで少女らによる自爆攻撃"),
])
def test_real_page_headline_is_not_article_text(folder, page, headline):
    data = shared_path("html", folder, f"{page}.html").read_bytes()
    doc = extract(data, "http://fakehost/test/page.html").document
    assert headline in doc.title and len(doc.text) > 500
    assert not [line for line in doc.text.split("\n") if line.startswith(headline)]


def test_author_label_lines_are_not_article_text():
    lines = ("<p>Author: Jane Doe</p><div>Autori: Anna Ūdre (LTV Ziņu dienesta redaktore)</div><p>By: Modern Honey</p>"
             "<p>By Jonathan Corbet</p><table><tr><td>Author: Jane Austen</td></tr></table>"
             "<p>Author: this line is a sentence of the story that starts with a label but runs on for far longer "
             "than any byline, so it stays.</p>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{lines}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 7" in text
    assert not [w for w in ("Jane Doe", "Anna Ūdre", "Modern Honey") if w in text]
    assert "By Jonathan Corbet" in text and "Author: Jane Austen" in text and "runs on for far longer" in text


@pytest.mark.parametrize("folder, page, line", [
    ("newspaper4k", "latvian_article.html", "Autori: Anna Ūdre"),
    ("recipe-scrapers", "chefjackovens.com__chefjackovens_1.html", "Author: Chef Jack Ovens"),
])
def test_real_page_author_line_is_not_article_text(folder, page, line):
    text = extract(shared_path("html", folder, page).read_bytes(), "https://example.test/page.html").document.text
    assert line not in text and len(text) > 1000


def test_sign_up_boxes_named_by_a_run_together_word_are_not_article_text():
    boxes = ("<div class='weeklynewsletter'><p>Join my newsletter!</p><p>Weekly recipes and inspirations.</p></div>"
             "<div id='footersignup'>Get our best stories by e-mail</div><div class='emailsubscribe'>Never miss a post</div>")
    html = _article().replace("</p><p>Paragraph 2", f"</p>{boxes}<p>Paragraph 2")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 1" in text and "Paragraph 7" in text
    assert not [w for w in ("Join my newsletter", "Weekly recipes", "best stories", "Never miss") if w in text]
    # a block so named that holds the article stays (the share guard of names)
    story = "".join(f"<p>The {word} part of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for word in ("first", "second", "third", "last"))
    page = f"<html><body><div class='weeklynewsletter'>{story}</div></body></html>"
    assert "The last part of the story" in extract(page.encode(), URL).document.text


def test_real_page_weekly_newsletter_box_is_not_article_text():
    page = shared_path("html", "recipe-scrapers", "101cookbooks.com__onehundredonecookbooks_1.html").read_bytes()
    text = extract(page, "https://101cookbooks.com/recipe").document.text
    assert "Join my newsletter" not in text and "Weekly recipes and inspirations" not in text and len(text) > 1000


def test_a_huge_title_over_thousands_of_headings_costs_no_quadratic_time():
    title = " ".join(f"word{i}" for i in range(150_000))
    heads = "".join(f"<h1>word{i} word{i + 1}</h1>" for i in range(20_000))
    prose = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(40))
    html = f"<html><head><title>{title}</title></head><body>{heads}{prose}</body></html>"
    # each heading is looked up word by word in the title's words, never the title walked per heading
    doc = extract(html.encode(), URL, options=ExtractOptions(time_limit_s=1.5)).document  # ~0.3 s of CPU
    assert "Paragraph 39" in doc.text


def test_hidden_pinterest_images_are_copies_but_a_hidden_picture_alone_is_not():
    # Social Pug, Tasty Pins and a theme's own hidden "Pin it" images: the post's pictures again, never shown
    pins = ("<div class='dpsp-post-pinterest-image-hidden' style='display: none;'>"
            "<img src='/up/stew-pin-1.jpg' width='600' height='1800'></div>"
            "<div class='tasty-pins-hidden-image-container'><img class='tasty-pins-hidden-image' src='/up/stew-pin-2.jpg'>"
            "</div><img class='scriptless__pinterest-image' style='display:none;' src='/up/stew-collage.jpg'>")
    # a hidden image alone (the copy of a CSS background hero), a shown one named for Pinterest, and a
    # hidden class naming a pinch: pictures
    others = ("<img style='display: none;' src='/up/hero.jpg' alt='A bowl of stew'>"
              "<img class='pinterest-image' src='/up/stew-bowl.jpg'><img class='hidden-pinch' src='/up/stew-pot.jpg'>")
    html = _article().replace("</article>", f"<p>The steps, as pictures, one after the other.</p>{pins}{others}"
                                            f"</article>")
    media = extract(html.encode(), URL, options=ExtractOptions(keep_all_images=True)).document.media
    classes = [(n.src.rsplit("/", 1)[-1], n.image_class) for n in media][1:]
    assert classes[1:] == [("stew-pin-2.jpg", "copy"), ("stew-collage.jpg", "copy"), ("hero.jpg", "content"),
                           ("stew-bowl.jpg", "content"), ("stew-pot.jpg", "content")]
    assert classes[0][1] in ("copy", "outside")  # a block hidden by its style is no content either way


def test_real_pages_hidden_pinterest_images_are_copies():
    # elavegan shows its collage in the post too: that one is content
    for page, url, classes in (("elavegan.com__elavegan_1.html", "https://elavegan.com/r", ["content", "copy"]),
                               ("platingpixels.com__platingpixels_1.html", "https://platingpixels.com/r",
                                ["copy", "copy"])):
        data = shared_path("html", "recipe-scrapers", page).read_bytes()
        media = extract(data, url, options=ExtractOptions(keep_all_images=True)).document.media
        assert [n.image_class for n in media if "pin-image" in n.src or "Pinterest-Collage" in n.src] == classes


def test_site_notices_in_the_story_block_are_not_article_text():
    notices = ("<p>© 2023 Example Foods. All Rights Reserved</p>"
               "<div class='desc'><strong>Found a typo?</strong><p>Select the text and press Ctrl+Enter to send it "
               "to the editors!</p><p>Select the text and tap the report button.</p></div>"
               "<div>Follow us at:<br>Facebook https://fb.me/example<br>Twitter https://twitter.com/example</div>"
               "<p>This site uses Akismet to reduce spam. Learn how your comment data is processed.</p>"
               "<p>Already a subscriber? Log in to keep reading.</p>"
               "<p>Hungry for more? Subscribe to my newsletter and follow me on Instagram!</p>")
    more = "".join(f"<p>More of the story, part {i}, told in words, commas, and sentences, as prose is.</p>"
                   for i in range(20))
    html = _article().replace("</article>", f"{more}{notices}</article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 0" in text and "part 19" in text and "The lead photo." in text
    gone = ("All Rights Reserved", "Found a typo?", "Ctrl+Enter", "report button", "Follow us", "fb.me",
            "twitter.com", "Akismet", "Already a subscriber", "Hungry for more")
    assert not [phrase for phrase in gone if phrase in text]
    # a paragraph of prose that mentions a newsletter is no notice
    prose = "<p>" + "We decided, after a year of trying, to subscribe to the city's newsletter by email, and it helped. " * 4
    assert "subscribe to the city's newsletter" in extract(_article(prose + "</p>").encode(), URL).document.text
    # guard: a page that is mostly such lines (a newsletter's own sign-up page) keeps them
    short = "<p>Short story line, with a comma, that reads as prose.</p>" * 2
    html = f"<html><body><article>{short}<p>Sign up for our newsletter by email, and follow us on Facebook.</p>" \
           f"</article></body></html>"
    assert "Sign up for our newsletter" in extract(html.encode(), URL).document.text


@pytest.mark.parametrize("name,kept,gone", [
    ("latvian_article.html", "Norvēģijas glābšanas komanda", ("Ctrl+Enter", "Kļūda rakstā?", "Ziņot par kļūdu")),
    ("thai_article.html", "ผู้สื่อข่าวได้รับแจ้ง", ("ร่วมสนับสนุนเรา", "PromptPay", "https://fb.me/prachatai")),
    ("japanese_article.html", "米朝首脳会談", ("会員限定", "会員の方はこちら")),
    ("arabic_article.html", "CNN", ("إرشادات الاستخدام", "لا تعبر عن رأي")),
])
def test_real_news_pages_drop_typo_report_donation_paywall_and_comment_policy_notices(name, kept, gone):
    text = extract(shared_path("html", "newspaper4k", name).read_bytes(), URL).document.text
    assert kept in text
    assert not [phrase for phrase in gone if phrase in text]


def test_photo_credit_lines_are_not_article_text_but_captions_are():
    figure = ("<figure><img src='/img/river.jpg' width='800' height='500'><figcaption><p>The river at dawn, "
              "seen from the old bridge.</p><p>Photo: Jane Doe / Agency</p></figcaption></figure>"
              "<div><p>Image copyright Getty Images</p><p>Фото: Иван Петров</p></div>")
    html = _article().replace("</article>", f"{figure}</article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "The river at dawn, seen from the old bridge." in text
    assert not [w for w in ("Jane Doe", "Getty Images", "Иван Петров") if w in text]
    for name, kept, gone in (("latvian_article.html", "Zemes nogruvums Askā", "Foto: REUTERS, NTB"),
                             ("burmese_article.html", "Image caption", "ဓာတ်ပုံ မူပိုင်")):
        text = extract(shared_path("html", "newspaper4k", name).read_bytes(), URL).document.text
        assert kept in text and gone not in text


# One line of each kind of `notices.py` (each alternative of its patterns), in its languages.
NOTICES = (
    "© 2023 General Mills All Rights Reserved", "© Verlag. Alle Rechte vorbehalten.", "Tous droits réservés ©",
    "Copyright 2024 Todos los derechos reservados", "© Tutti i diritti riservati",
    "© Todos os direitos reservados", "© Alle rechten voorbehouden", "© Wszelkie prawa zastrzeżone",
    "© Všechna práva vyhrazena", "© Minden jog fenntartva", "© Alla rättigheter förbehållna",
    "© Kaikki oikeudet pidätetään", "© Visas tiesības aizsargātas", "© Visos teisės saugomos",
    "© Tüm hakları saklıdır", "© Все права защищены", "© Всі права захищені", "© جميع الحقوق محفوظة",
    "© כל הזכויות שמורות", "© สงวนลิขสิทธิ์", "版权所有©上海", "版權所有", "Copyright © 日本経済新聞社 無断転載を禁じます",
    "ⓒ 연합뉴스 무단 전재 및 재배포 금지", "This site uses Akismet to reduce spam.",
    "Your email address will not be published. Required fields are marked *", "Please read our comment policy",
    "Comments are moderated", "The views expressed in the comments are the readers' own",
    "Bitte beachten Sie unsere Kommentarrichtlinien", "Netiquette", "Règles de modération",
    "Normas de participación", "الآراء الواردة أدناه لا تعبر عن رأي الموقع", "ننصحك بمراجعة إرشادات الاستخدام",
    "Нашли ошибку? Выделите ее и нажмите Ctrl + Enter", "Already a subscriber? Log in",
    "Subscribe to continue reading", "This story is for subscribers only", "A subscriber-exclusive story",
    "Sie sind bereits Abonnent?", "Nur für Abonnenten", "Déjà abonné ?", "Cet article est réservé aux abonnés",
    "¿Ya eres suscriptor?", "Contenido exclusivo para suscriptores", "この記事は会員限定です", "有料会員の方は",
    "電子版に登録すると続きをお読みいただけます", "付费阅读", "订阅后阅读全文", "Follow us on Facebook",
    "Love it? Pinterest is where you can follow me", "Follow us:",
    "Subscribe to my email newsletter", "Sign up for our newsletter", "Join our mailing list", "Please donate",
    "Make a donation", "Support our journalism", "Iscriviti alla nostra newsletter",
    "Iscrivendoti alla newsletter riceverai", "Abonnez-vous", "Inscrivez-vous à notre newsletter",
    "Just enter your email below and we will send this recipe", "Entrez votre adresse e-mail",
    "Gib deine E-Mail-Adresse ein", "Introduce tu correo", "Inserisci la tua email", "Suscríbete",
    "Newsletter abonnieren", "Folgen Sie uns", "Jetzt spenden", "Faire un don",
    "Haz una donación", "Dona ora", "Abonneer je op de nieuwsbrief", "Подпишитесь на наш канал",
    "Поддержите нас", "ร่วมสนับสนุนเรา", "ติดตามเราได้ที่:",
)


def test_every_kind_of_notice_is_found_and_prose_is_not():
    prose = ["The council met on Tuesday, and the vote was close.", "Stir the flour into the butter."]
    lines = [line for pair in zip(NOTICES, prose * len(NOTICES)) for line in pair]
    assert notice_lines(lines) == list(range(0, len(lines), 2))


def test_lines_that_are_only_a_buttons_label_are_not_article_text():
    buttons = "<p><span>Print this Recipe</span></p><div><span>Partager :</span></div><ul><li>Save</li><li>Pin</li></ul>"
    html = _article().replace("<article class='post'>", f"<article class='post'>{buttons}")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text
    assert not [w for w in ("Print this Recipe", "Partager", "Save", "Pin") if w in text.split("\n")]
    # a label inside a sentence, or a domain named like one, stays
    html = _article("<p>Print the recipe card and save it.</p><ul><li>.email</li><li>.print</li></ul>")
    text = extract(html.encode(), URL).document.text
    assert "Print the recipe card and save it." in text
    page = shared_path("html", "recipe-scrapers", "paleorunningmomma.com__paleorunningmomma.html").read_bytes()
    assert "Print this Recipe" not in extract(page, "https://paleorunningmomma.com/recipe").document.text


def test_a_label_over_a_dropped_list_of_other_articles_goes_with_it():
    links = "<ul>" + "".join(f"<li><a href='/2024/other{i}.html'>Other story number {i}</a></li>" for i in range(6))
    html = _article().replace("</article>", f"<p><strong>Related stories</strong></p>{links}</ul></article>")
    text = extract(html.encode(), URL).document.text
    assert "Paragraph 7" in text and "Related stories" not in text and "Other story" not in text
    # over kept text, the same words are the article's
    html = _article().replace("</article>", "<p><strong>See also</strong></p><p>The council's report, published "
                                            "on Monday, and the minutes of the meeting, read as prose.</p></article>")
    assert "See also" in extract(html.encode(), URL).document.text
