"""Short site notices that sit inside an article's block but are no part of it.

A page's template puts the same few kinds of line into the story's own container, with no class or
id that names them (utility CSS, a CMS's generic `desc`/`text` blocks): the copyright line ("© 2023
General Mills All Rights Reserved", "版权所有©..."), a comment form's spam-filter and privacy notice
("This site uses Akismet to reduce spam"), a cookie banner's text ("We use cookies to improve your
experience"), a feedback widget's prompt ("Was this page helpful?"), the "found a typo? select it and press Ctrl+Enter" prompt
of Eastern European news sites, a paywall's prompt ("この記事は会員限定です", "Already a subscriber?
Log in"), and calls to action: follow us, subscribe to the newsletter, donate ("Hungry for more?
Subscribe to my newsletter and follow me on Facebook", "Iscriviti alla nostra newsletter",
"ร่วมสนับสนุนเรา"), a Q&A site's prompt under the answers ("Not the answer you're looking for? Browse
other questions tagged ..."), and a forum's who-is-online and time-zone lines ("Who is online", "Users
browsing this forum: No registered users and 3 guests", "All times are UTC"). Each is recognised by its own words in the languages seen, only on a line of at
most `MAX_NOTICE` weighted characters (a paragraph of prose that mentions a newsletter stays), and
`content.kept_items` drops them only while they hold at most `MAX_NOTICE_SHARE` of the kept text.
"""

from __future__ import annotations

import re

MAX_NOTICE = 300          # weighted characters of a notice line
MAX_NOTICE_SHARE = 0.2    # of the kept text that the notices of a page may hold

# A copyright mark with "all rights reserved" (either first), or the CJK phrase that is both.
_MARKS = r"©|ⓒ|copyright"
_RESERVED = (
    r"all rights? reserved|alle rechte vorbehalten|tous droits réservés|todos los derechos reservados|"
    r"tutti i diritti riservati|todos os direitos reservados|alle rechten voorbehouden|"
    r"wszelkie prawa zastrzeżone|všechna práva vyhrazena|minden jog fenntartva|alla rättigheter förbehållna|"
    r"kaikki oikeudet pidätetään|visas tiesības aizsargātas|visos teisės saugomos|tüm hakları saklıdır|"
    r"все права защищены|всі права захищені|جميع الحقوق محفوظة|כל הזכויות שמורות|สงวนลิขสิทธิ์|"
    r"無断転載|무단 ?전재"
)
_RIGHTS = rf"(?:{_MARKS})[^\n]{{0,200}}?(?:{_RESERVED})|(?:{_RESERVED})[^\n]{{0,200}}?(?:{_MARKS})|版权所有|版權所有"
# A comment form's notices.
_COMMENT_FORM = r"akismet|required fields are marked"  # WordPress: "Your email address will not be published. Required..."
# A comment section's rules and disclaimer ("The views expressed below do not reflect...").
_COMMENT_POLICY = (
    r"comment(?:ing)? (?:policy|guidelines)|comments are moderated|"
    r"(?:views|opinions) expressed in the comments|kommentarrichtlinien|netiquette|"
    r"règles de modération|normas de participación|لا تعبر عن رأي|إرشادات الاستخدام"
)
# "Found a mistake? Select the text and press Ctrl+Enter": the key names are the same in every language.
_TYPO_REPORT = r"\bctrl\s*\+\s*enter\b"
# A paywall's or a registration wall's prompt.
_PAYWALL = (
    r"already a (?:subscriber|member)|subscribe (?:now )?to (?:continue|keep) reading|"
    r"(?:for|to) subscribers only|subscriber[- ]exclusive|bereits abonnent|nur für abonnenten|"
    r"déjà abonné|réservé aux abonnés|ya eres suscriptor|exclusivo para suscriptores|"
    r"会員限定|有料会員|会員の方は|続きをお読みいただけます|登録すると続き|付费阅读|订阅后阅读"
)
# Calls to action: follow us / subscribe / sign up for the newsletter / donate.
_CALL_TO_ACTION = (
    r"\bfollow (?:me|us)\b[^\n]{0,40}?\b(?:facebook|instagram|pinterest|twitter|youtube|tiktok)\b|"
    r"\b(?:facebook|instagram|pinterest|twitter)\b[^\n]{0,40}?\bfollow (?:me|us)\b|\bfollow (?:me|us)(?: on| at)?\s*:|"
    r"\b(?:subscribe|sign up|signup)\b[^\n]{0,60}?\b(?:newsletter|email|e-mail|inbox|youtube channel)\b|"
    r"\bjoin (?:our|my) (?:newsletter|mailing list|email list)\b|enter your e-?mail|entrez votre (?:adresse )?e-?mail|"
    r"gib deine e-?mail|introduce tu (?:correo|e-?mail)|inserisci (?:la tua|il tuo) (?:indirizzo )?e-?mail|"
    r"\b(?:please )?(?:donate|make a donation|support (?:our|us|my) (?:work|journalism))\b|"
    r"iscriviti alla (?:nostra )?newsletter|iscrivendoti alla newsletter|abonnez-vous|"
    r"inscrivez-vous à (?:notre|la) newsletter|suscríbete|newsletter abonnieren|folge(?:n sie)? uns|"
    r"jetzt spenden|faire un don|haz una donación|dona ora|abonneer je|"
    r"подпишитесь|поддержите нас|ร่วมสนับสนุน|ติดตาม[^\n]{0,30}ได้ที่"
)
# A cookie-consent banner's text left in the story's block by a script-built banner without a class that
# names it ("We use cookies to improve your experience. Accept all cookies", "Diese Website verwendet
# Cookies"); a recipe's "These cookies keep for days" names no use of them.
_COOKIES = (
    r"\b(?:we|this (?:web)?site|our (?:web)?site|this page|the site) (?:uses?|is using) cookies\b|\buse of cookies\b|"
    r"\baccept (?:all )?cookies\b|\b(?:read|see|view) our cookie (?:policy|notice)\b|\bmanage (?:cookies|cookie settings)\b|"
    r"\b(?:by )?continuing to (?:browse|use)\b[^\n]{0,80}\bcookies\b|"
    r"wir (?:verwenden|nutzen) cookies|(?:web)?(?:seite|site) (?:verwendet|nutzt) cookies|cookie-(?:einstellungen|richtlinie)|"
    r"alle cookies akzeptieren|nous utilisons des cookies|ce site utilise des cookies|accepter (?:tous )?les cookies|"
    r"politique (?:de|relative aux) cookies|(?:utilizamos|usamos) cookies|este sitio (?:web )?(?:utiliza|usa) cookies|"
    r"política de cookies|aceptar (?:todas las )?cookies|utilizziamo (?:i )?cookie|questo sito (?:utilizza|usa) (?:i )?cookie|"
    r"accetta (?:tutti i )?cookie|este site (?:utiliza|usa) cookies|aceitar (?:todos os )?cookies|"
    r"(?:wij|we) gebruiken cookies|(?:web)?site gebruikt cookies|cookiebeleid|cookies accepteren|"
    r"używamy (?:plików )?cookie|(?:korzysta z|używa) (?:plików )?cookie|polityka (?:plików )?cookie|"
    r"(?:мы используем|использует) (?:файлы )?cookie|использовани[ея] (?:файлов )?cookie|"
    r"使用\s?cookie|cookie\s?(?:政策|设置|設定)|cookieを使用|クッキーを使用|쿠키를 사용|쿠키 정책"
)
# A feedback widget's question under a help or docs page or an answer ("Was this page helpful?", "このページは
# 役に立ちましたか？"): its Yes/No buttons are gone. A review's tally ("12 people found this helpful") is
# left alone: the dev ground truth keeps one (ehow-1).
_FEEDBACK = (
    r"\b(?:was|is) (?:this|the) (?:page |article |answer |post |information |guide |tip |review |content |recipe )?"
    r"(?:helpful|useful)\b|\bdid (?:this|you find this) (?:page |article |answer )?(?:help|helpful|useful)\b|"
    r"war (?:diese seite|dieser artikel|dieser beitrag|diese antwort) hilfreich|"
    r"(?:cette page|cette réponse|cet article) vous a-t-(?:elle|il) été utile|"
    r"(?:ha sido|fue|te resultó) útil (?:esta página|este artículo|esta respuesta)|"
    r"(?:questa pagina|questa risposta|questo articolo) (?:ti )?è stat[ao] utile|(?:esta página|este artigo) foi útil|"
    r"(?:эта статья|эта страница) (?:была )?полезн|был ли этот (?:материал|ответ) полезен|"
    r"(?:这篇文章|本文|此页面|该页面|这个页面|此内容)(?:对您|对你)?(?:是否)?有(?:所)?帮助|"
    r"(?:このページ|この記事|この情報|このコンテンツ)は(?:お)?役に立ちましたか|"
    r"이 (?:페이지|문서|글|정보|콘텐츠)(?:가|이) 도움이 되었나요|هل (?:كانت|كان) (?:هذه |هذا )?(?:الصفحة|المقالة|المقال|المعلومات) مفيد"
)
# A Q&A site's line under the answers ("Not the answer you're looking for? Browse other questions tagged
# python or ask your own question.") in the languages of Stack Exchange's sites; a line of its own.
_QA_PROMPT = (
    r"^not the answer you(?:'|’)re looking for|^browse other questions tagged\b|"
    r"^¿?no es la respuesta que buscas|^examina otras preguntas con la etiqueta|"
    r"^não encontrou uma resposta|^pesquise outras perguntas com a tag|"
    r"^не нашли ответ|^посмотрите другие вопросы с метками|^求めていた回答ではありませんか"
)
# A forum's "who is online" and statistics block ("Who is online", "Users browsing this forum: No
# registered users and 3 guests", "Currently Active Users Viewing This Thread: 1 (0 members and 1 guests)",
# "All times are UTC", "Total posts 1234 • Total topics 56 • Our newest member bob"): phpBB's, vBulletin's,
# XenForo's, SMF's wording, and phpBB's in its large language packs; headings only as a whole line ("Who is
# online" opening a sentence stays; a bare "Statistics", an article's section too, goes only with its block).
_FORUM_STATS = (
    r"^(?:who is|who's|wer ist|wie is er|kto jest) online\s*\??$|^(?:members|users) online\b|"
    r"^(?:users|members) browsing this (?:forum|topic|thread|board)\b|"
    r"\bthere (?:is|are) currently \d+ (?:users?|members?) browsing this\b|"
    r"^(?:currently active )?users (?:who are )?viewing this (?:thread|topic|forum)\b|"
    r"\b(?:\d+|no) (?:registered )?(?:users?|members?) and \d+ guests?\b|"
    r"^all times are (?:utc|gmt)\b|\bmost users ever online was\b|^in total there (?:is|are) \d+ users? online\b|"
    r"^(?:forum|board) statistics$|\btotal posts\s*:?\s*[\d,.]+|\b(?:our|welcome to our) newest member\b|"
    r"^latest member\b|^beiträge insgesamt\b|\bunser neuestes mitglied\b|^insgesamt (?:ist|sind) \d+ (?:besucher|benutzer) online\b|"
    r"^mitglieder in diesem forum\s*:|^alle zeiten sind (?:utc|gmt)\b|"
    r"^qui est en ligne\s*\??$|^utilisateurs parcourant ce forum\s*:|^heures au format (?:utc|gmt)\b|"
    r"^¿?quién está conectado\s*\??$|^usuarios navegando por este foro\s*:|^todos los horarios son (?:utc|gmt)\b|"
    r"^chi c(?:'|’)è in linea\s*\??$|^visitano il forum\s*:|^tutti gli orari sono (?:utc|gmt)\b|"
    r"^кто сейчас на (?:конференции|форуме)\s*$|^сейчас этот форум просматривают\s*:|^часовой пояс\s*:\s*(?:utc|gmt)\b|"
    r"^gebruikers op dit forum\s*:|^alle tijden zijn (?:utc|gmt)\b|^użytkownicy przeglądający to forum\s*:"
)
# Each kind's pattern (on lower-cased text) with the words looked for first, in English and in other
# languages: `str.find` over all of a page's lines at C speed, where a pattern (~100 ns per character)
# would cost ~15% of an extraction; a kind's pattern runs only on the lines that hold one of its words,
# and the other languages' words are looked for only on a page with a letter English has not
# (`_OTHER_LETTERS_RE`: accented, other scripts, Spanish's "¿"). Each find costs ~0.1% of an extraction. Each line of
# `tests/test_extract_quality.py::NOTICES` is found.
_KINDS = (
    (_RIGHTS, ("©", "copyright"), ("ⓒ", "版权所有", "版權所有")),
    (_COMMENT_FORM, ("akismet", "required fields"), ()),
    (_COMMENT_POLICY, ("comment",), ("kommentarricht", "netiquette", "modération", "participación", "لا تعبر", "إرشادات")),
    (_TYPO_REPORT, ("ctrl",), ()),
    (_COOKIES, ("cookie",), ("クッキー", "쿠키")),
    (_FEEDBACK, ("helpful", "useful", "did this", "hilfreich", "utile"),  # the German and French lines may be ASCII
     ("útil", "полезн", "有帮助", "有所帮助", "役に立ち", "도움이", "مفيد")),
    (_PAYWALL, ("already a", "subscri"), ("abonn", "suscri", "会員", "続きをお読み", "登録すると", "付费阅读", "订阅后阅读")),
    (_QA_PROMPT, ("not the answer",), ("respuesta que", "encontrou uma", "не нашли", "求めていた")),
    # a forum's lines may be ASCII in other languages too ("Alle Zeiten sind UTC", "Mitglieder in diesem
    # Forum"): the words they share ("forum", "utc") are looked for on every page
    (_FORUM_STATS, ("online", "forum", "thread", "utc", "gmt", "member"),
     ("en ligne", "conectado", "foro", "in linea", "mitglied", "кто сейчас", "форум", "часовой пояс")),
    (_CALL_TO_ACTION, ("follow", "subscri", "sign up", "join ", "donat", "support ", "enter your e"),
     ("abonn", "suscri", "suscríb", "iscri", "inscri", "donaci", "dona ora", "un don", "folge", "spenden",
      "entrez votre", "gib deine", "introduce tu", "inserisci", "подпишитесь", "поддержите", "ร่วมสนับสนุน", "ติดตาม")),
)


def _by_anchor(other: bool) -> dict[str, tuple[re.Pattern, ...]]:
    patterns: dict[str, tuple[re.Pattern, ...]] = {}
    for pattern, english, others in _KINDS:
        compiled = re.compile(pattern)
        for anchor in (*english, *others) if other else english:
            patterns[anchor] = (*patterns.get(anchor, ()), compiled)
    return patterns


_ENGLISH, _ALL = _by_anchor(False), _by_anchor(True)
_OTHER_LETTERS_RE = re.compile(
    "[\u00bf\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0400-\u04ff\u0600-\u06ff\u0e00-\u0e7f\u2460-\u24ff"
    "\u3040-\u9fff\uac00-\ud7af]")


def notice_lines(lines: list[str]) -> list[int]:
    """The indexes of the lines that are site notices (see the module docstring; the caller checks their
    length): the anchor words are looked for in all lines at once (`_KINDS`), joined by NUL, which no
    page text holds (`parse.clean_utf8`), and a find's line is read between the NULs around it."""
    text = "\0".join(lines).lower()  # one call: a call per line costs more than the finds
    other = not text.isascii() and _OTHER_LETTERS_RE.search(text) is not None
    found: set[int] = set()  # where each notice line starts in `text`
    for anchor, patterns in (_ALL if other else _ENGLISH).items():
        at = text.find(anchor)
        while at >= 0:
            start, end = text.rfind("\0", 0, at) + 1, text.find("\0", at)
            line = text[start:end] if end >= 0 else text[start:]
            if start not in found and any(pattern.search(line) for pattern in patterns):
                found.add(start)
            at = text.find(anchor, end) if end >= 0 else -1
    return sorted(text.count("\0", 0, start) for start in found)
