"""Factuality: does the text assert that an event happened, or only mention, doubt or wish for it?

An event is coded only when its trigger is asserted: not negated ("did not meet", "failed to agree",
"has yet to sign"), not hedged ("could finalize", "might attack"), not wished, planned or expected
("wants a bigger deal", "hopes to meet"), not in a condition, question or "whether" clause, not
"supposed to" or "on the verge of". Statements of intent, threats and demands are events of their
own (CAMEO 03x, 13x, 10x); the trigger coder recognises them before asking this module.

An event noun ("talks", "attack", "deal") codes an event only when the sentence says it took place:
as the object of a light verb ("held talks", "signed a deal"), the subject of an occurrence ("talks
took place", "the attack killed ten"), or with a date ("Monday's attack"). A topic mention ("the
latest twists in the trade talks") codes nothing.

The word lists live in config/dictionaries/cues.tsv; `Dictionaries.cue(kind)` reads them.
"""

from __future__ import annotations

from collections.abc import Callable

from spacy.tokens import Span, Token

from transforms.dictionaries import Dictionaries

# Relations through which a word's modality reaches the words below it ("could agree to end the war":
# "end" is as hedged as "agree"). Subjects and relative clauses are not on the path: "officials who
# met on Monday hope to ..." does not make the meeting a hope.
SCOPE_RELATIONS = frozenset("xcomp ccomp pcomp pobj prep acl conj dobj advcl attr oprd dep appos aux auxpass".split())
TEMPORAL_PREPS = frozenset({"after", "before", "during", "following", "since"})
WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday yesterday today tonight".split())
MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _lemma(token: Token) -> str:
    return token.lemma_.lower()


def is_question(sent: Span) -> bool:
    """A sentence asking something ("Will Russia invade?") reports nothing."""
    return sent.text.rstrip().rstrip("\"'”’)").endswith("?")


class Factuality:
    """Decides whether a trigger is asserted; built once from the cue lists."""

    def __init__(self, dictionaries: Dictionaries) -> None:
        cue = dictionaries.cue
        self.negation = cue("negation")
        self.failure = cue("failure")
        self.hedge = cue("hedge_modal")
        self.desire = cue("desire")
        self.plan = cue("plan")
        self.casualty = cue("casualty")
        self.appeal = cue("appeal")
        self.prediction = cue("prediction")
        self.unreal = cue("unreal")
        self.condition = cue("condition")
        self.light_verbs = cue("light_verb")
        self.occurrence = cue("occurrence")
        self.declaring = cue("declaring")

    # --- single words ---------------------------------------------------------------------------

    def negated(self, token: Token) -> bool:
        return any(
            c.dep_ == "neg" or (c.lower_ in self.negation and c.dep_ in ("advmod", "det", "preconj"))
            for c in token.children
        )

    def hedged(self, token: Token) -> bool:
        """Under could/might/may/can/would/should; "would" and "should" in a clause reported by a
        declaring verb are a stated intent and an obligation, which the trigger coder codes."""
        for child in token.children:
            if child.dep_ == "aux" and child.lower_ in self.hedge:
                if child.lower_ in ("would", "should") and self.reported(token):
                    continue
                return True
        return False

    def reported(self, token: Token) -> bool:
        """A clause (or a conjunct of one) that a declaring verb reports: "X said he would ..."."""
        node = token
        for _ in range(3):
            if node.dep_ == "conj" and node.head is not node:
                node = node.head
                continue
            return node.dep_ in ("ccomp", "parataxis") and _lemma(node.head) in self.declaring
        return False

    def conditioned(self, token: Token) -> bool:
        return any(c.dep_ == "mark" and c.lower_ in self.condition for c in token.children)

    # --- a trigger and the clauses above it ----------------------------------------------------------

    def blocker(self, token: Token, sent: Span) -> str | None:
        """Why the event of `token` is not asserted ("negation", "modal", "desire", ...), or None."""
        if is_question(sent):
            return "question"
        if self.negated(token):
            return "negation"
        if self.hedged(token):
            return "modal"
        if self.conditioned(token):
            return "condition"
        node = token
        for _ in range(8):
            relation, head = node.dep_, node.head
            if head is node or relation not in SCOPE_RELATIONS:
                return None
            reason = self._blocks(head, relation, node)
            if reason:
                return reason
            node = head
        return None

    def _blocks(self, head: Token, relation: str, child: Token) -> str | None:
        lemma = _lemma(head)
        if relation in ("xcomp", "ccomp", "conj", "dobj", "pcomp", "prep", "pobj", "acl", "advcl"):
            if self.negated(head) and relation not in ("advcl", "conj"):
                return "negation"
            if self.hedged(head) and relation != "advcl":
                return "modal"
        if self.conditioned(head):
            return "condition"
        if relation in ("xcomp", "pcomp", "prep", "pobj") and (
            lemma in self.failure or any(c.lower_ == "yet" and c.dep_ in ("advmod", "cc") for c in head.children)
        ):
            return "failure"
        if (
            relation in ("xcomp", "ccomp", "dobj", "acl", "prep", "pobj", "pcomp")
            and lemma in self.desire
            and head.pos_ in ("VERB", "AUX", "NOUN")
        ):
            # "has talks" is no wish: "have" only counts with an infinitive ("has to agree")
            if lemma not in ("have", "need") or relation == "xcomp":
                return "desire"
        if relation in ("xcomp", "dobj", "acl") and lemma in self.plan:
            return "plan"  # the trigger coder turns a planned sanction or attack into a threat
        if relation == "xcomp" and lemma in self.prediction:
            return "prediction"
        if lemma in self.unreal and relation in ("xcomp", "prep", "pobj", "pcomp", "acl", "ccomp"):
            return "unreal"
        if relation == "ccomp" and lemma in self.appeal:
            return "appeal"
        return None

    # --- event nouns ---------------------------------------------------------------------------------

    def noun_asserted(self, noun: Token, sent: Span, is_event: Callable[[Token], bool] = lambda t: False) -> bool:
        """An event noun is news when a light verb asserts it, it is the subject of an occurrence,
        it carries a date, or it is the actors' own act in a temporal adjunct of another event
        (`is_event` says which words are triggers); otherwise it is a topic ("the trade talks")."""
        node = noun
        # "talks and a meeting": the first conjunct's relation holds for both; "a mediation effort":
        # the phrase's head noun's relation holds for its modifier
        while node.dep_ in ("conj", "compound") and node.head is not node:
            node = node.head
        head = node.head
        if (
            node.dep_ == "pobj"
            and head.dep_ == "prep"
            and head.lower_ in TEMPORAL_PREPS
            and any(c.dep_ == "poss" for c in noun.children)
            and head.head.pos_ in ("VERB", "AUX")
            and is_event(head.head)
        ):
            # "issued a statement after their meeting in Tokyo": the actors' own meeting, told with
            # another event ("the humiliation he felt after his arrest" tells no event)
            return self.blocker(head.head, sent) is None
        if (
            node.dep_ == "pobj"
            and head.dep_ == "prep"
            and head.lower_ == "on"
            and _lemma(head.head) in ("go", "be", "remain", "stay", "walk")
        ):
            return self.blocker(head.head, sent) is None  # "went on strike", "remain on hunger strike"
        if (
            node.dep_ == "pobj"
            and head.dep_ == "prep"
            and head.lower_ == "of"
            and head.head.lemma_.lower() in ("subject", "target", "focus", "centre", "center")
            and head.head.dep_ in ("attr", "dobj", "nsubj")
        ):
            return self.blocker(head.head, sent) is None  # "is the subject of an SEC inquiry"
        if node.dep_ == "pobj" and head.dep_ == "prep":
            # "were killed in an air strike", "died as a result of torture"
            verb = head.head
            if verb.lemma_ in ("result", "consequence") and verb.head.dep_ == "prep":
                verb = verb.head.head
            if (
                verb.pos_ == "VERB"
                and _lemma(verb) in self.casualty
                and head.lower_ in ("in", "by", "during", "from", "of", "after", "following", "amid")
            ):
                return self.blocker(verb, sent) is None
        if head is not node and head.pos_ in ("VERB", "AUX"):
            if node.dep_ in ("dobj", "nsubjpass", "obj") and _lemma(head) in self.light_verbs:
                return self.blocker(head, sent) is None
            if node.dep_ in ("nsubj",) and _lemma(head) in self.occurrence:
                return self.blocker(head, sent) is None
            if node.dep_ == "attr" and any(c.dep_ == "expl" for c in head.children):
                return self.blocker(head, sent) is None  # "there was an attack"
        return self.dated(noun)

    @staticmethod
    def dated(noun: Token) -> bool:
        """ "Monday's attack", "the Sept. 30 attack", "talks on Tuesday"."""
        for child in noun.children:
            if child.dep_ in ("poss", "compound", "nmod", "npadvmod", "amod") and (
                child.ent_type_ in ("DATE", "TIME") or child.lower_ in WEEKDAYS or child.lower_ in MONTHS
            ):
                return True
            if child.dep_ == "prep" and child.lower_ in ("on", "last"):
                if any(g.lower_ in WEEKDAYS or g.ent_type_ == "DATE" for g in child.children):
                    return True
        return False
