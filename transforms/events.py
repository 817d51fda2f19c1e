"""Events: who did what to whom, coded from the dependency parse with the verb pattern dictionary.

For each trigger (a verb or event noun in verbs.tsv) the source is its subject (or the agent of a
passive, or the possessor of an event noun), the target its object, a prepositional object or, for
symmetric events, the other subject. Negated triggers code nothing; "will X", "pledged to X",
"agreed to X" code CAMEO's 03x intents; "X said Y attacked Z" codes Y -> Z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from spacy.tokens import Span, Token

from transforms.actors import AGENT, COUNTRY, LOCATION, ORG, PERSON, Mention, actor_ref, compose_code
from transforms.dates import is_day_precise, resolve_relative_date
from transforms.dictionaries import NO_EVENT, Dictionaries, VerbPattern
from transforms.factuality import Factuality
from transforms.quotes import sentence_quotes
from transforms.relevance import has_political_actor
from transforms.records import EventMention, Quote

PLACE_PREPS = frozenset({"in", "at", "near", "outside", "inside"})
# Prepositions after which a gerund tells what was done ("before convicting him", "by shelling the town").
ASSERTING_PREPS = frozenset({"to", "before", "after", "by", "while", "since", "following", "upon"})
PLAN_MODALS = frozenset({"should", "would", "will", "must", "shall", "could", "'ll"})
TARGET_PREPS = ("with", "against", "on", "to", "toward", "towards", "at", "into", "over", "upon", "from", "for", "of")


@dataclass(slots=True)
class Trigger:
    token: Token
    pattern: VerbPattern


def _intent_code(code: str, threat: bool) -> str:
    """The CAMEO code of an intention to do `code` (03x, or 13x for threats of conflict)."""
    root = int(code[:2])
    if threat or root >= 14:
        return {16: "1312", 17: "137", 15: "138", 18: "138", 19: "138", 20: "138"}.get(root, "130")
    return {
        4: "036",
        5: "032" if code[:3] in ("051", "052", "053", "054") else "030",
        6: "031",
        7: "033",
        8: "035",
    }.get(root, "030" if root <= 9 else code)


def _modal_code(code: str, conditional: bool) -> str:
    """ "will deploy troops" announces a show of force (still 15x); "will attack" threatens one."""
    if code[:2] == "15" and not conditional:
        return code
    return _intent_code(code, conditional)


class EventCoder:
    """Codes events in parsed docs, given their resolved actor mentions."""

    def __init__(self, dictionaries: Dictionaries) -> None:
        self.d = dictionaries
        self.factuality = Factuality(dictionaries)
        cue = dictionaries.cue
        self.intent_heads = cue("commitment") | cue("threat")
        self.threat_heads = cue("threat")
        self.intent_nouns = cue("intent_noun")
        self.intent_adjectives = cue("intent_adjective")
        self.obligation_modals = cue("obligation_modal")
        self.intent_modals = cue("intent_modal")
        self.declaring = cue("declaring")
        self.light_verbs = cue("light_verb")
        self.generic_heads = cue("generic")
        self.appeal_heads = cue("appeal")
        self.plan_heads = cue("plan")
        self.refusals = cue("refusal")
        self.non_agents = cue("non_agent")
        self.implicatives = cue("implicative")
        self.speech_nouns = cue("speech_noun")
        self.allegations = cue("allegation")

    def _patterns(self, token: Token) -> list[VerbPattern]:
        pos = "VERB" if token.pos_ in ("VERB", "AUX") else "NOUN" if token.pos_ == "NOUN" else None
        if pos is None:
            return []
        if pos == "NOUN":
            # A compound noun ("hunger strike", "peace talks") can mean something its head alone does not.
            for child in token.children:
                if child.dep_ in ("compound", "amod") and child.i == token.i - 1:
                    compound = self.d.verbs.get((pos, f"{child.lower_} {token.lemma_.lower()}"))
                    if compound:
                        return compound
        return self.d.verbs.get((pos, token.lemma_.lower()), []) or (
            self.d.verbs.get((pos, token.lower_), []) if pos == "VERB" else []
        )

    def _match(self, token: Token) -> VerbPattern | None:
        """The most specific pattern whose preposition and object constraints the parse satisfies.
        An object's modifiers count ("sarin gas" is a chemical attack where "tear gas" is not) and
        a pattern matched by a modifier wins over one matched by the head noun alone."""
        patterns = self._patterns(token)
        if not patterns:
            return None
        head_lemmas, modifier_lemmas = self._object_lemmas(token)
        for lemmas in (modifier_lemmas, head_lemmas):
            for pattern in patterns:
                if pattern.prep and not self._has_prep(token, pattern.prep):
                    continue
                if pattern.objects and not lemmas & pattern.objects:
                    continue
                if not pattern.objects and lemmas is modifier_lemmas:
                    continue
                return pattern
        return None

    @staticmethod
    def _has_prep(token: Token, prep: str) -> bool:
        if prep == "that":
            # A clause that states a view ("agree that the rules hurt exporters") is an opinion; one
            # that settles a course of action ("agreed that their countries should cooperate") is not.
            return any(
                c.dep_ == "ccomp" and not any(a.dep_ == "aux" and a.lower_ in PLAN_MODALS for a in c.children)
                for c in token.children
            )
        # "spoke by telephone with Macron": the preposition may hang from the verb's own adjunct.
        for child in token.children:
            if child.lower_ == prep and child.dep_ in ("prep", "prt", "agent", "dative"):
                return True
            if child.dep_ == "prep":
                for pobj in child.children:
                    if any(g.lower_ == prep and g.dep_ == "prep" for g in pobj.children):
                        return True
        return False

    @staticmethod
    def _object_lemmas(token: Token) -> tuple[set[str], set[str]]:
        objects = [
            c
            for c in token.children
            if c.dep_ in ("dobj", "obj", "attr", "nsubjpass", "dative", "oprd")
            or (c.dep_ == "advcl" and c.pos_ == "NOUN")
        ]  # "took them hostage"
        objects += [g for c in token.children if c.dep_ == "prep" for g in c.children if g.dep_ == "pobj"]
        # "suspended part of its aid", "released some of the prisoners"
        objects += [
            g
            for o in list(objects)
            for c in o.children
            if c.dep_ == "prep" and c.lower_ == "of"
            for g in c.children
            if g.dep_ == "pobj"
        ]
        objects += [c for o in list(objects) for c in o.conjuncts]  # "photographs and intelligence"
        heads = {o.lemma_.lower() for o in objects} | {o.lower_ for o in objects}
        # "declined to comment": the infinitive complement counts as what is declined; so does a
        # purpose clause ("rallied to defeat the champions")
        heads |= {c.lemma_.lower() for c in token.children if c.dep_ in ("xcomp", "advcl")}
        modifiers = {c.lemma_.lower() for o in objects for c in o.children if c.dep_ in ("compound", "amod")}
        return heads, modifiers - heads

    def _subordinate(self, verb: Token) -> bool:
        """Infinitives and gerunds that only complete another word are not events of their own:
        "urged Iran to stop", "an offer to host a summit", "accused of blowing up". Those under an
        intent ("pledged to send") or a threat are coded as that intent by the caller."""
        if verb.dep_ == "pcomp":
            # "accused of blowing up" alleges; "admitted to threatening", "before convicting" assert;
            # "against defending champion Croatia" is no act at all
            return verb.head.lower_ not in ASSERTING_PREPS or verb.head.head.lemma_.lower() in self.allegations
        infinitive = any(c.dep_ == "aux" and c.lower_ == "to" for c in verb.children)
        if not infinitive:
            return False
        head = verb.head
        if head.lemma_ in self.intent_heads or (head.pos_ == "NOUN" and head.lemma_ in self.intent_nouns):
            return False
        if head.lemma_ in self.plan_heads:
            return False  # "plans to impose": the caller codes a planned harm as a threat
        if head.lemma_ in self.implicatives:
            return False  # "chose to accept", "voted to impose": what was done
        if head.pos_ == "ADJ" and head.lemma_.lower() in self.intent_adjectives:
            return False
        return True

    def _governed_by_trigger(self, noun: Token) -> bool:
        head = noun.head
        if noun.dep_ == "pobj" and head.dep_ == "prep":
            head = head.head
        elif noun.dep_ not in ("dobj", "obj", "nsubjpass", "attr"):
            return False
        return (
            head is not noun
            and head.pos_ in ("VERB", "AUX")
            and head.lemma_ not in self.light_verbs
            and self._match(head) is not None
        )

    def _hypothetical(self, token: Token) -> bool:
        """Inside an if-clause ("if it is attacked") or a clause that is demanded or appealed for
        ("urged that troops withdraw"), the action has not happened."""
        node = token
        for _ in range(4):
            if node.dep_ == "advcl" and any(
                c.dep_ == "mark" and c.lower_ in ("if", "unless", "lest") for c in node.children
            ):
                return True
            if node.dep_ == "ccomp" and node is not token.head:
                head_pattern = self._match(node.head)
                if head_pattern and head_pattern.code[:2] in ("02", "10"):
                    return True
            if node.head is node:
                break
            node = node.head
        return False

    @staticmethod
    def _conditional(token: Token, code: str) -> bool:
        """ "will withdraw its troops unless ..." is a threat, not a promise; so is "would raise
        tariffs if no deal is reached" (a harmful act on a condition), but not "would meet if asked"."""
        marks = ("unless", "if") if int(code[:2]) >= 11 or code[:3] in ("081", "084", "087") else ("unless",)
        for node in (token, token.head):
            for child in node.children:
                if child.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in marks for m in child.children):
                    return True
        return False

    def obligations(self, sent: Span) -> list[Token]:
        """Verbs under "must"/"should" in a clause reported by a declaring verb: "X said Y must stop"."""
        found = []
        for token in sent:
            if token.pos_ not in ("VERB", "AUX") or self._negated(token):
                continue
            if not any(c.dep_ == "aux" and c.lower_ in self.obligation_modals for c in token.children):
                continue
            if token.dep_ == "ccomp" and token.head.lemma_ in self.declaring:
                found.append(token)
        return found

    def _negated(self, token: Token) -> bool:
        return self.factuality.negated(token)

    def triggers(self, sent: Span) -> list[Trigger]:
        """The asserted event words of a sentence, each with the pattern (and CAMEO code) it codes."""
        found: list[Trigger] = []
        consumed: set[int] = set()
        for token in sent:
            pattern = self._match(token)
            if pattern is None or token.i in consumed:
                continue
            if pattern.code == NO_EVENT:
                continue  # a sense that is no event: "agree that ...", "fight the charges"
            code = pattern.code
            verb = token  # the word whose clause says whether, and how, the event happened
            if token.pos_ == "NOUN":
                if self._governed_by_trigger(token) or not self.factuality.noun_asserted(
                    token, sent, lambda t: self._match(t) is not None
                ):
                    continue  # "condemned the attack": the verb's event says it; "the trade talks": a topic
                if token.dep_ in ("dobj", "nsubjpass") and token.head.pos_ in ("VERB", "AUX"):
                    verb = token.head  # "will hold talks", "pledged to send aid"
            elif self._subordinate(token):
                continue
            elif token.dep_ == "amod" or (
                token.dep_ == "acl"
                and token.tag_ in ("VBN", "VBG")
                and token.head.pos_ in ("NOUN", "PROPN")
                and token.head.lemma_.lower() not in self.speech_nouns
            ):
                continue  # "the defending champion", "drugs seized on the border": a modifier, not news
            if self._hypothetical(token):
                continue
            blocked = self.factuality.blocker(token, sent)
            if (
                blocked == "negation"
                and token.lemma_ in self.refusals
                and self.factuality.negated(token)
                and not self.factuality.blocker(token.head, sent)
            ):
                code, blocked = "120", None  # "chose not to accept the plea offer": a refusal
            if blocked == "plan" and verb.dep_ == "xcomp" and int(code[:2]) >= 13:
                # "plans to impose restrictions": a planned harm announced is a threat (13x)
                code, blocked = _intent_code(code, True), None
            elif blocked:
                continue
            else:
                code = self._modality_code(verb, code, consumed, found)
            if code not in self.d.cameo:
                code = pattern.code
            found = [t for t in found if t.token.i not in consumed]
            found.append(Trigger(token, VerbPattern(code, pattern.pos, pattern.lemma, pattern.prep, pattern.objects)))
        return found

    def caused_by_non_agent(self, verb: Token) -> bool:
        """The subject of a violent verb is an accident, a storm or a disease, not an actor."""
        for child in verb.children:
            if child.dep_ in ("nsubj", "agent"):
                subject = (
                    next((g for g in child.children if g.dep_ == "pobj"), child) if child.dep_ == "agent" else child
                )
                if subject.tag_ in ("WDT", "WP") and verb.dep_ == "relcl":
                    subject = verb.head  # "crashes that killed": the relative pronoun's noun
                if subject.lemma_.lower() in self.non_agents:
                    return True
        return False

    def _modality_code(self, verb: Token, code: str, consumed: set[int], found: list[Trigger]) -> str:
        """The code of an asserted event as its clause states it: "will withdraw" and "pledged to send
        aid" are intents (03x), "will attack unless" a threat (13x), "withdrew" the act itself."""
        if verb.pos_ not in ("VERB", "AUX"):
            return code
        head = verb.head
        conditional = self._conditional(verb, code)
        if verb.dep_ == "xcomp" and head.pos_ == "ADJ" and head.lemma_.lower() in self.intent_adjectives:
            return _intent_code(code, conditional)
        if verb.dep_ in ("acl", "relcl") and head.pos_ == "NOUN" and head.lemma_ in self.intent_nouns:
            return _intent_code(code, conditional)
        if verb.dep_ == "xcomp" and head.lemma_ in self.intent_heads:
            consumed.add(head.i)  # "pledged to send": the pledge is coded as the intent to send
            return _intent_code(code, head.lemma_ in self.threat_heads or conditional)
        if any(c.dep_ == "aux" and (c.lower_ in self.intent_modals or c.lower_ == "would") for c in verb.children):
            return _modal_code(code, conditional)
        return code


@dataclass(slots=True)
class ArticleContext:
    """What the coder carries from sentence to sentence within one article."""

    article_id: str
    text: str
    published: date | None
    narrative_date: date | None = None
    last_sources: tuple[Mention, ...] = ()
    recent: list[Mention] = field(default_factory=list)
    event_sources: list[Mention] = field(default_factory=list)

    def last_actor_other_than(self, sources: list) -> Mention | None:
        """The source of the latest event before this one by someone else: what a reaction
        ("condemned the decision", "rejected the allegations") answers."""
        ids = {m.actor_id for m in sources if m is not None}
        countries = {m.country for m in sources if m is not None and m.country}
        for m in reversed(self.event_sources):
            if m.actor_id not in ids and (not m.country or m.country not in countries):
                return m
        return None

    def remember(self, mentions: list[Mention]) -> None:
        for m in mentions:
            if m.type in (PERSON, COUNTRY, ORG) and m.code:
                self.recent = [r for r in self.recent if r.actor_id != m.actor_id][-20:] + [m]


def _actors_in(token: Token, by_token: dict[int, Mention], limit_clauses: bool = True) -> list[Mention]:
    """Actor mentions a noun phrase stands for: the token's own mention and its conjuncts, or the
    nearest mention inside the phrase ("Moscow's aggression against Ukraine" -> Moscow), with the
    conjuncts of each ("the defence ministers of Japan and Finland" -> Japan, Finland)."""
    found: list[Mention] = []
    for head in (token, *token.conjuncts):
        nearest = _nearest_mention(head, by_token, limit_clauses)
        if nearest is None:
            continue
        mention, at = nearest
        for m in [mention, *(by_token[c.i] for c in at.conjuncts if c.i in by_token)]:
            if m.type != LOCATION and m not in found:
                found.append(m)
    return found


def _priority(m: Mention) -> tuple[bool, int]:
    # "his Lithuanian counterpart Ingrida Simonyte" is Simonyte, not the adjective beside her;
    # "Osama bin Laden's al-Qaeda network" is the coded al-Qaeda, not the uncoded name.
    if m.type == COUNTRY:
        return True, 1 if m.role == "adjective" else 2
    return bool(m.code), 3


def _nearest_mention(token: Token, by_token: dict[int, Mention], limit_clauses: bool) -> tuple[Mention, Token] | None:
    """Breadth-first search of the phrase under `token` for the closest actor mention. Behind "in"
    or "at" only a country by name counts: "abuses in Iran" are Iran's, "talks in Istanbul" are not
    Turkey's."""
    level = [(token, False)]
    while level:
        found = [
            (by_token[t.i], t)
            for t, placed in level
            if t.i in by_token
            and by_token[t.i].type != LOCATION
            and not (placed and (by_token[t.i].type != COUNTRY or by_token[t.i].role != "name"))
        ]
        if found:
            return max(found, key=lambda pair: _priority(pair[0]))
        next_level = []
        for t, placed in level:
            for child in t.children:
                if child.dep_ == "conj" and t is token:
                    continue  # conjuncts of the phrase head are handled by the caller
                # An apposition names the same actor ("his counterpart Ingrida Simonyte"), so it is searched.
                if limit_clauses and child.dep_ in ("relcl", "acl", "ccomp", "advcl", "punct", "cc"):
                    continue
                next_level.append((child, placed or (child.dep_ == "prep" and child.lower_ in PLACE_PREPS)))
        level = next_level
    return None


def _with_head_sector(
    mentions: list[Mention], head: Token, by_token: dict[int, Mention], dictionaries: Dictionaries
) -> list[Mention]:
    """'the defence ministers of Japan and Finland': the countries take the head noun's sector."""
    if head.i in by_token or not mentions:
        return mentions
    agent = dictionaries.agents.get(head.lower_) or dictionaries.agents.get(head.lemma_.lower())
    if agent is None:
        return mentions
    out = []
    for m in mentions:
        if m.type == COUNTRY:
            out.append(
                Mention(
                    **{
                        **{f: getattr(m, f) for f in m.__slots__},
                        "sector": agent.sector,
                        "code": compose_code(m.country, agent.sector),
                        "type": "AGENT",
                        "name": f"{m.name} {agent.phrase}",
                    }
                )
            )
        else:
            out.append(m)
    return out


class _Sentence:
    def __init__(self, coder: EventCoder, sent: Span, by_token: dict[int, Mention], ctx: ArticleContext) -> None:
        self.coder, self.sent, self.by_token, self.ctx = coder, sent, by_token, ctx

    def subject_of(self, verb: Token) -> tuple[list[Mention], float]:
        """Source actors of a verb, walking up through xcomp/conj/acl chains when it has no subject."""
        seen = 0
        node: Token | None = verb
        while node is not None and seen < 6:
            seen += 1
            for child in node.children:
                if child.dep_ in ("nsubj", "csubj"):
                    actors = _with_head_sector(_actors_in(child, self.by_token), child, self.by_token, self.coder.d)
                    if child.pos_ == "PRON" and child.lower_ in ("it", "they", "he", "she", "we"):
                        reporter = self._reporter(node)
                        if reporter:
                            return reporter, 0.8
                    generic = (
                        child.lower_ in self.coder.generic_heads or child.lemma_.lower() in self.coder.generic_heads
                    )
                    if (
                        actors
                        and generic
                        and all(m.type == "AGENT" and not m.country for m in actors)
                        and self.ctx.last_sources
                    ):
                        return self.fallback(child)
                    if actors:
                        return actors, 1.0
                    if (
                        child.lower_ in self.coder.generic_heads
                        or child.lemma_.lower() in self.coder.generic_heads
                        or child.pos_ == "PRON"
                    ):
                        return self.fallback(child)
                    return [], 0.0
                if child.dep_ == "nsubjpass":
                    if node.lower_ in self.coder.intent_adjectives:
                        # "Vietnam is committed to ...": an adjective, not a passive
                        actors = _actors_in(child, self.by_token)
                        if actors:
                            return actors, 0.9
                    agent = self._passive_agent(node)
                    return (agent, 1.0) if agent else ([], 0.0)
            if node.dep_ in ("xcomp", "conj", "advcl", "acomp") and node.head is not node:
                node = node.head
                continue
            if node.dep_ == "pcomp" and node.head.dep_ == "prep":
                node = node.head.head  # "is committed to opening": the adjective's clause
                continue
            if node.dep_ == "acl":
                head = node.head
                actors = _actors_in(head, self.by_token)
                if actors:
                    return actors, 0.8
                node = head.head if head.dep_ in ("nsubj", "dobj", "pobj") else None
                if node is not None and head.dep_ == "nsubj":
                    return self.fallback(head)
                continue
            break
        return [], 0.0

    def clause_subject(self, verb: Token) -> list[Mention]:
        for child in verb.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                return _actors_in(child, self.by_token)
        return []

    def _reporter(self, verb: Token) -> list[Mention]:
        """The subject of the declaring verb a clause hangs from: "Iraq said it would allow ..." -> Iraq."""
        node = verb
        for _ in range(4):
            if node.dep_ in ("ccomp", "xcomp", "conj") and node.head is not node:
                node = node.head
                if node.lemma_ in self.coder.declaring or node.lemma_ in self.coder.intent_heads:
                    for child in node.children:
                        if child.dep_ == "nsubj":
                            return _actors_in(child, self.by_token)
            else:
                break
        return []

    def fallback(self, token: Token) -> tuple[list[Mention], float]:
        """A pronoun or generic subject stands for actors named before: "he" for the last person,
        "the two ministers" for the last two people, "the two countries" for the last two countries,
        anything else for the previous sentence's sources."""
        if token.lower_ in ("he", "she", "him", "her"):
            people = [m for m in self.by_token.values() if m.type == PERSON and m.token_end <= token.i]
            if people:
                return [max(people, key=lambda m: m.token_end)], 0.7
        counted = any(c.lower_ in ("two", "both") for c in token.children)
        if counted:
            kind = COUNTRY if token.lemma_.lower() in ("country", "nation", "state", "government", "side") else PERSON
            earlier = [m for m in self.ctx.recent if m.type == kind]
            if len(earlier) >= 2:
                return earlier[-2:], 0.6
        if self.ctx.last_sources:
            return list(self.ctx.last_sources), 0.5
        return [], 0.0

    def _passive_agent(self, verb: Token) -> list[Mention]:
        for child in verb.children:
            if child.dep_ == "agent":
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        return _actors_in(pobj, self.by_token)
        return []

    def target_of(self, trigger: Token, pattern: VerbPattern, sources: list[Mention]) -> list[Mention]:
        children = list(trigger.children)
        if trigger.pos_ in ("VERB", "AUX"):
            for child in children:
                if child.dep_ == "nsubjpass":
                    return _actors_in(child, self.by_token)
        preps = [c for c in children if c.dep_ in ("prep", "dative") and c.lower_ in TARGET_PREPS]
        if pattern.prep:
            preps.sort(key=lambda c: c.lower_ != pattern.prep)
        candidates: list[list[Mention]] = []
        for child in children:
            if child.dep_ in ("dobj", "dative", "obj", "attr", "iobj") and child.pos_ != "ADP":
                actors = [m for m in _actors_in(child, self.by_token) if m not in sources]
                if actors:
                    candidates.append(actors)
        for prep in preps + [c for c in children if c.dep_ == "prep" and c not in preps]:
            for pobj in prep.children:
                if pobj.dep_ != "pobj":
                    continue
                if prep in preps:
                    actors = [m for m in _actors_in(pobj, self.by_token) if m not in sources]
                    if actors:
                        candidates.append(actors)
                # "spoke by telephone with Macron": the target hangs from the adjunct's noun.
                for inner in pobj.children:
                    if inner.dep_ == "prep" and inner.lower_ in ("with", "against", "to"):
                        for inner_obj in inner.children:
                            if inner_obj.dep_ == "pobj":
                                actors = [m for m in _actors_in(inner_obj, self.by_token) if m not in sources]
                                if actors:
                                    candidates.append(actors)
        # The object may be what is given ("offered its troops to Lebanon"): an actor with a
        # country or organisation code is preferred over a bare agent noun.
        for actors in candidates:
            if any(m.country or (m.code and m.code.startswith(("IGO", "NGO"))) for m in actors):
                return actors
        if candidates:
            return candidates[0]
        if trigger.pos_ == "NOUN":
            return []
        for child in children:
            if child.dep_ in ("xcomp", "ccomp"):
                for grandchild in child.children:
                    if grandchild.dep_ in ("nsubj", "dobj"):
                        actors = [m for m in _actors_in(grandchild, self.by_token) if m not in sources]
                        if actors:
                            return actors
        return []

    def noun_actors(self, noun: Token) -> tuple[list[Mention], list[Mention], float, bool]:
        """Source and target of an event noun: "Russia's invasion of Ukraine", "held talks with Iran".
        The flag says whether the noun names its actor itself (a possessor or modifier)."""
        source: list[Mention] = []
        target: list[Mention] = []
        confidence = 0.9
        explicit = False
        for child in noun.children:
            if child.dep_ == "poss":
                explicit = True
                source = _actors_in(child, self.by_token)
                if not source and (child.pos_ == "PRON"):
                    source, confidence = self._governor_subject(noun)
            elif child.dep_ in ("amod", "compound") and child.i in self.by_token:
                explicit = True
                source = source or [self.by_token[child.i]]
        if not source:
            source, confidence = self._governor_subject(noun)
        for child in noun.children:
            if child.dep_ == "prep" and child.lower_ in TARGET_PREPS + ("between", "in"):
                if child.lower_ == "in" and (len(source) > 1 or noun.lower_ in ("talk", "talks", "meeting", "summit")):
                    continue  # "talks in Istanbul": where they met, not with whom
                for pobj in child.children:
                    if pobj.dep_ == "pobj":
                        found = [m for m in _actors_in(pobj, self.by_token) if m not in source]
                        if child.lower_ == "in":
                            found = [m for m in found if m.type != COUNTRY or m.role in ("name", "adjective")]
                        if found and not target:
                            target = found
        return source, target, confidence, explicit

    def _governor_subject(self, noun: Token) -> tuple[list[Mention], float]:
        node = noun
        for _ in range(4):
            head = node.head
            if head is node:
                break
            if head.pos_ in ("VERB", "AUX"):
                return self.subject_of(head)
            node = head
        return [], 0.0

    def location(self, trigger: Token) -> Mention | None:
        for node in (trigger, trigger.head):
            for child in node.children:
                if child.dep_ == "prep" and child.lower_ in ("in", "at"):
                    for pobj in child.children:
                        m = self.by_token.get(pobj.i)
                        if m and (
                            m.type == LOCATION
                            or (m.type == COUNTRY and m.role in ("capital", "city", "region", "name"))
                        ):
                            return m
        return None


# A violent verb whose subject is the weapon or the bomber names the kind of attack.
ATTACKER_CODES = {
    ("suicide", "bomber"): "1831",
    ("suicide", "bombing"): "1831",
    ("car", "bomb"): "1832",
    ("truck", "bomb"): "1832",
    ("roadside", "bomb"): "183",
    ("suicide", "attacker"): "1831",
}


def _attack_kind(verb: Token, code: str) -> str:
    if code[:2] not in ("18", "19"):
        return code
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass") or (child.dep_ == "agent"):
            heads = [child] + [g for g in child.children if g.dep_ == "pobj"]
            for head in heads:
                for modifier in head.children:
                    kind = ATTACKER_CODES.get((modifier.lower_, head.lemma_.lower()))
                    if kind:
                        return kind
    return code


# Reactions: praise, disapproval, rejection, threats, demands answer someone else's act.
REACTION_ROOTS = frozenset({"05", "10", "11", "12", "13"})

# Roots whose events happen to a place when no target is named: protests, force, coercion, violence.
PLACE_TARGET_ROOTS = frozenset({"14", "15", "17", "18", "19", "20"})
# Domestic sectors: a bare "police" or "protesters" acts inside the country where the event is.
DOMESTIC_SECTORS = frozenset("GOV COP OPP CVL REB JUD LEG MED LAB BUS REF EDU HLH CRM UAF REL AGR ELI MIL".split())


# Acts of the state told in the passive without an agent ("was sentenced", "were released on bail"),
# and the sector that does them: by CAMEO code, else by root.
AUTHORITY_SECTORS = {"116": "JUD", "173": "JUD", "1721": "JUD", "0841": "JUD", "084": "GOV", "17": "COP"}


def _passive(verb: Token) -> bool:
    return any(c.dep_ in ("auxpass", "nsubjpass") for c in verb.children)


def _authority_mention(sector: str, like: Mention, country: str | None) -> Mention:
    return Mention(
        start=like.start,
        end=like.end,
        token_start=like.token_start,
        token_end=like.token_end,
        sentence=like.sentence,
        text="",
        type=AGENT,
        name=f"authorities ({sector})",
        country=country,
        sector=sector,
        code=compose_code(country, sector),
        confidence=like.confidence * 0.6,
        role="implied",
    )


def _country_mention(country: str, like: Mention) -> Mention:
    return Mention(
        start=like.start,
        end=like.end,
        token_start=like.token_start,
        token_end=like.token_end,
        sentence=like.sentence,
        text=like.text,
        type=COUNTRY,
        name=country,
        country=country,
        sector=None,
        code=country,
        confidence=like.confidence * 0.7,
        role="implied",
    )


def _with_country(m: Mention, country: str) -> Mention:
    clone = Mention(**{f: getattr(m, f) for f in m.__slots__})
    clone.country, clone.code, clone.confidence = country, compose_code(country, m.sector), m.confidence * 0.7
    return clone


def _fill_in(code: str, sources: list, targets: list, place: Mention | None) -> tuple[list, list]:
    """Sides the text leaves implicit, the way event coders default them:
    a bare agent ("police", "protesters") is of the country where the event happens or, failing
    that, of the actor on the other side; a protest or crackdown with no named target is aimed at
    the place it happens in, or at the source's own country."""
    place_country = place.country if place is not None and place.country else None
    coded = [m for m in (*sources, *targets) if m is not None and m.country]

    def localise(m: Mention | None) -> Mention | None:
        if m is None or m.country or m.type != "AGENT" or m.sector not in DOMESTIC_SECTORS:
            return m
        country = place_country or (coded[0].country if coded else None)
        return _with_country(m, country) if country else m

    sources = [localise(m) for m in sources]
    targets = [localise(m) for m in targets]
    if not targets and code[:2] in PLACE_TARGET_ROOTS:
        own = next((m.country for m in sources if m is not None and m.country), None)
        country = place_country or (own if code[:2] in ("14", "17") else None)
        if country and place is not None:
            targets = [_country_mention(country, place)]
        elif country:
            anchor = next((m for m in sources if m is not None), None)
            targets = [_country_mention(country, anchor)] if anchor is not None else []
    if sources == [None] and place_country and place is not None:
        sources = [_country_mention(place_country, place)]
    return sources, targets


def _same_actor(a: Mention, b: Mention) -> bool:
    """The same actor on both sides (no event), unless the target was implied by the place:
    protesters in Algeria protesting to Algeria is a domestic event, DZA -> DZA."""
    if b.role == "implied":
        return False
    return a.actor_id == b.actor_id or (a.type == b.type == COUNTRY and a.code == b.code)


def code_sentence(
    coder: EventCoder, sent: Span, index: int, by_token: dict[int, Mention], offset: int, ctx: ArticleContext
) -> tuple[list[EventMention], list[Quote]]:
    """Events and quotes of one sentence; `index` is the sentence's number in the article."""
    view = _Sentence(coder, sent, by_token, ctx)
    text = sent.text
    in_sentence = sorted(
        {m for m in by_token.values() if sent.start <= m.token_start < sent.end}, key=lambda m: m.token_start
    )
    relative = resolve_relative_date(text, ctx.published) if ctx.published else None
    if relative and is_day_precise(text):
        ctx.narrative_date = relative  # later sentences of the story usually tell of the same day
    event_date = relative or ctx.narrative_date or ctx.published
    events: list[EventMention] = []
    seen: set[tuple[str, str, str]] = set()
    sentence_sources: list[Mention] = []
    from_nouns: set[int] = set()
    candidates = [(t.token, t.pattern) for t in coder.triggers(sent)]
    demand = coder.d.verbs.get(("VERB", "demand"), [None])[-1]
    for verb in coder.obligations(sent) if demand else []:
        if not view.subject_of(verb.head)[0]:
            continue  # "farmers must wait, forecasters said": nobody coded is demanding
        # Who said it demands of whom the clause names: "Washington said Beijing must drop its tariffs".
        candidates = [(t, p) for t, p in candidates if t.i != verb.i]
        candidates.append((verb, VerbPattern("100", "VERB", verb.lemma_, None, frozenset())))
    sources: Sequence[Mention | None]  # [None]: a source the sentence leaves unnamed
    for token, pattern in candidates:
        explicit = True
        if token.pos_ == "NOUN":
            sources, targets, confidence, explicit = view.noun_actors(token)
        elif pattern.code == "100" and token.dep_ == "ccomp" and token.lemma_ != "demand":
            sources, confidence = view.subject_of(token.head)
            targets = [m for m in view.clause_subject(token) if m not in sources]
        elif token.dep_ == "conj" and _passive(token) and not any(c.dep_ == "nsubjpass" for c in token.children):
            # "pleaded not guilty and were released": the shared subject is what the act was done to
            targets, confidence = view.subject_of(token)
            sources = []
        else:
            sources, confidence = view.subject_of(token)
            targets = view.target_of(token, pattern, sources)
            kind = _attack_kind(token, pattern.code)
            if kind != pattern.code and kind in coder.d.cameo:
                pattern = VerbPattern(kind, pattern.pos, pattern.lemma, pattern.prep, pattern.objects)
        if not sources and not targets:
            continue
        if pattern.code[:2] in ("18", "19", "20") and coder.caused_by_non_agent(token):
            continue  # "crashes that killed 346 people": an accident or a disease, not an attack
        if (
            pattern.code[:2] == "18"
            and sources
            and targets
            and all(m is not None and m.type == COUNTRY for m in (*sources, *targets))
        ):
            continue  # assault, torture, kidnapping are done to people; country beats country is sport
        if not sources and token.pos_ == "VERB" and _passive(token):
            authority = AUTHORITY_SECTORS.get(pattern.code) or AUTHORITY_SECTORS.get(pattern.code[:2])
            if authority and targets:
                # "Webb was sentenced to life", "the two were released on bail": the state acted
                place_here = view.location(token)
                sources = [_authority_mention(authority, targets[0], place_here.country if place_here else None)]
                confidence *= 0.8
        if not sources and not any(m.code for m in targets):
            continue  # nobody coded on either side: nothing an analyst could use
        if not sources:
            sources, confidence = [None], confidence * 0.6
        place = view.location(token)
        sources, targets = _fill_in(pattern.code, sources, targets, place)
        if not has_political_actor(sources, targets, pattern.code[:2]):
            continue  # a firm, a team or a film: not political event data
        if (
            not targets
            and pattern.code[:2] in REACTION_ROOTS
            and token.pos_ in ("VERB", "AUX")
            and any(c.dep_ == "dobj" and c.pos_ == "NOUN" for c in token.children)
        ):
            answered = ctx.last_actor_other_than(sources)
            if answered is not None:
                targets, confidence = [answered], confidence * 0.6
        if not targets and len(sources) > 1:
            # Symmetric: "Japan and Lithuania will create a framework" is each one toward the other.
            pairs = [(s, [o for o in sources if not _same_actor(o, s)][:1]) for s in sources]
        else:
            pairs = [(s, targets) for s in sources]
        cameo = coder.d.cameo[pattern.code]
        gazetteer = coder.d.gazetteer.get(place.text) if place else None
        for source, target_list in pairs:
            distinct: list[Mention | None] = [t for t in target_list if source is None or not _same_actor(source, t)]
            for target in distinct[:3] or [None]:
                key = (source.actor_id if source else "", target.actor_id if target else "", pattern.code)
                if key in seen:
                    continue
                seen.add(key)
                if source is not None:
                    sentence_sources.append(source)
                if token.pos_ == "NOUN" and not explicit:
                    from_nouns.add(len(events))
                events.append(
                    EventMention(
                        article_id=ctx.article_id,
                        sentence=index,
                        start=sent.start_char + offset,
                        end=sent.end_char + offset,
                        source=actor_ref(source) if source else None,
                        target=actor_ref(target) if target else None,
                        cameo=pattern.code,
                        plover=cameo.plover,
                        quad_class=cameo.quad_class,
                        goldstein=cameo.goldstein,
                        date=event_date,
                        location=place.text if place else None,
                        location_country=(
                            place.country if place and place.country else gazetteer.country if gazetteer else None
                        ),
                        latitude=gazetteer.latitude if gazetteer else None,
                        longitude=gazetteer.longitude if gazetteer else None,
                        evidence=text.strip(),
                        confidence=round(confidence * (0.9 if target else 0.7), 3),
                        trigger=token.text,
                    )
                )
    # Event nouns in a sentence whose verbs already report a typed event are background
    # ("withdraw its troops ... after years of occupation"); alone, they are the news.
    if any(e.plover and i not in from_nouns for i, e in enumerate(events)):
        events = [e for i, e in enumerate(events) if i not in from_nouns]
    if sentence_sources:
        ctx.last_sources = tuple(dict.fromkeys(sentence_sources))
        ctx.event_sources.extend(m for m in ctx.last_sources if m.code)
    ctx.remember(in_sentence)
    return events, sentence_quotes(sent, index, ctx.article_id, view.subject_of, coder.declaring)
