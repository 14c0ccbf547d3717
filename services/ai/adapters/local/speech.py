"""How customers write on WhatsApp, turned into plain words: the local provider's normalisation of questions
and passages alike, for its word side (lexical.py) and its meaning side (dense.py).

Text is folded (case, accents, punctuation), texting shorthand and common Hinglish words are rewritten by a
small table of general language, words are stemmed, and a question word the knowledge base never uses, and that
is no English word either, is matched to the nearest word it does use (one or two typing slips)."""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable

import Stemmer
from spellchecker import SpellChecker

WORD = re.compile(r"[a-z0-9]+")
# Rarity scale over the English word counts of the dictionary: about a million uses is everyday, three orders
# of magnitude fewer is rare.
COMMON_COUNT = 1_000_000
RARITY_SPAN = 3.0

# Several words said as one thing, rewritten before single words. General language only: how people text and
# common Hinglish and English turns of phrase, not the vocabulary of any one knowledge base (meaning beyond
# this is the sentence encoder's job: dense.py).
PHRASES: dict[tuple[str, ...], str] = {
    ("ek", "saath"): "together at once",
    ("ek", "sath"): "together at once",
    ("ek", "baar"): "once",
    ("do", "baar"): "twice",
    ("2", "baar"): "twice",
    ("cut", "gaya"): "charged",
    ("kat", "gaya"): "charged",
    ("kat", "gaye"): "charged",
    ("cut", "gaye"): "charged",
    ("money", "back"): "refund",
    ("paisa", "wapas"): "refund",
    ("paise", "wapas"): "refund",
    ("paisa", "vapas"): "refund",
    ("paise", "vapas"): "refund",
    ("get", "my", "money", "back"): "refund",
    ("full", "year"): "annual",
    ("whole", "year"): "annual",
    ("per", "year"): "annual",
    ("opt", "out"): "stop",
    ("send", "back"): "return",
    ("send", "it", "back"): "return",
    ("send", "them", "back"): "return",
    ("give", "back"): "return",
    ("give", "it", "back"): "return",
    ("show", "up"): "arrive",
    ("showed", "up"): "arrive",
    ("turn", "up"): "arrive",
    ("turned", "up"): "arrive",
    ("by", "mistake"): "",
    ("by", "chance"): "",
    ("by", "the", "way"): "",
    ("right", "now"): "immediately",
    ("right", "away"): "immediately",
}

# Texting shorthand and common Hinglish words -> plain English ("" drops a filler). The same rule: general
# language, nothing named for one business's documents.
WORDS: dict[str, str] = {
    # texting shorthand
    "u": "you",
    "ur": "your",
    "urs": "yours",
    "r": "are",
    "n": "and",
    "nd": "and",
    "ppl": "people",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "bcoz": "because",
    "bcz": "because",
    "becoz": "because",
    "coz": "because",
    "cuz": "because",
    "cos": "because",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrow": "tomorrow",
    "tomo": "tomorrow",
    "2moro": "tomorrow",
    "2day": "today",
    "b4": "before",
    "msg": "message",
    "msgs": "messages",
    "yr": "year",
    "yrs": "years",
    "mnth": "month",
    "mth": "month",
    "hr": "hour",
    "hrs": "hours",
    "min": "minutes",
    "mins": "minutes",
    "wk": "week",
    "amt": "amount",
    "pymt": "payment",
    "pmt": "payment",
    "acc": "account",
    "acct": "account",
    "info": "information",
    "wat": "what",
    "wht": "what",
    "abt": "about",
    "wen": "when",
    "hw": "how",
    "thx": "thanks",
    "thnx": "thanks",
    "tq": "thanks",
    "pic": "photo",
    "mob": "mobile",
    "rs": "rupees",
    "inr": "rupees",
    "btw": "",
    "ok": "",
    "okay": "",
    "hi": "",
    "hello": "",
    "hey": "",
    "dear": "",
    "sir": "",
    "madam": "",
    "maam": "",
    "yaar": "",
    "guys": "",
    "ji": "",
    # Hinglish
    "kitna": "how much cost",
    "kitne": "how much cost",
    "kitni": "how much cost",
    "lagega": "cost",
    "lagegi": "cost",
    "lagta": "cost",
    "paisa": "money",
    "paise": "money",
    "paisay": "money",
    "wala": "",
    "wali": "",
    "wale": "",
    "baar": "times",
    "kab": "when",
    "kaise": "how",
    "kese": "how",
    "kaisa": "how",
    "kya": "what",
    "kyun": "why",
    "nahi": "not",
    "nahin": "not",
    "nai": "not",
    "haan": "yes",
    "jaldi": "soon",
    "abhi": "now",
    "aaj": "today",
    "din": "days",
    "mahina": "month",
    "mahine": "month",
    "saal": "year",
    "wapas": "back",
    "vapas": "back",
    "ghar": "home",
    "maa": "mother",
    "mummy": "mother",
    "mumma": "mother",
    "mom": "mother",
    "papa": "father",
    "pappa": "father",
    "dad": "father",
    "pitaji": "father",
    "angrezi": "english",
    "hai": "",
    "ho": "",
    "ka": "",
    "ki": "",
    "ke": "",
    "ko": "",
    "se": "",
    "mein": "",
    "hum": "we",
    "mera": "my",
    "meri": "my",
    "mere": "my",
    "gaya": "",
    "gayi": "",
    "hua": "",
    "kids": "children",
    "kid": "child",
    # More everyday Hinglish, as romanised on phones (several spellings each). Only words that are not also
    # English words: "main", "band", "pet", "mat", "log" or "teen" mean something else in English text.
    "hoga": "will",
    "hogi": "will",
    "hoge": "will",
    "hota": "is",
    "hoti": "is",
    "hote": "are",
    "tha": "was",
    "thi": "was",
    "raha": "",
    "rahi": "",
    "rahe": "",
    "sakta": "can",
    "sakti": "can",
    "sakte": "can",
    "skta": "can",
    "chahiye": "need",
    "chaiye": "need",
    "chahie": "need",
    "milega": "get",
    "milegi": "get",
    "milenge": "get",
    "milta": "get",
    "milti": "get",
    "mil": "get",
    "karu": "do",
    "karun": "do",
    "karna": "do",
    "karni": "do",
    "karo": "do",
    "karein": "do",
    "kare": "do",
    "karte": "do",
    "karti": "do",
    "kiya": "did",
    "kar": "do",
    "dena": "give",
    "dedo": "give",
    "de": "give",
    "lena": "take",
    "lelo": "take",
    "bhejo": "send",
    "bhej": "send",
    "bhejna": "send",
    "bhejenge": "send",
    "batao": "tell",
    "bataye": "tell",
    "bataiye": "tell",
    "bolo": "tell",
    "aaya": "came",
    "aayi": "came",
    "aaye": "came",
    "aya": "came",
    "ayi": "came",
    "aata": "comes",
    "aati": "comes",
    "aayega": "will come",
    "aayegi": "will come",
    "ayega": "will come",
    "gya": "went",
    "khana": "food",
    "khaana": "food",
    "khane": "food",
    "khaane": "food",
    "roz": "daily",
    "rozana": "daily",
    "subah": "morning",
    "shaam": "evening",
    "raat": "night",
    "dopahar": "afternoon",
    "dophar": "afternoon",
    "kal": "tomorrow",
    "parso": "day after tomorrow",
    "hafta": "week",
    "hafte": "week",
    "ghanta": "hour",
    "ghante": "hours",
    "baje": "o'clock",
    "tak": "until",
    "pehle": "before",
    "pahle": "before",
    "baad": "after",
    "bhi": "also",
    "lekin": "but",
    "agar": "if",
    "toh": "",
    "kaun": "who",
    "kon": "who",
    "kahan": "where",
    "kaha": "where",
    "kidhar": "where",
    "kyu": "why",
    "kyon": "why",
    "kuch": "some",
    "sab": "all",
    "sabhi": "all",
    "koi": "any",
    "har": "every",
    "zyada": "more",
    "jyada": "more",
    "kam": "less",
    "thoda": "little",
    "thodi": "little",
    "bahut": "very",
    "bohot": "very",
    "bahot": "very",
    "accha": "good",
    "acha": "good",
    "achha": "good",
    "bura": "bad",
    "kharab": "bad",
    "ganda": "dirty",
    "gandi": "dirty",
    "thanda": "cold",
    "thandi": "cold",
    "garam": "hot",
    "garm": "hot",
    "teekha": "spicy",
    "tikha": "spicy",
    "teekhi": "spicy",
    "mirchi": "chilli",
    "meetha": "sweet",
    "mitha": "sweet",
    "namak": "salt",
    "chawal": "rice",
    "paani": "water",
    "pani": "water",
    "doodh": "milk",
    "bimar": "ill",
    "beemar": "ill",
    "bimaar": "ill",
    "dard": "pain",
    "dawai": "medicine",
    "dawa": "medicine",
    "daant": "teeth",
    "dant": "teeth",
    "chutti": "holiday",
    "chhutti": "holiday",
    "tyohar": "festival",
    "shaadi": "wedding",
    "shadi": "wedding",
    "bachcha": "child",
    "bacha": "child",
    "bachche": "children",
    "bacche": "children",
    "bachon": "children",
    "dadi": "grandmother",
    "nani": "grandmother",
    "dada": "grandfather",
    "nana": "grandfather",
    "bhai": "brother",
    "behen": "sister",
    "biwi": "wife",
    "patni": "wife",
    "pati": "husband",
    "dost": "friend",
    "naya": "new",
    "nayi": "new",
    "naye": "new",
    "purana": "old",
    "purani": "old",
    "daam": "price",
    "sasta": "cheap",
    "mehenga": "expensive",
    "mehnga": "expensive",
    "khatam": "end",
    "shuru": "start",
    "ruko": "wait",
    "roko": "stop",
    "rok": "stop",
    "aap": "you",
    "tum": "you",
    "mujhe": "me",
    "muje": "me",
    "humko": "us",
    "hume": "us",
    "hamara": "our",
    "hamare": "our",
    "humara": "our",
    "apna": "own",
    "apne": "own",
    "yeh": "this",
    "ye": "this",
    "woh": "that",
    "vo": "that",
    "wo": "that",
    "isme": "in this",
    "usme": "in that",
    "andar": "inside",
    "bahar": "outside",
    "saath": "with",
    "sath": "with",
    "bina": "without",
    "liye": "for",
    "hu": "am",
    "hoon": "am",
    "hun": "am",
    "padega": "cost",
    "padegi": "cost",
    "pade": "",
}

# Function words that carry no topic (a standard English list plus question words).
STOPWORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their then there these
    they this to was will with i me my we our you your he she his her its them what which who whom when where
    why how can could would should do does did doing done have has had having am been being get got any some
    all also just only so too very much many more most other than own same s t don now here about above after
    again against below between both each few further once off out over under until up down through during
    before while because yes please thanks want need like tell know let one never ever always already still even
    really actually itself himself herself whole around something anything someone anyone everyone else lot lots
    thing things way bit yet though well him them us dont doesnt didnt cant wont isnt arent wasnt im ive its
    whats thats theres come comes coming came go goes going went take takes taking took taken give gives giving
    gave given make makes making made put say says said see sees seen""".split()
)


PHRASE_SIZES = sorted({len(p) for p in PHRASES}, reverse=True)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def rewrite(words: list[str]) -> list[str]:
    """Phrases first (longest first), then single words, through the table."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in PHRASE_SIZES:
            phrase = tuple(words[i : i + size])
            if len(phrase) == size and phrase in PHRASES:
                out.extend(PHRASES[phrase].split())
                i += size
                break
        else:
            replacement = WORDS.get(words[i], words[i])
            out.extend(replacement.split())
            i += 1
    return out


class Speech:
    """Turns text into index terms, and knows English: which words are words (a word in the dictionary is not
    a typo) and how common each is (pyspellchecker's word counts)."""

    def __init__(self) -> None:
        self._stemmer = Stemmer.Stemmer("english")
        self._english = _english()

    def words(self, text: str) -> list[str]:
        return rewrite(WORD.findall(fold(text)))

    def terms(self, text: str) -> list[str]:
        """Index terms of a passage: rewritten, stop words dropped, stemmed."""
        return self.stem([w for w in self.words(text) if w not in STOPWORDS])

    def stem(self, words: Iterable[str]) -> list[str]:
        return self._stemmer.stemWords(list(words))

    def is_english(self, word: str) -> bool:
        """Whether the word is in the English dictionary (then it is not a typo, whatever it looks like)."""
        return word in self._english

    def rarity(self, word: str) -> float:
        """0 for the commonest English words, 1 for words English rarely or never uses."""
        count = self._english.word_frequency[word]
        if count <= 0:
            return 1.0
        return min(1.0, max(0.0, (math.log10(COMMON_COUNT) - math.log10(count)) / RARITY_SPAN))


def typo_budget(word: str) -> int:
    """How many slips a word of this length may carry and still be recognised."""
    if word.isdigit() or len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@functools.cache
def _english() -> SpellChecker:
    """pyspellchecker's English dictionary with word counts (shipped in the package; loaded once)."""
    return SpellChecker(language="en", distance=1)
