"""RulePolicy's past states remembered on the tracker.

RulePolicy computes a tracker's past states twice per prediction (to match on the text,
then on the intent), each time replaying the events into every prior tracker; the
states are now remembered on the tracker until an event is added.
"""
from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Text, Tuple

from rasa_ext.patches import require_rasa

_STATES = "_govbot_past_states"


class _KeptStates(NamedTuple):
    """Past states as computed for one version of a tracker and one set of arguments."""

    event_count: int
    last_event: Any
    domain: Any
    flags: Tuple[bool, bool]  # omit_unset_slots, ignore_rule_only_turns
    rule_only_data: Any
    states: List[Dict[Text, Any]]

    def serves(self, other: "_KeptStates") -> bool:
        """Same events (no event added since), same domain, same arguments."""
        return (
            self.event_count == other.event_count and self.last_event is other.last_event
            and self.domain is other.domain and self.flags == other.flags
            and (self.rule_only_data is other.rule_only_data
                 or self.rule_only_data == other.rule_only_data)
        )


def _copied(states):
    """Fresh state dicts: featurizers delete a user sub-state's text or intent in place."""
    return [{key: dict(sub) for key, sub in state.items()} for state in states]


def _remembering_past_states(past_states):
    """`DialogueStateTracker.past_states`, remembered on the tracker until an event is
    added. RulePolicy asks for the same states twice per prediction (once to match on
    the message text, once on its intent); each time replays the events into every prior
    tracker. States depend only on the events, the domain and the arguments."""

    def remembered(self, domain, omit_unset_slots=False, ignore_rule_only_turns=False,
                   rule_only_data=None):
        events = self.events
        asked = _KeptStates(len(events), events[-1] if events else None, domain,
                            (omit_unset_slots, ignore_rule_only_turns), rule_only_data, [])
        kept = self.__dict__.get(_STATES)
        if kept is not None and kept.serves(asked):
            return _copied(kept.states)
        states = past_states(self, domain, omit_unset_slots=omit_unset_slots,
                             ignore_rule_only_turns=ignore_rule_only_turns,
                             rule_only_data=rule_only_data)
        self.__dict__[_STATES] = asked._replace(states=_copied(states))
        return states

    remembered._remembers = True  # type: ignore[attr-defined]
    remembered.__wrapped__ = past_states  # type: ignore[attr-defined]
    return remembered


def apply() -> None:
    require_rasa(__name__)
    from rasa.shared.core.trackers import DialogueStateTracker

    if not getattr(DialogueStateTracker.past_states, "_remembers", False):
        DialogueStateTracker.past_states = _remembering_past_states(
            DialogueStateTracker.past_states)
