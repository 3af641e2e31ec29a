"""Text for the sample crawl: topical English paragraphs, picture descriptions, Japanese prose.

All sentences are built here from our own templates and word lists with a caller-seeded
`random.Random`, so the same seed always yields the same words.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    """Vocabulary of one fictional site; the generic templates fill their slots from it."""

    things: tuple[str, ...]
    places: tuple[str, ...]
    people: tuple[str, ...]
    actions: tuple[str, ...]
    qualities: tuple[str, ...]
    headings: tuple[str, ...]
    titles: tuple[str, ...]
    sentences: tuple[str, ...]


TOPICS: dict[str, Topic] = {
    "garden": Topic(
        things=("tomatoes", "runner beans", "lavender", "sweet peas", "courgettes", "raspberry canes",
                "garlic", "kale", "marigolds", "rosemary", "early potatoes", "strawberries", "dahlias"),
        places=("raised bed", "greenhouse", "allotment", "window box", "shady border", "cold frame",
                "herb spiral", "compost corner", "south-facing wall"),
        people=("my neighbour Ruth", "the allotment secretary", "our youngest", "an old gardener I met",
                "the woman at the seed swap", "my uncle"),
        actions=("water", "mulch", "prune", "sow", "pot on", "harden off", "stake", "feed", "divide"),
        qualities=("sturdy", "leggy", "pale", "vigorous", "patchy", "compact", "generous", "fussy"),
        headings=("What went wrong", "Soil first", "A note on watering", "Planning the next bed",
                  "Pests and patience", "Tools I actually use"),
        titles=("A slow spring in the raised beds", "Ten things I learned growing {thing}",
                "Why my {thing} failed this year", "The {place} diary, week {n}",
                "Cheap fixes for a {quality} garden", "Saving seed from {thing}"),
        sentences=(
            "Most {thing} want at least {n} hours of sun and soil that drains after rain.",
            "A thin layer of leaf mould around the {thing} kept the slugs guessing for a while.",
            "If the leaves turn {quality} and yellow, the roots are usually sitting in cold water.",
            "We moved the {place} closer to the tap, which saved a surprising amount of walking.",
            "A spade, a hand fork and a good pair of gloves cover nearly every job in the {place}.",
            "Frost came late this year, so the {thing} in the {place} sulked for two weeks.",
        ),
    ),
    "city": Topic(
        things=("the tram extension", "the river footbridge", "the night market", "the new library",
                "the cycle lanes", "the harbour festival", "the budget vote", "the bus timetable",
                "the school garden project", "the old cinema"),
        places=("the council chamber", "Market Square", "the east quarter", "the harbour front",
                "the central station", "Elm Street", "the riverside park", "the town hall steps"),
        people=("the deputy mayor", "a local shop owner", "residents of the east quarter",
                "the transport committee", "a spokesperson for the council", "two retired teachers"),
        actions=("approve", "delay", "review", "fund", "reopen", "extend", "debate", "inspect"),
        qualities=("crowded", "quiet", "controversial", "overdue", "popular", "expensive", "modest"),
        headings=("What happens next", "Reaction from residents", "The numbers", "Background",
                  "Road closures", "How to have your say"),
        titles=("Council votes to {action} {thing}", "Residents split over {thing}",
                "Work on {thing} to begin in {month}", "{quality} weekend at {place}",
                "What the new plan means for {place}", "Questions remain about {thing}"),
        sentences=(
            "Officials said the work on {thing} would cost about {n} million and take two summers.",
            "{person} told reporters that the plan had been discussed for more than a decade.",
            "Traffic near {place} is expected to be {quality} until the end of {month}.",
            "A public meeting about {thing} will be held at {place} next Thursday evening.",
            "The committee will {action} the proposal again once the survey results are published.",
            "Several businesses near {place} said footfall had doubled since the spring.",
        ),
    ),
    "crafts": Topic(
        things=("linen thread", "walnut beads", "hand-dyed wool", "ceramic buttons", "cork coasters",
                "beeswax candles", "birch plywood", "waxed canvas", "embroidery hoops", "felt sheets"),
        places=("the workshop", "our studio", "the kitchen table", "the spring fair", "the market stall",
                "the packing room", "the dye shed"),
        people=("our customer in the north", "my sister", "a weaver from the guild",
                "the apprentice", "a teacher who orders every term", "the courier"),
        actions=("sand", "stitch", "dye", "glaze", "cut", "wrap", "measure", "oil", "fold"),
        qualities=("sturdy", "soft", "bright", "rustic", "delicate", "hard-wearing", "smooth"),
        headings=("Materials", "Step by step", "Care instructions", "Sizes and colours",
                  "Shipping and returns", "Why we make it by hand"),
        titles=("New in the shop: {thing}", "How we {action} {thing}", "A beginner's guide to {thing}",
                "Behind the scenes at {place}", "Choosing {quality} {thing}", "Workshop notes, batch {n}"),
        sentences=(
            "Each batch of {thing} takes about {n} days from the first cut to the final wrap.",
            "We {action} everything by hand at {place}, so no two pieces are exactly alike.",
            "{person} asked for a {quality} version, and it quickly became a favourite.",
            "Store {thing} somewhere dry and out of direct sunlight to keep the colour.",
            "Orders placed before noon usually leave {place} the same afternoon.",
            "The offcuts go into a box for the school craft club down the road.",
        ),
    ),
    "travel": Topic(
        things=("the coastal path", "the night train", "the hill villages", "the old harbour",
                "the island ferry", "the mountain hut", "the covered market", "the lighthouse walk"),
        places=("the northern coast", "a small fishing town", "the valley", "the border crossing",
                "a guesthouse by the lake", "the old town", "the ridge above the bay"),
        people=("our landlady", "a cheerful ferry captain", "two hikers from the hostel",
                "the baker on the corner", "a retired geography teacher", "our guide"),
        actions=("walk", "book", "skip", "visit", "pack", "photograph", "cross", "explore"),
        qualities=("windy", "quiet", "steep", "busy", "peaceful", "muddy", "sunny", "cheap"),
        headings=("Getting there", "Where we stayed", "What to eat", "Costs", "Practical tips",
                  "Would I go back?"),
        titles=("Three days on {thing}", "A {quality} week in {place}", "How to {action} {thing}",
                "Notes from {place}", "Is {thing} worth it?", "Our {n}-day loop around {place}"),
        sentences=(
            "The bus to {place} leaves twice a day, so check the timetable before you set off.",
            "We spent about {n} euros a day, most of it on coffee and ferry tickets.",
            "{person} recommended {thing}, and it turned out to be the highlight of the trip.",
            "The path was {quality} in places, and good boots made a real difference.",
            "If you only have one morning, {action} {thing} before the day trippers arrive.",
            "Evenings in {place} are slow, with long dinners and a walk along the water.",
        ),
    ),
    "kitchen": Topic(
        things=("sourdough", "lentil soup", "apple crumble", "flatbreads", "roast squash", "pancakes",
                "tomato sauce", "oat biscuits", "vegetable curry", "lemon cake"),
        places=("a cast iron pan", "the oven", "a heavy pot", "the fridge", "a baking tray",
                "the freezer", "a mixing bowl"),
        people=("my grandmother", "a reader called Sam", "our neighbour", "the baker down the road",
                "my flatmate"),
        actions=("knead", "simmer", "roast", "whisk", "fold", "season", "chill", "bake"),
        qualities=("crisp", "tender", "rich", "light", "sticky", "golden", "spicy", "creamy"),
        headings=("Ingredients", "Method", "Tips", "Storing leftovers", "Variations"),
        titles=("The easiest {thing} you will ever make", "Weeknight {thing} in {n} minutes",
                "How to {action} {thing} properly", "A {quality} {thing} for cold evenings"),
        sentences=(
            "{action} the mixture gently for {n} minutes, then let it rest before serving.",
            "Leftover {thing} keeps for three days in {place} and tastes even better the next day.",
            "{person} always adds a pinch of salt at the very end, and it really does help.",
            "If the {thing} looks dry, add a splash of water and cover it for a minute.",
            "Use {place} if you have one, because it holds the heat evenly.",
        ),
    ),
}

GENERIC = (
    "I have been meaning to write about {thing} for a long time, and this seemed like the right moment.",
    "{person} once told me that the secret is simply to {action} a little and often.",
    "It is easy to overthink this, but honestly the {quality} approach works best.",
    "Last {month} we tried something different, and the results were better than expected.",
    "There is no single right answer here, so take these notes as a starting point.",
    "The first attempt was {quality}, the second one was much better, and the third was nearly perfect.",
    "A few readers have asked about {thing}, so here is a short update.",
    "We kept a notebook the whole time, which made it much easier to see what changed.",
    "Nothing here needs special equipment, just a bit of time and some patience.",
    "If you try this yourself, let us know how it goes in the comments below.",
    "It took {n} weeks before we noticed any real difference, so do not give up too early.",
    "Looking back, the biggest lesson was to plan less and watch more.",
    "On a {quality} day like today, it is hard to imagine doing anything else.",
    "By the end of {month}, most of the work around {place} was finished.",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")

DESCRIPTIONS = (
    "The picture shows {a_shape} on {a_bg} background.",
    "In this photo you can see {a_shape} in the middle of {a_bg} background.",
    "Here we see {a_shape} against a plain {bg} background.",
    "This image is simply {a_shape} drawn over {a_bg} background.",
    "Above you can see {a_shape}, set on {a_bg} background.",
)
VIDEO_DESCRIPTIONS = {
    "right": "The video shows a {colour} ball moving from left to right across {a_bg} background.",
    "down": "This clip shows a {colour} ball falling from the top to the bottom of {a_bg} background.",
}


def _fill(template: str, rng: random.Random, topic: Topic) -> str:
    text = template.format(
        thing=rng.choice(topic.things), place=rng.choice(topic.places), person=rng.choice(topic.people),
        action=rng.choice(topic.actions), quality=rng.choice(topic.qualities),
        month=rng.choice(MONTHS), n=rng.randint(2, 12),
    )
    return text[0].upper() + text[1:]


def paragraph(rng: random.Random, topic: Topic, count: int) -> str:
    """`count` topical or generic sentences, each from a different template."""
    templates: list[str] = []
    while len(templates) < count:
        template = rng.choice(topic.sentences if rng.random() < 0.6 else GENERIC)
        if template not in templates:
            templates.append(template)
    return " ".join(_fill(t, rng, topic) for t in templates)


def title(rng: random.Random, topic: Topic) -> str:
    """A headline for a page of this topic."""
    return _fill(rng.choice(topic.titles), rng, topic)


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def shape_phrase(colour: str, shape: str) -> str:
    """`a red circle`, `an orange star` or `blue stripes`."""
    return f"{colour} stripes" if shape == "stripes" else _a(f"{colour} {shape}")


def describe(rng: random.Random, colour: str, shape: str, background: str) -> str:
    """The sentence that follows a content picture and says what it shows."""
    return rng.choice(DESCRIPTIONS).format(a_shape=shape_phrase(colour, shape), bg=background, a_bg=_a(background))


def describe_clip(colour: str, background: str, direction: str) -> str:
    """The sentence that follows a clip and says what moves where."""
    return VIDEO_DESCRIPTIONS[direction].format(colour=colour, a_bg=_a(background))


JA_COLOURS = {"red": "赤い", "green": "緑の", "blue": "青い", "yellow": "黄色い", "purple": "紫の",
              "orange": "オレンジ色の", "black": "黒い", "white": "白い", "grey": "灰色の"}
JA_SHAPES = {"circle": "円", "square": "四角形", "triangle": "三角形", "star": "星", "stripes": "しま模様"}
JA_SENTENCES = (
    "今年の春は雨が多く、畑の土がなかなか乾きませんでした。",
    "朝早く水をやると、昼の暑さでも葉がしおれにくくなります。",
    "近所の方から分けてもらった種が、思ったよりもよく育ちました。",
    "週末には家族で草取りをして、そのあと冷たいお茶を飲みました。",
    "トマトの支柱は少し高めに立てておくと、夏に慌てずにすみます。",
    "肥料は少なめにして、様子を見ながら足していくのがよいと思います。",
    "去年の失敗をノートに書いておいたので、今年は同じことをしませんでした。",
    "小さな庭でも、工夫しだいでたくさんの野菜を楽しめます。",
    "夕方になると風が涼しくなり、庭仕事がとても気持ちよくなります。",
    "収穫した野菜は、その日のうちに近所の方にもおすそ分けしました。",
)


def japanese_paragraph(rng: random.Random, count: int) -> str:
    """Japanese prose (for the Shift_JIS page)."""
    return "".join(rng.sample(JA_SENTENCES, count))


def japanese_describe(colour: str, shape: str, background: str) -> str:
    """Japanese counterpart of `describe`."""
    bg, fg = JA_COLOURS[background], JA_COLOURS[colour]
    return f"この写真には、{bg}背景に{fg}{JA_SHAPES[shape]}が写っています。"

# Hand-written paragraphs for the pages that exercise encodings and marker forgery.
SMART_QUOTES = (
    "Our landlady called the bay \u201cthe best-kept secret on the coast\u201d \u2014 and she wasn\u2019t "
    "wrong. We had a caf\u00e9 au lait and a cr\u00e8me br\u00fbl\u00e9e for \u20ac4 at the little caf\u00e9 "
    "by the harbour, and the waiter politely ignored our \u201ctr\u00e8s bien\u201d."
)
LYING_CHARSET = (
    "This na\u00efve little recipe started in a caf\u00e9 kitchen: a spoon of cr\u00e8me fra\u00eeche, "
    "a jalape\u00f1o if you are brave, and \u201cpatience\u201d \u2014 lots of it."
)
FORGERY = (
    'A few readers sent screenshots where our recipe cards showed the raw tags "<image>" and "<EOC>" '
    "instead of photos; that was a bug in the old template and it is fixed now."
)
