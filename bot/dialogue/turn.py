"""One turn of the bot, whichever conversation answers it: what the citizen said as NLU
read it (`Said`), and what the bot does in reply (`Turn`: messages, slots to set, and
what follows, such as handing the conversation over to a person).

The catalog, status and intake dialogues all return a `Turn`, so one helper of the
action server (actions/emit.py) turns every reply into dispatcher messages and events,
and a dialogue can answer with another dialogue's turn by calling its function.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

#: A button: its title, and the payload it sends (a text or "/intent{…}").
Button = Dict[str, str]


def button(title: str, payload: Optional[str] = None) -> Button:
    """A button; without a payload it sends its title back as text, so the same reading
    serves typed and clicked answers."""
    return {"title": title, "payload": title if payload is None else payload}


@dataclass(frozen=True)
class Said:
    """The citizen's message as NLU read it."""

    intent: str = ""
    text: str = ""
    entities: Tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def of(cls, message: Optional[Mapping[str, Any]]) -> "Said":
        """From a parsed message as Rasa gives it ({"text", "intent": {"name"}, "entities"})."""
        message = message or {}
        return cls(
            intent=str((message.get("intent") or {}).get("name") or ""),
            text=str(message.get("text") or ""),
            entities=tuple(message.get("entities") or ()),
        )

    def entity(self, name: str) -> Optional[str]:
        """The value of the first entity of that kind that has one."""
        for entity in self.entities:
            if entity.get("entity") == name and entity.get("value"):
                return str(entity["value"])
        return None


#: The key of a bot event's metadata that holds its message's `kind` (Rasa stores the
#: keys of a dispatcher message it does not know itself in the event's metadata).
KIND_KEY = "kind"


@dataclass(frozen=True)
class Message:
    """One message of the bot: a text with buttons, a response of the domain by name
    (utter_…, whose words Rasa's domain holds), or a structured payload for the channel.
    A text may carry a payload too (`custom`, e.g. a matter card, docs/answer-cards.md):
    the same answer as structure, for channels that show it; the others show the text.

    `kind` marks a text that a later turn looks for in the conversation (the replies to a
    message not understood, which bot.catalog.dialogue.fallback_streak counts): a text
    said from data/texts has no response name to be recognised by, so the marker is
    stored with the bot event (metadata `KIND_KEY`)."""

    text: str = ""
    buttons: List[Button] = field(default_factory=list)
    response: Optional[str] = None
    custom: Optional[Mapping[str, Any]] = None
    kind: Optional[str] = None


class FollowUp(Enum):
    """What happens after the turn's messages, instead of waiting for the citizen."""

    HANDOFF = "handoff"  # the conversation goes to a person
    PAUSE = "pause"  # a person answers from now on: the bot keeps still until the desk ends
    LEAVE_MESSAGE = "leave_message"  # nobody can take it now: the citizen leaves a message


@dataclass
class Turn:
    """The bot's reply to one message: messages, slots to set, and what follows."""

    messages: List[Message] = field(default_factory=list)
    slots: Dict[str, Any] = field(default_factory=dict)
    follow_up: Optional[FollowUp] = None

    def say(
        self, text: str, buttons: Optional[Sequence[Button]] = None, kind: Optional[str] = None,
        custom: Optional[Mapping[str, Any]] = None,
    ) -> "Turn":
        """Adds a text message (with buttons, when there are any; marked with `kind` when
        a later turn must recognise it in the conversation; with `custom`, the same
        answer as structure for the channels that show it)."""
        self.messages.append(Message(text=text, buttons=list(buttons or ()), kind=kind,
                                     custom=dict(custom) if custom is not None else None))
        return self

    def respond(self, response: str) -> "Turn":
        """Adds the domain's response of that name (its words live in domain.yml)."""
        self.messages.append(Message(response=response))
        return self

    def show(self, custom: Mapping[str, Any]) -> "Turn":
        """Adds a structured payload for the channel (no text)."""
        self.messages.append(Message(custom=dict(custom)))
        return self

    def with_buttons(self, buttons: Sequence[Button]) -> "Turn":
        """Puts these buttons under the last message."""
        self.messages[-1] = replace(self.messages[-1], buttons=list(buttons))
        return self

    def hand_over(self, follow_up: FollowUp = FollowUp.HANDOFF) -> "Turn":
        """After the messages, the conversation goes to a person (or, from the handoff
        itself, pauses for the person or goes on to leaving a message)."""
        self.follow_up = follow_up
        return self

    def then(self, other: "Turn") -> "Turn":
        """This turn followed by another: its messages after these, its slots over these,
        its follow-up when it has one."""
        self.messages.extend(other.messages)
        self.slots.update(other.slots)
        self.follow_up = other.follow_up or self.follow_up
        return self

    @property
    def texts(self) -> List[str]:
        """The texts said, in order (for logs and tests)."""
        return [m.text for m in self.messages if m.text]
