"""What citizens say to steer a conversation, in one place: words that stop or cancel
what the bot is doing, the way to ask for a person, the steering words of the intake
interview, the status check and the satisfaction rating, and the words of a yes, a no
or an area; and the few words the intake documents look for in the catalog's own texts.

The words are data (data/cues.yml), edited without touching the code and without
retraining (NLU does not read them); this module reads the file once, at import, and
names each list for the code. A key missing
from the file or of the wrong shape fails loudly at import (CuesError); a key of the file
this module does not read is found by `unused` (a test checks).

Each conversation stops on its own words (a bare 算了 answers no to an intake question,
but stops a status check), built here from the shared ones. Matching is a plain "the
text holds the cue" (`holds`); each caller normalises the text as it did before.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, Set, Tuple

from bot.dialogue import texts
from bot.dialogue.turn import button

CUES_FILE = Path(__file__).resolve().parents[2] / "data" / "cues.yml"


class CuesError(ValueError):
    """The cue file does not hold what the code expects of it."""


def _load(path: Path) -> Dict[str, Any]:
    """The cue file, read as the text files are (bot/dialogue/texts.py)."""
    return texts.read_mapping(path, CuesError, "cue", "names to cues")


_CUES = _load(CUES_FILE)
#: The keys of the file read so far.
_READ: Set[str] = set()


def _value(key: str) -> Any:
    if key not in _CUES:
        raise CuesError(f"{CUES_FILE.name}: no cues '{key}'")
    _READ.add(key)
    return _CUES[key]


def _is_word(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _words(key: str) -> Tuple[str, ...]:
    """A list of words of the file, in its order."""
    value = _value(key)
    if not isinstance(value, list) or not value or not all(_is_word(w) for w in value):
        raise CuesError(f"{CUES_FILE.name}: '{key}' must be a list of words (quote yes, no, 1 …)")
    return tuple(value)


def _string(key: str) -> str:
    """One word or a string of characters."""
    value = _value(key)
    if not _is_word(value):
        raise CuesError(f"{CUES_FILE.name}: '{key}' must be a text")
    return value


def _mapping(key: str, of: type = str) -> Dict[str, Any]:
    """A mapping of words to values of one type, in the file's order."""
    value = _value(key)
    if (not isinstance(value, dict) or not value or not all(_is_word(k) for k in value)
            or not all(isinstance(v, of) and not isinstance(v, bool) for v in value.values())):
        raise CuesError(f"{CUES_FILE.name}: '{key}' must map words to {of.__name__} values")
    return dict(value)


def unused() -> Set[str]:
    """The keys of the file no code reads (cues left behind)."""
    return set(_CUES) - _READ


#: Stop whatever is going on, in every conversation.
STOP = _words("stop")

#: Stop a status check (a bare 算了 too: the check asks for numbers, not yes or no).
STOP_STATUS = (*_words("stop_status"), *STOP)

#: Stop the intake interview. Not a bare 算了: it answers no to a yes/no question.
STOP_INTAKE = (*_words("stop_intake"), *STOP)

#: Cancel leaving a message for a person (a short reply holding one of these).
CANCEL_MESSAGE = _words("cancel_message")

#: While waiting for a person: leave the queue; ask where the person is.
CANCEL_WAIT = _words("cancel_wait")
STILL_THERE = _words("still_there")

#: The words of wanting to complain (what is left is the complaint's content).
COMPLAINT_WORDS = _words("complaint_words")

#: Decline to leave a callback number: the message stays, without one.
DECLINE_PHONE = _words("decline_phone")

#: The intent of asking for a person, and the button that asks for one.
HUMAN_INTENT = "request_human"
HUMAN_TITLE = _string("human_title")
HUMAN_BUTTON = button(HUMAN_TITLE, f"/{HUMAN_INTENT}")


#: "一业一证是啥": a question about the reform itself (its name, and asking what it is).
WHAT_IS = _words("what_is")
PERMIT_REFORM = _words("permit_reform")

#: The intake interview (bot/intake/dialogue.py), checked in this order before answers:
#: start again, go back one question, change an answer.
RESTART = _words("restart")
BACK = _words("back")
CHANGE = _words("change")
#: Words around a correction that carry no answer: removed before the answer is read.
CHANGE_FILLERS = _words("change_fillers")
#: The read-back of the answers is confirmed.
CONFIRM = _words("confirm")
#: A yes/no button's payload, read as the word it stands for.
BUTTON_ANSWERS = _mapping("button_answers")

#: The status check: send the verification code again.
RESEND = _words("resend")
#: Right after a status answer: what must I do now, how long will it take.
STATUS_TODO = _words("status_todo")
STATUS_TIME = _words("status_time")

#: A satisfaction rating said without a number, strongest first ("很不满意" before "满意").
RATING_WORDS = tuple(_mapping("rating_words", int).items())

#: Yes or no (bot/intake/yesno.py): whole answers that only confirm, or only deny.
WEAK_YES = frozenset(_words("weak_yes"))
WEAK_NO = frozenset(_words("weak_no"))
#: Answers that are explicitly undecided.
UNSURE = _words("unsure")
#: Signs that the message is a question of its own.
QUESTION_WORDS = _words("question_words")
#: Verbs that carry the answer (卖的 / 不卖), and words that may stand before them.
VERBS = _words("verbs")
ADVERBS = _words("adverbs")
NEGATIONS = _words("negations")
#: The characters that negate inside a clause, and the adverbs that repeat a negation.
NEGATION_CHARACTERS = _string("negation_characters")
REPEATED_NEGATION = _words("repeated_negation")
#: Between the question's own word and the answer (烟不卖, 酒的话没有).
TOPIC_PARTICLES = _words("topic_particles")
LEADING_FILLERS = _words("leading_fillers")
TRAILING_PARTICLES = _string("trailing_particles")
#: A clause starting with one of these adds nothing to the answer.
CONNECTIVES = _words("connectives")
#: Emoji read as the word they stand for.
YES_NO_EMOJI = _mapping("yes_no_emoji")

#: An area given as an answer (bot/intake/engine.py): its units, and the words that make
#: the number an upper or a lower bound.
AREA_UNITS = _words("area_units")
AREA_BELOW = _words("area_below")
AREA_ABOVE = _words("area_above")

#: Read in the catalog's own texts (bot/intake/documents.py): a condition that describes an
#: exemption, and the name of a matter that registers a new business.
EXEMPTION_MARKERS = _words("exemption_markers")
REGISTRATION_MARKERS = _words("registration_markers")


def holds(text: str, cues: Iterable[str]) -> bool:
    """Whether the text holds any of the cues."""
    return any(cue in text for cue in cues)
