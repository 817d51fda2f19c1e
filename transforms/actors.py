"""Actors: find mentions in a parsed text, resolve them within the article, and code them CAMEO-style.

A mention's code is country + sector ("JPNGOV"), an IGO/NGO code, or a country alone. People are
coded by the office they hold on the article's date (from the people dictionary), unless the text
itself gives their title ("Defense Minister Yasukazu Hamada"), which wins.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TypedDict

from rapidfuzz import fuzz
from spacy.tokens import Doc, Span, Token

from transforms.dictionaries import Agent, Dictionaries, Person
from transforms.records import ActorRef

PERSON, COUNTRY, ORG, AGENT, LOCATION, GROUP = "PERSON", "COUNTRY", "ORG", "AGENT", "LOCATION", "GROUP"
COUNTERPART = "counterpart"
# How far a title or nationality may stand before a name: "his Lithuanian counterpart Ingrida Simonyte".
TITLE_WINDOW = 6
FUZZY_NAME_SCORE = 84


@dataclass(slots=True, eq=False)
class Mention:
    """A mention inside one parsed chunk; `start`/`end` are character offsets in the article text."""

    start: int
    end: int
    token_start: int
    token_end: int
    sentence: int
    text: str
    type: str
    name: str
    country: str | None
    sector: str | None
    code: str | None
    confidence: float
    role: str | None = None
    org_code: str | None = None
    counterpart: bool = False
    titled: bool = False

    @property
    def actor_id(self) -> str:
        if self.type == PERSON:
            return f"person:{self.name}"
        if self.type == COUNTRY:
            return f"country:{self.country}"
        if self.type == ORG and self.org_code:
            return f"org:{self.org_code}:{self.name}"
        if self.type == AGENT:
            return f"agent:{self.code or self.sector}"
        return f"{self.type.lower()}:{self.name}"


class _Where(TypedDict):
    """Where a mention is: the fields of `Mention` every kind of entity fills the same way."""

    start: int
    end: int
    token_start: int
    token_end: int
    sentence: int
    text: str


def actor_ref(m: Mention) -> ActorRef:
    """The stored form of a mention (a struct in event_mentions and quotes)."""
    return ActorRef(name=m.name, code=m.code, country=m.country, text=m.text, actor_id=m.actor_id)


def compose_code(country: str | None, sector: str | None) -> str | None:
    if country and sector:
        return country + sector
    return country or sector


def _stance_prefixed(token: Token) -> bool:
    doc = token.doc
    start = token.i
    while start > 0 and doc[start - 1].text == "-":
        start -= 2 if start > 1 else 1
    return start < token.i and doc[start].lower_ in ("anti", "pro", "non")


def _agent_at(tokens: list[Token], end: int, agents: dict[str, Agent]) -> tuple[int, Agent] | None:
    """The longest agents-dictionary phrase ending at token index `end` (exclusive) of `tokens`."""
    for length in (4, 3, 2, 1):
        begin = end - length
        if begin < 0:
            continue
        phrase = " ".join(t.lower_ for t in tokens[begin:end])
        agent = agents.get(phrase) or (
            agents.get(" ".join([*(t.lower_ for t in tokens[begin : end - 1]), tokens[end - 1].lemma_.lower()]))
            if length == 1 or tokens[end - 1].tag_ in ("NNS", "NNPS")
            else None
        )
        if agent:
            return begin, agent
    return None


class ActorFinder:
    """Finds and codes actor mentions in parsed docs, with the dictionaries handed in once."""

    def __init__(self, dictionaries: Dictionaries) -> None:
        self.d = dictionaries
        self.people_by_alias = dictionaries.people_by_alias
        # Words that, right before a name, make it a person even when the model says ORG.
        self.person_titles = dictionaries.cue("person_title")

    # --- recognition ------------------------------------------------------------------------

    def find(self, doc: Doc, offset: int, first_sentence: int) -> list[Mention]:
        """Mentions in one parsed chunk, from entities (dictionary or model) and agent nouns."""
        sentence_of = {}
        for i, sent in enumerate(doc.sents):
            for t in sent:
                sentence_of[t.i] = first_sentence + i
        mentions: list[Mention] = []
        covered = [False] * len(doc)
        for ent in doc.ents:
            mention = self._from_entity(ent, offset, sentence_of[ent.start])
            if mention:
                mentions.append(mention)
                for i in range(ent.start, ent.end):
                    covered[i] = True
        mentions.extend(self._agents(doc, covered, mentions, offset, sentence_of))
        mentions.sort(key=lambda m: m.start)
        return mentions

    def _from_entity(self, ent: Span, offset: int, sentence: int) -> Mention | None:
        kind, _, key = ent.ent_id_.partition(":")
        text = ent.text
        base = _Where(
            start=ent.start_char + offset,
            end=ent.end_char + offset,
            token_start=ent.start,
            token_end=ent.end,
            sentence=sentence,
            text=text,
        )
        if kind == "place":
            place = self.d.places[key]
            return Mention(
                **base,
                type=COUNTRY,
                name=self.d.country_names.get(place.country, place.country),
                country=place.country,
                sector=None,
                code=place.country,
                confidence=0.95,
                role=place.kind,
            )
        if kind == "org":
            org = self.d.organisations[key]
            org_type = ORG
            return Mention(
                **base,
                type=org_type,
                name=org.name,
                country=org.country,
                sector=None,
                code=org.code,
                confidence=0.95,
                org_code=org.code,
                role=org.type,
            )
        if kind == "person":
            return Mention(**base, type=PERSON, name=key, country=None, sector=None, code=None, confidence=0.9)
        label = ent.label_
        text = text.removesuffix("'s").removesuffix("’s").strip()
        if not text:
            return None
        if label == "PERSON" or (label in ("ORG", "GPE", "NORP", "FAC") and self._titled(ent)):
            return Mention(**base, type=PERSON, name=text, country=None, sector=None, code=None, confidence=0.7)
        if label == "ORG":
            return self._organisation_by_agent(ent, base)
        if label in ("GPE", "LOC", "FAC"):
            return Mention(**base, type=LOCATION, name=text, country=None, sector=None, code=None, confidence=0.5)
        if label == "NORP":
            return Mention(**base, type=GROUP, name=text, country=None, sector=None, code=None, confidence=0.5)
        return None

    def _titled(self, ent: Span) -> bool:
        """A capitalised two-word name right after a title word is a person whatever the model says."""
        if ent.start == 0 or not 1 <= len(ent) <= 3 or not all(t.is_title for t in ent):
            return False
        previous = ent.doc[ent.start - 1]
        return previous.lower_ in self.person_titles or previous.lemma_.lower() in self.person_titles

    def _organisation_by_agent(self, ent: Span, base: _Where) -> Mention:
        """An unknown organisation named like an agent ("the defense ministry") gets that agent's sector."""
        tokens = [t for t in ent if t.lower_ != "the"]
        found = _agent_at(tokens, len(tokens), self.d.agents) if tokens else None
        sector = found[1].sector if found else None
        return Mention(
            **base,
            type=ORG,
            name=ent.text.removeprefix("the ").removeprefix("The "),
            country=None,
            sector=sector,
            code=sector,
            confidence=0.6 if sector else 0.4,
        )

    def _agents(
        self, doc: Doc, covered: list[bool], entities: list[Mention], offset: int, sentence_of: dict[int, int]
    ) -> list[Mention]:
        """Agent nouns ("police", "Israeli troops", "the defence ministers of Japan and Finland")."""
        by_token = {i: m for m in entities for i in range(m.token_start, m.token_end)}
        out: list[Mention] = []
        tokens = list(doc)
        for token in doc:
            if token.pos_ not in ("NOUN", "PROPN") or covered[token.i]:
                continue
            if (
                token.i + 1 < len(doc)
                and doc[token.i + 1].pos_ in ("NOUN", "PROPN")
                and doc[token.i + 1].dep_ == "compound"
                and not covered[token.i + 1]
            ):
                continue  # not the head of its compound; the head is matched with it
            found = _agent_at(tokens, token.i + 1, self.d.agents)
            if not found:
                continue
            if any(
                c.dep_ == "poss" and c.lower_ in ("its", "their", "our", "my", "your") for c in token.children
            ) and found[1].sector in ("OPP", "BUS", "MED", "EDU", "LAB"):
                continue  # "its opposition", "their business": an attribute, not an actor
            begin, agent = found
            if any(covered[i] for i in range(begin, token.i + 1)):
                begin = token.i
            # A title right before a person's name belongs to that person, not to an agent mention.
            nxt = token.i + 1
            if nxt < len(doc) and nxt in by_token and by_token[nxt].type == PERSON:
                continue
            country, country_tokens = self._agent_country(token, by_token)
            owner = self._agent_organisation(token, by_token)
            start_token = (
                min([begin, *country_tokens]) if country_tokens and min(country_tokens) >= token.i - 3 else begin
            )
            span = doc[start_token : token.i + 1]
            if owner is not None:
                # "Islamic State fighters" are Islamic State: the organisation's code, not a bare REB.
                out.append(
                    Mention(
                        start=doc[owner.token_start].idx + offset,
                        end=span.end_char + offset,
                        token_start=owner.token_start,
                        token_end=span.end,
                        sentence=sentence_of[token.i],
                        text=doc[owner.token_start : span.end].text,
                        type=ORG,
                        name=owner.name,
                        country=owner.country,
                        sector=agent.sector,
                        code=owner.code,
                        confidence=0.8,
                        role=agent.phrase,
                        org_code=owner.code,
                    )
                )
                continue
            out.append(
                Mention(
                    start=span.start_char + offset,
                    end=span.end_char + offset,
                    token_start=span.start,
                    token_end=span.end,
                    sentence=sentence_of[token.i],
                    text=span.text,
                    type=AGENT,
                    name=span.text,
                    country=country,
                    sector=agent.sector,
                    code=compose_code(country, agent.sector),
                    confidence=0.7 if country else 0.5,
                    role=agent.phrase,
                )
            )
        return out

    @staticmethod
    def _agent_organisation(head: Token, by_token: dict[int, Mention]) -> Mention | None:
        for child in head.children:
            m = by_token.get(child.i)
            if (
                child.dep_ in ("compound", "nmod", "amod")
                and m is not None
                and m.type == ORG
                and m.org_code
                and not m.org_code.startswith("IGO")
            ):
                return m
        return None

    @staticmethod
    def _agent_country(head: Token, by_token: dict[int, Mention]) -> tuple[str | None, list[int]]:
        """The country of an agent noun from its modifiers: "Kenyan police", "Japan's army", "police in Tbilisi".
        "anti-Syria journalist" and "pro-Russian separatists" are not of that country."""
        for child in head.children:
            if (
                child.dep_ in ("amod", "compound", "poss", "nmod")
                and child.i in by_token
                and not _stance_prefixed(child)
            ):
                m = by_token[child.i]
                if m.country:
                    return m.country, [m.token_start]
                if m.type == ORG and m.code and m.code.startswith("IGO"):
                    return m.code, [m.token_start]  # "European Community foreign ministers"
        for child in head.children:
            if child.dep_ == "prep" and child.lower_ in ("of", "in", "from"):
                for grandchild in child.children:
                    if grandchild.dep_ == "pobj" and grandchild.i in by_token and by_token[grandchild.i].country:
                        return by_token[grandchild.i].country, []
        return None, []

    # --- resolution within one article ---------------------------------------------------------

    def resolve(
        self,
        docs_mentions: list[tuple[Doc, list[Mention]]],
        published: date | None,
        known: dict[str, tuple[str | None, str | None]],
    ) -> list[Mention]:
        """Code people: full names first, then short and misspelt repeats, then context and known actors."""
        people: dict[str, Mention] = {}  # canonical name -> a resolved mention of that person
        resolved_all: list[Mention] = []
        for doc, mentions in docs_mentions:
            by_token = {i: m for m in mentions for i in range(m.token_start, m.token_end)}
            for mention in mentions:
                if mention.type == PERSON:
                    self._resolve_person(doc, mention, by_token, people, published, known)
            resolved_all.extend(mentions)
        # Second pass: "counterpart" takes the sector of the person it is the counterpart of.
        for _doc, mentions in docs_mentions:
            persons = [m for m in mentions if m.type == PERSON]
            for mention in persons:
                if mention.counterpart and not mention.titled:
                    other = next(
                        (
                            p
                            for p in reversed(persons)
                            if p.start < mention.start and p.sentence == mention.sentence and p.sector
                        ),
                        None,
                    )
                    if other:
                        mention.sector = other.sector
                        mention.code = compose_code(mention.country, mention.sector)
                        canonical = people.get(mention.name)
                        if canonical is not None and canonical.sector is None:
                            canonical.sector, canonical.code = mention.sector, mention.code
        for doc, mentions in docs_mentions:
            self._agents_of_people(doc, mentions)
            self._groups_with_nationality(doc, mentions)
        self._dominant_country(resolved_all)
        # Untitled repeats ("Hamada", "Hamad") take the coding of the person's best mention.
        for mention in resolved_all:
            if mention.type == PERSON and mention.name in people and not mention.titled:
                best = people[mention.name]
                if best.code:
                    mention.country, mention.sector, mention.code = best.country, best.sector, best.code
                    mention.role = mention.role if mention.role and not best.role else best.role
        return resolved_all

    @staticmethod
    def _agents_of_people(doc: Doc, mentions: list[Mention]) -> None:
        """ "the Bush administration", "Putin's government": the agent is of its person's country."""
        by_token = {i: m for m in mentions for i in range(m.token_start, m.token_end)}
        for m in mentions:
            if m.type != AGENT or m.country:
                continue
            for child in doc[m.token_end - 1].children:
                owner = by_token.get(child.i)
                if child.dep_ in ("compound", "poss") and owner is not None and owner.type == PERSON and owner.country:
                    m.country, m.code = owner.country, compose_code(owner.country, m.sector)
                    break

    @staticmethod
    def _groups_with_nationality(doc: Doc, mentions: list[Mention]) -> None:
        """ "Iraqi Kurds", "Afghan guerrillas": an uncoded group takes the nationality before it."""
        by_token = {i: m for m in mentions for i in range(m.token_start, m.token_end)}
        for m in mentions:
            if m.country or m.type not in (GROUP, ORG, LOCATION):
                continue
            for child in doc[m.token_end - 1].children:
                modifier = by_token.get(child.i)
                if (
                    child.dep_ in ("amod", "compound")
                    and modifier is not None
                    and modifier.type == COUNTRY
                    and modifier.role == "adjective"
                    and not _stance_prefixed(child)
                ):
                    m.country = modifier.country
                    m.code = compose_code(modifier.country, m.sector)
                    break

    @staticmethod
    def _dominant_country(mentions: list[Mention]) -> None:
        """People and agents whose role is known but not their country ("President Dina Boluarte",
        "protesters") are taken to be of the country the article is mostly about, when one
        country clearly dominates its mentions."""
        counts: dict[str, int] = {}
        for m in mentions:
            if m.type == COUNTRY and m.country:
                counts[m.country] = counts.get(m.country, 0) + 1
        if not counts:
            return
        country, top = max(counts.items(), key=lambda item: item[1])
        if top < 3 or top / sum(counts.values()) < 0.4:
            return
        for m in mentions:
            if (
                m.country is None
                and m.sector
                and m.sector != "ELI"
                and m.type in (PERSON, AGENT, ORG)
                and not (m.code or "").startswith(("IGO", "NGO"))
            ):
                m.country = country
                m.code = compose_code(country, m.sector)
                m.confidence = round(m.confidence * 0.7, 3)

    def _resolve_person(
        self,
        doc: Doc,
        mention: Mention,
        by_token: dict[int, Mention],
        people: dict[str, Mention],
        published: date | None,
        known: dict[str, tuple[str | None, str | None]],
    ) -> None:
        tokens = mention.name.split()
        person = self._person(mention.name, published) or self._person(mention.text, published)
        if person is None and len(tokens) == 1:
            # "Kishida" after "Fumio Kishida"; "Simonyt" after "Ingrida Simonyte" (a typo in the source).
            match = self._match_earlier(mention.name, people)
            if match:
                mention.name = match
                mention.confidence = min(mention.confidence, 0.8)
                person = self.d.people.get(match)
        if person is not None:
            mention.name = person.name
        title_country, title_sector, title_role, counterpart = self._title_context(doc, mention, by_token)
        mention.counterpart = counterpart
        office = person.office_on(published) if person else None
        if person and office is None and not title_sector and person.offices:
            # Out of office on that date: before the first term only the country is known; after
            # a term the person is a former official (CAMEO ELI).
            latest = person.latest_office()
            assert latest is not None  # the person has offices
            first = min(o.start for o in person.offices)
            if published is None:
                office = latest
            elif published < first:
                office = replace(latest, sectors=(), role=None)
            else:
                office = replace(latest, sectors=("ELI",), role=f"former {latest.role}")
        latest = person.latest_office() if person else None
        country = title_country or (office.country if office else None) or (latest.country if latest else None)
        sector = title_sector or (office.sectors[0] if office and office.sectors else None)
        if office and office.country.startswith("IGO"):
            country, sector = office.country, None
        if country is None and sector is None and mention.name in known:
            country, code = known[mention.name]
            sector = code[3:] if code and country and code.startswith(country) and len(code) > 3 else None
            mention.confidence = min(mention.confidence, 0.6)
        mention.titled = bool(title_sector)
        mention.country, mention.sector = country, sector
        mention.role = title_role or (office.role if office else None)
        mention.code = compose_code(country, sector)
        previous = people.get(mention.name)
        if previous is None or self._rank(mention) > self._rank(previous):
            people[mention.name] = mention

    @staticmethod
    def _rank(mention: Mention) -> tuple:
        """Which mention of a person codes all of them: titled in the text, then coded, then longest."""
        return (mention.titled, bool(mention.sector and mention.sector != "ELI"), bool(mention.code), len(mention.text))

    def _person(self, alias: str, published: date | None) -> Person | None:
        """The dictionary person an alias stands for on the article's date (nearest term wins)."""
        candidates = self.people_by_alias.get(alias)
        if not candidates:
            return None
        return min(candidates, key=lambda p: p.distance(published)) if len(candidates) > 1 else candidates[0]

    def _match_earlier(self, name: str, people: dict[str, Mention]) -> str | None:
        best, best_score = None, 0.0
        for full in people:
            parts = full.split()
            if len(parts) < 2:
                continue
            for part in parts:
                if part == name:
                    return full
                score = fuzz.ratio(name.lower(), part.lower())
                if score >= FUZZY_NAME_SCORE and name[:3].lower() == part[:3].lower() and score > best_score:
                    best, best_score = full, score
        return best

    def _title_context(
        self, doc: Doc, mention: Mention, by_token: dict[int, Mention]
    ) -> tuple[str | None, str | None, str | None, bool]:
        """Country, sector and role from the words around a name: a title before it
        ("Defense Minister", "his Lithuanian counterpart") or an apposition after it (", Japan's foreign minister,")."""
        country = sector = role = None
        counterpart = False
        sent_start = doc[mention.token_start].sent.start
        window: list[Token] = []
        i = mention.token_start - 1
        while i >= max(sent_start, mention.token_start - TITLE_WINDOW):
            t = doc[i]
            if (
                t.pos_ in ("VERB", "AUX", "CCONJ", "SCONJ")
                or (t.pos_ == "ADP" and t.lower_ != "of")
                or (t.is_punct and t.text not in ("-", "'s"))
                or (i in by_token and by_token[i].type == PERSON)
            ):
                break
            window.insert(0, t)
            i -= 1
        root = doc[mention.token_end - 1]
        if root.dep_ == "appos" and root.head.i < mention.token_start:
            # "Qatar's emir, Sheikh Hamad bin Khalifa": the title phrase is the name's head.
            window = [t for t in root.head.subtree if t.i < mention.token_start and t.text != ","] + window
        if mention.token_end < len(doc) and doc[mention.token_end].text == ",":
            j = mention.token_end + 1
            after = []
            while (
                j < len(doc)
                and j < mention.token_end + 1 + TITLE_WINDOW
                and doc[j].text not in (",", ".", ";")
                and doc[j].pos_ not in ("VERB", "AUX")
            ):
                after.append(doc[j])
                j += 1
            if after and (j >= len(doc) or doc[j].text in (",", ".", ";")):
                window.extend(after)
        tokens = [t for t in window]
        for end in range(len(tokens), 0, -1):
            found = _agent_at(tokens, end, self.d.agents)
            if found and sector is None:
                begin, agent = found
                sector = agent.sector
                role = agent.phrase
        for t in tokens:
            if t.lower_ == COUNTERPART or t.lemma_ == COUNTERPART:
                counterpart = True
            m = by_token.get(t.i)
            if m and m.type in (COUNTRY, AGENT) and m.country and country is None:
                country = m.country
        if sector == "ELI" and country is None:
            sector = None
        return country, sector, role, counterpart
