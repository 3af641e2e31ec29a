"""Image classes the extractor gives on inline pages and on the real pages of ../shared/data/html:
which names make a logo, icon or avatar, which make a promotion, and which words only look so."""

from __future__ import annotations

from m3w_builder.document import ImageNode
from m3w_builder.extract import ExtractOptions, extract
from tests.conftest import shared_path

URL = "https://news.test/2024/story.html"
ALL = ExtractOptions(keep_all_images=True)


def _article(images: str) -> str:
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(8))
    return f"<html><body><article class='post'>{story}<p>The pictures of the story, one by one.</p>{images}" \
           f"</article></body></html>"


def _classes(html: str) -> dict[str, str]:
    """Each image's file name and class, every image kept."""
    return {n.src.rsplit("/", 1)[-1]: n.image_class for n in extract(html.encode(), URL, options=ALL).document.media}


def _media(dataset: str, page: str, url: str) -> list[ImageNode]:
    data = shared_path("html", dataset, page).read_bytes()
    return [n for n in extract(data, url, options=ALL).document.media if isinstance(n, ImageNode)]


def test_logo_words_inside_other_words_name_no_logo():
    # `icon` in silicon, `rating` in decorating, a lazy loader's state class, Angular's `ng-star-inserted`
    # on every element it inserts: pictures all.
    pictures = ("<img src='/up/silicon-valley-campus.jpg'><img src='/up/decorating-the-cake.jpg'>"
                "<img src='/up/accelerating-science.svg'><img src='/up/justices.jpg' class='image__img--loading'>"
                "<img src='/up/court.jpg' class='ImageLoader is-loading'><img src='/up/placki.png' class='ng-star-inserted'>"
                "<img src='/up/pizza-star-tavern.jpg'><img src='/up/iconic-skyline.jpg'><img src='/up/honey-badger.jpg'>")
    # Still logos: an icon's class, a rating widget, a spinner's file, rating stars, one-letter spacer GIFs.
    logos = ("<img src='/up/search.png' class='nav-icon'><img src='/up/s1.png' class='star-rating'>"
             "<img src='/up/snake-loader.gif'><img src='/up/star-half.png'><img src='/up/stars_on.gif'>"
             "<img src='/up/t.gif'><img src='/flaggen/.gif'>")
    classes = _classes(_article(pictures + logos))
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["silicon-valley-campus.jpg", "decorating-the-cake.jpg", "accelerating-science.svg", "justices.jpg",
         "court.jpg", "placki.png", "pizza-star-tavern.jpg", "iconic-skyline.jpg", "honey-badger.jpg"]
    assert {kind for name, kind in classes.items() if name not in
            ("silicon-valley-campus.jpg", "decorating-the-cake.jpg", "accelerating-science.svg", "justices.jpg",
             "court.jpg", "placki.png", "pizza-star-tavern.jpg", "iconic-skyline.jpg", "honey-badger.jpg")} \
        == {"logo"}
    assert len(classes) == 16


def test_real_pages_keep_pictures_whose_names_only_look_like_logos():
    # readability keeps the Silicon Valley picture of nytimes-5; CNN marks its pictures `--loading` until
    # a script runs; a recipe's step collage is named `decorating-...`.
    times = _media("mozilla-readability", "nytimes-5.html", "http://fakehost/test/page.html")
    assert {n.image_class for n in times if "siliconvalley1-videoLarge" in n.src} == {"content"}
    cnn = _media("newspaper4k", "cnn_002.html", "https://example.test/cnn_002.html")
    assert {n.image_class for n in cnn if "09-trump-court-civil-fraud" in n.src and "w_850" in n.src} == {"content"}
    assert "logo" not in {n.image_class for n in cnn if "/stellar/prod/" in n.src}
    blog = _media("recipe-scrapers", "blogghetti.com__blogghetti_1.html", "https://blogghetti.com/recipe")
    assert {n.image_class for n in blog if "decorating-the-bug-body" in n.src} == {"content"}
    polish = _media("recipe-scrapers", "przepisy.pl__przepisy.html", "https://przepisy.pl/przepis")
    photos = [n for n in polish if "/prod/uploads/15880" in n.src]  # the readers' photos of the dish
    assert len(photos) == 7 and "logo" not in {n.image_class for n in photos}


def test_banners_icon_files_printers_shared_chrome_and_author_avatars_are_not_content():
    promos = ("<a href='https://shop.test/book'><img src='/up/cookbook-banner-5.png' width='780' height='360'></a>"
              "<img src='/cms/SEO-Recipe-Banner-Square-300x250.gif' width='300' height='250'>")
    icons = ("<img src='/images/ico_chef_sm.png'><img src='/img/ico-twitter.png'><img src='/Images/printer.png'>"
             "<img src='/images/common/brand_dot.gif'><img src='/im_e/areatemplate/images/login_top.gif'>")
    avatars = ("<img src='/up/author-1x1-1.jpg'><img src='/up/k.jpg' class='byline__author'>"
               "<img src='/up/p.jpg?width=96&height=96' alt='Profilbild von pommesherz'>")
    pictures = ("<img src='/files/field_banner_image/lead-hero.jpg'><img src='/up/mexico-city.jpg'>"
                "<img src='/common/uploads/2024/market.jpg'><img src='/up/authorized-dealer.jpg'>"
                "<img src='/graphics/author/addison-425.jpg' alt='Photograph of the author.'>")
    classes = _classes(_article(promos + icons + avatars + pictures))
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["lead-hero.jpg", "mexico-city.jpg", "market.jpg", "authorized-dealer.jpg", "addison-425.jpg"]
    assert classes["cookbook-banner-5.png"] == classes["SEO-Recipe-Banner-Square-300x250.gif"] == "ad"
    assert {classes[name] for name in ("ico_chef_sm.png", "ico-twitter.png", "printer.png", "brand_dot.gif",
                                       "login_top.gif", "author-1x1-1.jpg", "k.jpg", "p.jpg?width=96&height=96")} \
        == {"logo"}


def test_real_pages_keep_no_banners_icon_files_shared_chrome_or_author_avatars():
    fresh = _media("recipe-scrapers", "hellofresh.com__hellofresh.html", "https://hellofresh.com/recipe")
    banners = [n for n in fresh if "Recipe-Banner" in n.src]  # 970x90, 728x90, 320x50 and the 300x250 square
    assert len(banners) == 4 and {n.image_class for n in banners} == {"ad"}
    preppy = _media("recipe-scrapers", "preppykitchen.com__preppykitchen_1.html", "https://preppykitchen.com/r")
    assert {n.image_class for n in preppy if "cookbook-banner" in n.src} == {"ad"}
    nih = _media("recipe-scrapers", "healthyeating.nhlbi.nih.gov__nihhealthyeating_3.html", "https://nih.test/r")
    assert {n.image_class for n in nih if n.src.endswith(("printer.png", "ico_chef_sm.png"))} == {"logo"}
    assert any(n.image_class == "content" and "Fruit_Skewers" in n.src for n in nih)
    chrome = _media("warc-extracted", "warcfile__013.html", "http://www.jxtdw.com/")
    assert len([n for n in chrome if "/areatemplate/" in n.src]) >= 20
    assert "content" not in {n.image_class for n in chrome if "/areatemplate/" in n.src}
    shop = _media("warc-extracted", "clueweb-quirk__011.html", "http://www.uraharajuku.st/")
    assert "content" not in {n.image_class for n in shop if "/images/common/" in n.src}
    cozy = _media("recipe-scrapers", "acozykitchen.com__acozykitchen_1.html", "https://acozykitchen.com/r")
    assert {n.image_class for n in cozy if "author-1x1" in n.src} == {"logo"}
    rice = _media("recipe-scrapers", "reishunger.de__reishunger_1.html", "https://reishunger.de/r")
    assert {n.image_class for n in rice if n.alt.startswith("Profilbild")} == {"logo"}


def test_an_image_whose_only_source_is_an_unknown_lazy_attribute_keeps_it():
    blank = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw=="
    images = (f"<img src='{blank}' nitro-lazy-src='/up/tuna-rub.jpg'>"
              "<img data-splide-lazy='/files/styles/large/ovenschotel.JPG_16.jpg?itok=M8vu'>"
              f"<img src='{blank}' data-img-url='/up/pancakes-scaled.jpg?resize=800%2C600'>"
              "<img data-source-standard='/up/race-300x200.jpg'>"
              "<img nitro-lazy-srcset='/up/ribs-360.jpg 360w, /up/ribs-1200.jpg 1200w'>"
              # named as a source but holding a page, a caption or nothing fetchable: no image
              "<img data-pin-url='https://news.test/2024/story.html' alt='photo.jpg' data-lazy-caption='a b.jpg'>")
    result = extract(_article(images).encode(), URL, options=ALL)
    assert [n.src.rsplit("/", 1)[-1] for n in result.document.media] == \
        ["tuna-rub.jpg", "ovenschotel.JPG_16.jpg?itok=M8vu", "pancakes-scaled.jpg?resize=800%2C600",
         "race-300x200.jpg", "ribs-1200.jpg"]
    assert {n.image_class for n in result.document.media} == {"content"}
    assert result.media_drops["image_no_src"] == 1


def test_real_page_lazy_loaded_by_an_unlisted_loader_keeps_its_pictures():
    # NitroPack's `nitro-lazy-src` behind a `data:` blank: the recipe's pictures were all lost.
    spice = _media("recipe-scrapers", "thespicetrain.com__thespicetrain_1.html", "https://thespicetrain.com/r")
    content = [n.src for n in spice if n.image_class == "content"]
    assert any("ahi-tuna-rub-252.jpg" in src for src in content)
    assert any("tuna-steak-seasonings-252.jpg" in src for src in content)


def test_newsletter_sign_up_pictures_are_promotions():
    images = ("<img src='/up/newsletter_recipe.jpg' width='500' height='277'><img src='/img/subscribe.png'>"
              "<img src='/up/newsletter-signup-bg.jpg'><img src='/up/letters-from-home.jpg'>")
    classes = _classes(_article(images))
    assert classes == {"newsletter_recipe.jpg": "ad", "subscribe.png": "ad", "newsletter-signup-bg.jpg": "ad",
                       "letters-from-home.jpg": "content"}
    pasta = _media("recipe-scrapers", "pastificiosorrentino.com__pastificiosorrentino.html", "https://ps.test/r")
    assert {n.image_class for n in pasta if "newsletter" in n.src} == {"ad"}
    assert sum(n.image_class == "content" for n in pasta) >= 6


def test_bare_images_linking_to_a_shops_product_pages_are_product_cards():
    cards = ("<a href='https://shop.pasta.test/products/sac-a-poche'><img src='/up/sac-a-poche-300x300.jpg'></a>"
             "<a href='/produkt/386/bio-basmati-reis'><img src='/up/basmati-shop.png'></a>"
             "<a href='/shopbrand/001/017/'><img src='/up/blockcheck.jpg'></a>")
    kept = ("<a href='/2024/another-story.html'><img src='/up/harbour.jpg'></a>"
            "<a href='/up/full/plate.jpg'><img src='/up/plate.jpg'></a>")
    classes = _classes(_article(cards + kept))
    assert classes == {"sac-a-poche-300x300.jpg": "teaser", "basmati-shop.png": "teaser", "blockcheck.jpg": "teaser",
                       "harbour.jpg": "content", "plate.jpg": "content"}
    rice = _media("recipe-scrapers", "reishunger.de__reishunger_1.html", "https://reishunger.de/r")
    products = [n for n in rice if "width=744" in n.src]
    assert len(products) >= 8 and "content" not in {n.image_class for n in products}
    assert any(n.image_class == "content" and "crispy-tofu-bowl" in n.src for n in rice)


def test_a_product_pages_own_picture_linking_to_itself_is_no_card():
    html = _article("<a href='/products/pan?variant=2'><img src='/up/pan.jpg'></a>")
    media = extract(html.encode(), "https://shop.test/products/pan", options=ALL).document.media
    assert [(n.src.rsplit("/", 1)[-1], n.image_class) for n in media] == [("pan.jpg", "content")]


def test_a_class_that_lower_casing_lengthens_still_names_an_author_avatar():
    # "İ" lower-cases to two characters: where the alt starts is measured after lower-casing.
    html = _article(f"<img src='/up/k.jpg' class='{'İ' * 20} byline__author' alt='Kim'><img src='/up/lead.jpg'>")
    assert _classes(html) == {"k.jpg": "logo", "lead.jpg": "content"}


def test_share_buttons_in_abbreviated_sizes_are_logos():
    images = "<img src='/plugins/assets/pinit-sm.png'><img src='/img/facebook-lg.png'><img src='/up/smoothie-lg.jpg'>"
    assert _classes(_article(images)) == {"pinit-sm.png": "logo", "facebook-lg.png": "logo", "smoothie-lg.jpg": "content"}
    cozy = _media("recipe-scrapers", "erinscozykitchen.com__erinscozykitchen_1.html", "https://erinscozykitchen.com/r")
    assert {n.image_class for n in cozy if "pinit" in n.src} == {"logo"}


def test_a_percentage_width_or_height_declares_no_pixel_size():
    images = ("<img src='/up/hero.jpg' width='100%'><img src='/up/banner-wide.jpg' width='1%' height='1%'>"
              "<img src='/up/step.jpg' width='699px' height='466.5'>")
    result = extract(_article(images).encode(), URL, options=ALL)
    sizes = {n.src.rsplit("/", 1)[-1]: (n.width, n.height, n.image_class) for n in result.document.media}
    # 1% x 1% is no tracking pixel: the file's name (a banner) decides
    assert sizes == {"hero.jpg": (None, None, "content"), "banner-wide.jpg": (None, None, "ad"),
                     "step.jpg": (699, 466, "content")}
    assert "image_tracking_pixel" not in result.media_drops
    fresh = _media("recipe-scrapers", "hellofresh.com__hellofresh.html", "https://hellofresh.com/recipe")
    hero = [n for n in fresh if "thai-style-pork-rice-bowl" in n.src]
    assert hero and {(n.width, n.image_class) for n in hero} == {(None, "content")}


def test_photos_in_an_author_box_are_no_pictures_of_the_article():
    bio = "<p>Hi, I'm Melissa! I bake every weekend and write down what works.</p>"
    boxes = (f"<div class='block-about'><div class='block-about__image'><figure><img src='/up/melissa.jpg'></figure>"
             f"</div>{bio}</div>"
             f"<div class='block-personal-note'><figure><img src='/up/carrian-1-770x770.jpg' alt='Carrian'></figure>{bio}</div>"
             f"<div class='insight-team-member'><figure><img src='/up/simone.png'></figure><h5>Simone</h5>{bio}</div>"
             f"<section class='authorInfoBox_wrapper'><img src='/up/chef-hat.svg'>{bio}</section>"
             f"<div id='sobre-el-autor'><img src='/up/lucia.jpg'>{bio}</div>"
             f"<div class='about-the-author'><img src='/up/sam.jpg'>{bio}</div>")
    # the article's own pictures, in blocks whose names only look like a box's: kept
    pictures = ("<figure class='authorized-dealer'><img src='/up/showroom.jpg'></figure>"
                "<div class='post author-sarah'><img src='/up/chart.png'></div>"
                "<div class='about'><img src='/up/harbour.jpg'></div>"
                "<div class='bio'><img src='/up/organic-tomatoes.jpg'></div>")
    classes = _classes(_article(boxes + pictures))
    assert {name: kind for name, kind in classes.items() if kind == "content"} == \
        {"showroom.jpg": "content", "chart.png": "content", "harbour.jpg": "content", "organic-tomatoes.jpg": "content"}
    assert set(classes.values()) == {"content", "logo"} and len(classes) == 10


def test_an_about_page_longer_than_a_box_keeps_its_photo():
    story = "".join(f"<p>Paragraph {i} of my story, how I came to cook, with enough words to read as prose.</p>"
                    for i in range(20))
    html = f"<html><body><article class='about-me'><img src='/up/me.jpg'>{story}</article></body></html>"
    assert _classes(html) == {"me.jpg": "content"}


def test_real_pages_drop_author_box_photos_and_keep_the_recipe():
    honey = _media("recipe-scrapers", "modernhoney.com__modernhoney_1.html", "https://modernhoney.com/r")
    assert "content" not in {n.image_class for n in honey if "about-melissa-stadler" in n.src}
    assert sum(n.image_class == "content" and "Honey-Garlic-Chicken" in n.src for n in honey) >= 4
    basil = _media("recipe-scrapers", "ohsweetbasil.com__ohsweetbasil_1.html", "https://ohsweetbasil.com/r")
    assert {n.image_class for n in basil if "carrian-cheney" in n.src} == {"logo"}
    assert sum(n.image_class == "content" and "banana-cookies" in n.src for n in basil) >= 6
    pasta = _media("recipe-scrapers", "pastificiosorrentino.com__pastificiosorrentino.html", "https://ps.test/r")
    assert {n.image_class for n in pasta if "simone_giannotta" in n.src} == {"logo"}
    yemek = _media("recipe-scrapers", "yemek.com__yemek.html", "https://yemek.com/r")
    assert {n.image_class for n in yemek if "chefsHat" in n.src} == {"logo"}


def test_logo_words_count_only_as_words_of_their_own():
    pictures = ("<img src='/up/plating-pixels-chef.jpg'><img src='/up/pixelated-mural.jpg'>"
                "<img src='/up/sewing-buttons.jpg'><img src='/up/buttonhole-stitch.jpg'><img src='/up/spritely-dance.jpg'>"
                "<img src='/up/vishnu-avatara.jpg'><img src='/up/phone.jpg' alt='Pixel 8 Pro'>"
                "<img src='/up/soda.jpg' alt='Sprite'>")
    # still logos: a word run into the one before it, or standing alone in a file name or class
    logos = ("<img src='/img/sharebutton.png'><img src='/up/jaclyn.jpg' class='attachment-comavatar'>"
             "<img src='/img/1pixel.gif'><img src='/img/svg-sprite.svg'><img src='/img/donate-button-en.png'>"
             "<img src='/up/k.jpg' class='avatar avatar-48 photo'><img src='/img/patreon.png' alt='patreon button'>")
    classes = _classes(_article(pictures + logos))
    assert [name for name, kind in classes.items() if kind == "content"] == \
        ["plating-pixels-chef.jpg", "pixelated-mural.jpg", "sewing-buttons.jpg", "buttonhole-stitch.jpg",
         "spritely-dance.jpg", "vishnu-avatara.jpg", "phone.jpg", "soda.jpg"]
    assert len(classes) == 15 and list(classes.values())[8:] == ["logo"] * 7


def test_real_page_named_plating_pixels_keeps_its_logos_and_reads_its_photos_by_their_place():
    pixels = _media("recipe-scrapers", "platingpixels.com__platingpixels_1.html", "https://platingpixels.com/r")
    assert {n.image_class for n in pixels if "plating-pixels-logo" in n.src.lower()} == {"logo"}
    # the author's photo in a box linking to the about page: a teaser, no longer a logo for "pixel"
    assert {n.image_class for n in pixels if "Matt-Ivan-of-Plating-Pixels" in n.src} == {"teaser"}


def test_a_photo_under_an_about_the_author_heading_is_no_picture_of_the_article():
    bio = "<p>She has cooked for twenty years and shares what works at home.</p>"
    boxes = (f"<div><h3>About the Author: Sabrina</h3><figure><img src='/up/sabrina.jpg'></figure>{bio}</div>"
             f"<div><h4>Written by Jane Doe</h4><img src='/up/jane.jpg'>{bio}</div>"
             f"<div><h3>Über den Autor</h3><img src='/up/autor.jpg'>{bio}</div>"
             f"<section><h2>Hi, I’m Tara!</h2><div><img src='/up/tara.jpg'></div>{bio}</section>")
    long_story = "".join(f"<p>Line {i} of how I came to cook, told at length, with enough words for prose.</p>"
                         for i in range(16))
    # a section opened so whose text is an article's length, and a heading naming no author: pictures
    pictures = (f"<div><h2>About me</h2><img src='/up/kitchen.jpg'>{long_story}</div>"
                f"<div><h3>Written in stone: the old recipe</h3><img src='/up/tablet.jpg'>{bio}</div>")
    classes = _classes(_article(boxes + pictures))
    assert classes == {"sabrina.jpg": "logo", "jane.jpg": "logo", "autor.jpg": "logo", "tara.jpg": "logo",
                       "kitchen.jpg": "content", "tablet.jpg": "content"}
    crumb = _media("recipe-scrapers", "lecremedelacrumb.com__lecremedelacrumb_1.html", "https://lecremedelacrumb.com/r")
    assert {n.image_class for n in crumb if "tiffany-profile" in n.src} == {"logo"}


def test_a_wrapper_named_as_an_author_box_but_holding_the_article_keeps_its_pictures():
    # the whole story, 300 pictures, inside a block a theme named `author-box`: no box beside the article
    pictures = "".join(f"<img src='/up/p{i}.jpg' width='600' height='400'>" for i in range(300))
    html = _article(f"<div class='author-box'><p>{'A line of the story told at length. ' * 40}</p>{pictures}</div>")
    assert set(_classes(html).values()) == {"content"} and len(_classes(html)) == 300


def test_logo_words_that_name_photographed_things_name_a_jpegs_subject():
    # button mushrooms, a salad spinner, a Pixel phone, a can of Sprite, a country's flag: photos all
    pictures = ("<img src='/up/button-mushrooms.jpg'><img src='/up/salad-spinner-greens.jpg'>"
                "<img src='/up/google-pixel-8-pro.jpg'><img src='/up/sprite-can.jpeg'><img src='/up/flag-of-ghana.jpg'>")
    # still logos: the words in a drawn file's name or in a JPEG's class, and a word no photo is named by
    logos = ("<img src='/img/share-button.png'><img src='/img/spinner.gif'><img src='/img/pixel.gif'>"
             "<img src='/img/flag-de.png'><img src='/up/b.jpg' class='share-button'><img src='/img/btn-buy.jpg'>")
    classes = _classes(_article(pictures + logos))
    assert classes == {"button-mushrooms.jpg": "content", "salad-spinner-greens.jpg": "content",
                       "google-pixel-8-pro.jpg": "content", "sprite-can.jpeg": "content", "flag-of-ghana.jpg": "content",
                       "share-button.png": "logo", "spinner.gif": "logo", "pixel.gif": "logo", "flag-de.png": "logo",
                       "b.jpg": "logo", "btn-buy.jpg": "logo"}


def test_an_icon_class_on_a_picture_laid_out_as_one_names_a_card_style():
    # taste.com.au's `main-icon` on its photos, declared 720x480: pictures
    pictures = ("<img src='/up/pasta-bake.jpg' class='img-responsive main-icon' width='720' height='480'>"
                "<img src='/up/hot-cross-buns.png' class='main-icon' width='354' height='236'>")
    # still logos: an icon's size, a drawn file's intrinsic size, the word in a picture-sized file's name
    logos = ("<img src='/up/search.png' class='nav-icon' width='150' height='150'>"
             "<img src='/img/printer.svg' class='print-icon' width='512' height='512'>"
             "<img src='/up/app-icon-large.jpg' width='512' height='512'>")
    assert _classes(_article(pictures + logos)) == {"pasta-bake.jpg": "content", "hot-cross-buns.png": "content",
                                                    "search.png": "logo", "printer.svg": "logo",
                                                    "app-icon-large.jpg": "logo"}
    taste = _media("recipe-scrapers", "taste.com.au__tasteau_1.html", "https://www.taste.com.au/recipe")
    cards = [n for n in taste if "/w354-h236-" in n.src or "mexican-chicken-pasta-bake" in n.src]
    assert len(cards) == 9 and "logo" not in {n.image_class for n in cards}


def test_a_team_pages_headshots_named_as_peoples_pictures_are_avatars():
    people = "".join(f"<li><span><img src='/up/DSC_{i}.jpg' class='Person__Picture-sc-1j8 jUeWzg' width='260' "
                     f"height='260' alt='personal photo'></span><span>Person {i}</span><span>Engineering</span></li>"
                     for i in range(6))
    staff = ("<div class='team-member-photo'><img src='/up/lee.jpg' class='staff-image'></div>"
             "<img src='/up/ana.jpg' class='speakerHeadshot'>")
    # a picture of the team, named so in its file and alt, is the page's picture
    group = "<img src='/up/team-photo.jpg' alt='Staff photo at the picnic'>"
    classes = _classes(_article(f"<h2>Team</h2><ul class='Person__List'>{people}</ul>{staff}{group}"))
    assert classes == {**{f"DSC_{i}.jpg": "logo" for i in range(6)}, "lee.jpg": "logo", "ana.jpg": "logo",
                       "team-photo.jpg": "content"}
    team = _media("warc-extracted", "sample-0001__009.html", "https://allenai.org/reviz")
    headshots = [n for n in team if "w=320&h=320" in n.src]
    assert len(headshots) == 10 and {n.image_class for n in headshots} == {"logo"}


def _headed(hero: str, before_title: str = "") -> str:
    """A recipe page whose picture sits above its headline and byline, which the selection leaves out."""
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(8))
    return (f"<html><body><div class='site'><nav><a href='/'>Home</a> <a href='/recipes'>Recipes</a></nav>"
            f"<div class='recipe-header'><div class='media'>{hero}</div>{before_title}<h1>Beef stew for a cold night</h1>"
            f"<div class='meta'><a href='#recipe'>Jump to recipe</a> <span>Save</span> <span>By Jane Doe</span></div>"
            f"</div><div class='content'>{story}</div></div></body></html>")


def test_a_lead_picture_above_the_headline_and_byline_is_content():
    for hero in ("<img src='/up/stew.jpg' width='1200' height='800'>", "<picture><img src='/up/stew.jpg'></picture>",
                 ("<img src='/up/stew-pin.jpg' class='swp-pinterest-image' style='display:none'>"
                  "<img src='/up/stew.jpg' width='1200' height='800'>")):
        assert _classes(_headed(hero))["stew.jpg"] == "content"
    # no lead: a drawn file, an avatar's size, a banner strip, no size and no figure, a slider's slide, a link
    # away between
    assert _classes(_headed("<img src='/up/stew.gif' width='1200' height='800'>")) == {"stew.gif": "outside"}
    assert _classes(_headed("<img src='/up/jane.jpg' width='96' height='96'>")) == {"jane.jpg": "outside"}
    assert _classes(_headed("<img src='/up/skyline.jpg' width='1500' height='300'>")) == {"skyline.jpg": "outside"}
    assert _classes(_headed("<img src='/up/stew.jpg'>")) == {"stew.jpg": "outside"}
    assert _classes(_headed("<ul><li><img src='/up/stew.jpg' width='1200' height='800'></li></ul>")) == \
        {"stew.jpg": "outside"}
    assert _classes(_headed("<img src='/up/stew.jpg' width='1200' height='800'>",
                            "<a href='/soups'><img src='/up/soup.jpg'></a>")) == {"stew.jpg": "outside",
                                                                                   "soup.jpg": "teaser"}
    # the text stays as it was: only the picture's class changes
    with_hero = extract(_headed("<img src='/up/stew.jpg' width='1200' height='800'>").encode(), URL).document
    assert with_hero.text == extract(_headed("").encode(), URL).document.text
    assert [n.src.rsplit("/", 1)[-1] for n in with_hero.media] == ["stew.jpg"]


def test_real_pages_keep_the_lead_picture_above_their_title_but_no_hidden_pinterest_image():
    for page, url, lead in (("taste.com.au__tasteau_1.html", "https://www.taste.com.au/r", "mexican-chicken-pasta-bake"),
                            ("hogarmania.com__hogarmania_1.html", "https://www.hogarmania.com/r", "source-aspect-ratio"),
                            ("yemek.com__yemek.html", "https://yemek.com/r", "kori-soslu-tavuklu")):
        assert next(n for n in _media("recipe-scrapers", page, url) if lead in n.src).image_class == "content"
    crust = _media("recipe-scrapers", "crazyforcrust.com__crazyforcrust_1.html", "https://www.crazyforcrust.com/r")
    first = next(n for n in crust if n.src.endswith("classic-pound-cake-recipe-6.jpg"))
    assert first.image_class == "outside" and "main/article/div/div/img" in first.dom_path  # Shared Counts' hidden pin


def test_a_lazy_source_that_is_a_width_template_is_filled_in():
    # lazysizes' RIAS plugin (Shopify themes): the script fills in a width from `data-widths`
    pictures = ("<img class='lazyload' data-src='//shop.test/cdn/files/salmon_{width}x.jpg?v=17' "
                "data-widths='[360, 540, 720, 1000]' alt='Salmon fillets on a board'>"
                "<img class='lazyload' data-src='//shop.test/cdn/files/crab_{width}x.jpg'>"
                "<img class='lazyload' data-src='//shop.test/cdn/files/scallops_{width}x{height}.jpg'>")
    result = extract(_article(pictures).encode(), URL, options=ALL)
    assert [(n.src, n.image_class) for n in result.document.media] == [
        ("https://shop.test/cdn/files/salmon_1000x.jpg?v=17", "content"),
        ("https://shop.test/cdn/files/crab_1080x.jpg", "content")]
    assert result.media_drops["image_no_src"] == 1  # a template left unfilled is no URL
    fish = _media("recipe-scrapers", "sizzlefish.com__sizzlefish_1.html", "https://sizzlefish.com/r")
    filled = [n.src for n in fish if n.src.split("?")[0].endswith(("_900x.jpg", "_900x.png", "_1000x.jpg", "_1000x.png",
                                                                    "_1080x.jpg"))]
    assert len(filled) == 10 and not [n for n in fish if "{width}" in n.src or "%7Bwidth%7D" in n.src]


def _recipe_post(card_image: str, photos: int = 2) -> str:
    story = "".join(f"<p>Step {i} of making the soup: chop, stir, and simmer the pot until it is ready to serve.</p>"
                    f"<img src='/wp-content/uploads/2024/02/soup-{i}.jpg' width='1200' height='1800' alt='Soup step {i}'>"
                    for i in range(photos))
    card = ("<div class='wprm-recipe-container'><div class='wprm-recipe wprm-recipe-template-cutout'>"
            f"<div class='wprm-recipe-image wprm-block-image-normal'>{card_image}</div>"
            "<h2 class='wprm-recipe-name'>Tomato Soup</h2><div class='wprm-recipe-ingredients-container "
            "wprm-recipe-images-before'><ul><li>4 ripe tomatoes, cut in halves</li><li>1 onion, diced fine</li>"
            "</ul></div><div class='wprm-recipe-instructions'><p>Roast the tomatoes, blend them with the onion "
            "and simmer the soup for twenty minutes.</p></div></div></div>")
    return f"<html><body><article class='post'><h1>Tomato soup</h1>{story}{card}</article></body></html>"


def test_a_recipe_cards_summary_image_after_the_posts_photos_is_a_copy():
    # WP Recipe Maker's card shows the recipe's photo again as a square crop, often another upload
    # (`-featured-300x300.jpg`, another month's folder): a second copy; alone it is the recipe's picture
    square = "<img src='/wp-content/uploads/2024/03/soup-featured-300x300.jpg' width='300' height='300' alt='Soup'>"
    assert _classes(_recipe_post(square)) == {"soup-0.jpg": "content", "soup-1.jpg": "content",
                                               "soup-featured-300x300.jpg": "copy"}
    assert _classes(_recipe_post(square, photos=0)) == {"soup-featured-300x300.jpg": "content"}
    for plugin in ("tasty-recipes-image", "mv-create-image no_pin"):
        html = _recipe_post(square).replace("wprm-recipe-image wprm-block-image-normal", plugin)
        assert _classes(html)["soup-featured-300x300.jpg"] == "copy"
    # an ingredient list laid out with its images first names no card: its pictures stay
    ingredient = "<img src='/wp-content/uploads/2024/03/tomatoes.jpg' width='400' height='300' alt='Tomatoes'>"
    html = _recipe_post("").replace("<ul><li>4 ripe", f"{ingredient}<ul><li>4 ripe")
    assert _classes(html)["tomatoes.jpg"] == "content"


def test_real_recipe_cards_summary_images_are_copies_of_the_posts_photos():
    for page, url, card in (("brokenovenbaking.com__brokenovenbaking_1.html", "https://brokenovenbaking.com/recipe",
                             "strawberry-muffins-12-300x300.jpg"),
                            ("iowagirleats.com__iowagirleats.html", "https://iowagirleats.com/recipe",
                             "NEW-Featured-300x300.jpg")):
        media = _media("recipe-scrapers", page, url)
        assert next(n for n in media if n.src.endswith(card)).image_class == "copy"
        assert sum(n.image_class == "content" for n in media) >= 8


def test_an_amp_pages_amp_img_and_amp_anim_are_its_images():
    # AMP's runtime turns `<amp-img>`/`<amp-anim>` into `<img>` at load: the page's own pictures; a
    # `placeholder` (a GIF's still frame) or a `fallback` (the JPEG of a WebP) is no picture of its own
    story = "".join(f"<p>Paragraph {i} of the story, with enough words, commas, and sentences to read as prose.</p>"
                    for i in range(6))
    html = ("<html amp><body><header><amp-img src='/static/logo.png' width='120' height='30' alt='News'></amp-img>"
            "</header><article><h1>The flood</h1><figure><amp-img src='/img/flood.webp' width='1200' height='800' "
            "layout='responsive' alt='The river'><amp-img fallback src='/img/flood.jpg' width='1200' height='800' "
            f"layout='responsive' alt='The river'></amp-img></amp-img><figcaption>The river at noon.</figcaption>"
            f"</figure>{story}<amp-carousel type='slides' width='800' height='600'>"
            "<amp-img src='/img/bridge.jpg' width='800' height='600' alt='The bridge'></amp-img>"
            "<amp-img src='/img/street.jpg' width='800' height='600' alt='A street'></amp-img></amp-carousel>"
            "<p>The water rose all night, and by morning the lower town was under a metre of it.</p>"
            "<amp-anim src='/img/radar.gif' width='400' height='300' alt='Radar'><amp-img placeholder "
            "src='/img/radar-still.png' width='400' height='300'></amp-img></amp-anim>"
            "<p>Rain is forecast again for the weekend, the weather service said on Tuesday.</p></article>"
            "</body></html>")
    result = extract(html.encode(), URL, options=ALL)
    assert [(n.src.rsplit("/", 1)[-1], n.image_class) for n in result.document.media] == [
        ("logo.png", "logo"), ("flood.webp", "content"), ("bridge.jpg", "content"), ("street.jpg", "content"),
        ("radar.gif", "content")]
    assert result.document.media[1].caption == "The river at noon."
    plain = extract(html.encode(), URL).document
    assert "The water rose all night" in plain.text and [n.src.rsplit("/", 1)[-1] for n in plain.media] == [
        "flood.webp", "bridge.jpg", "street.jpg", "radar.gif"]


def test_an_image_map_is_the_sites_controls_no_picture():
    # `<img usemap>`: each `<area>` a link, the picture a banner of buttons (xkcd's "Selected Comics"
    # strip below the comic, a shop's footer of links): chrome even inside the kept content
    banner = ("<map name='comicmap'><area shape='rect' coords='0,0,100,100' href='/150/'>"
              "<area shape='rect' coords='104,0,204,100' href='/730/'></map>"
              "<img src='/s/a899e84.jpg' width='520' height='100' alt='Selected Comics' usemap='#comicmap'>"
              "<img src='/s/footer-info.gif' width='620' height='625' usemap='#footer'>")
    assert _classes(_article(f"<img src='/comics/barrel.jpg' width='740' height='500'>{banner}")) == {
        "barrel.jpg": "content", "a899e84.jpg": "logo", "footer-info.gif": "logo"}


def test_real_pages_image_maps_are_no_content():
    xkcd = _media("wpull-samples", "xkcd_1.html", "http://example.test/xkcd_1.html")
    assert next(n for n in xkcd if n.src.endswith("/s/a899e84.jpg")).image_class == "logo"
    shop = _media("warc-extracted", "clueweb-quirk__011.html", "http://www.uraharajuku.st/")
    assert next(n for n in shop if n.src.endswith("footer-info.gif")).image_class == "logo"
