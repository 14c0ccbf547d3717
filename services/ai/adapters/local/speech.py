"""How customers write on WhatsApp, turned into the words the knowledge base uses: the local provider's
normalisation of questions and passages alike.

Text is folded (case, accents, punctuation), texting shorthand and common Hinglish words are rewritten by a
small table, words are stemmed, and a question word the knowledge base never uses, and that is no English
word either, is matched to the nearest word it does use (one or two typing slips). The table is general: how
people text and everyday synonyms, not answers to particular questions."""

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

# Several words said as one thing, rewritten before single words.
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
    ("full", "year"): "annual",
    ("whole", "year"): "annual",
    ("per", "year"): "annual",
    ("video", "call"): "video consultation",
    ("video", "consult"): "video consultation",
    ("real", "person"): "human agent",
    ("opt", "out"): "stop",
    ("no", "show"): "missed",
    ("send", "back"): "return",
    ("send", "it", "back"): "return",
    ("send", "them", "back"): "return",
    ("give", "back"): "return",
    ("give", "it", "back"): "return",
    ("get", "it", "back"): "refund",
    ("get", "my", "money", "back"): "refund",
    ("someone", "else"): "different",
    ("show", "up"): "arrive",
    ("showed", "up"): "arrive",
    ("turn", "up"): "arrive",
    ("turned", "up"): "arrive",
    ("by", "mistake"): "",
    ("by", "chance"): "",
    ("by", "the", "way"): "",
    ("right", "now"): "immediately",
    ("right", "away"): "immediately",
    ("extra", "charge"): "surcharge",
    ("extra", "charges"): "surcharge",
    # how people say self-harm: recognised so that the crisis guidance is found
    ("kill", "myself"): "suicide",
    ("kill", "himself"): "suicide",
    ("kill", "herself"): "suicide",
    ("end", "my", "life"): "suicide",
    ("end", "his", "life"): "suicide",
    ("end", "her", "life"): "suicide",
    ("ending", "my", "life"): "suicide",
    ("ending", "his", "life"): "suicide",
    ("ending", "her", "life"): "suicide",
    ("take", "my", "life"): "suicide",
}

# Texting shorthand, Hinglish and everyday variants -> the knowledge base's plain English ("" drops a filler).
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
    "doc": "doctor",
    "docs": "doctors",
    "dr": "doctor",
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
    "appt": "appointment",
    "info": "information",
    "wat": "what",
    "wht": "what",
    "abt": "about",
    "wen": "when",
    "hw": "how",
    "thx": "thanks",
    "thnx": "thanks",
    "tq": "thanks",
    "meds": "medicines",
    "bp": "blood pressure",
    "sr": "senior",
    "pic": "photo",
    "mob": "mobile",
    "rs": "rupees",
    "emi": "instalments",
    "emis": "instalments",
    "bot": "automated assistant",
    "chatbot": "automated assistant",
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
    "dawai": "medicine",
    "dawa": "medicine",
    "dawaai": "medicine",
    "maa": "mother",
    "mummy": "mother",
    "mumma": "mother",
    "mom": "mother",
    "papa": "father",
    "pappa": "father",
    "dad": "father",
    "pitaji": "father",
    "bangla": "bengali",
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
    # lay words for medical specialities, and American spellings of British ones
    "skin": "dermatology",
    "dermatologist": "dermatology",
    "heart": "cardiology",
    "cardiologist": "cardiology",
    "gynae": "gynaecology",
    "gyno": "gynaecology",
    "gynecology": "gynaecology",
    "gynecologist": "gynaecology",
    "pediatric": "paediatric",
    "pediatrics": "paediatrics",
    "pediatrician": "paediatrics",
    "psychiatrist": "psychiatry",
    "sugar": "sugar diabetes",
    "organization": "organisation",
    "organizations": "organisations",
    "kids": "children",
    "kid": "child",
    # everyday variants of the words a care company's documents use
    "yearly": "annual",
    "annually": "annual",
    "freeze": "pause",
    "erase": "delete",
    "wipe": "delete",
    "remove": "delete",
    "staff": "employees",
    "workers": "employees",
    "nurse": "caregiver",
    "attendant": "caregiver",
    "aaya": "caregiver",
    "helper": "caregiver",
    "didi": "caregiver",
    "tablet": "medicine",
    "tablets": "medicine",
    "pill": "medicine",
    "pills": "medicine",
    "capsules": "medicine",  # how families address the woman who comes to help at home
    "suicidal": "suicide",
    "startup": "company",
    "firm": "company",
    "shift": "reschedule",
    "postpone": "reschedule",
    "prepone": "reschedule",
    "price": "cost",
    "prices": "cost",
    "costs": "cost",
    "charges": "charge",
    "fee": "charge",
    "fees": "charge",
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
