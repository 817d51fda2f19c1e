"""Political relevance: which events a user of political event data wants at all.

An event needs a political actor on at least one side (PETRARCH2's `require_dyad`, Phoenix's discard
lists do the same): a state, a government, military, police, court, legislature, party, IGO, NGO,
rebels or armed groups; protesters, workers and refugees only as the source of a protest; criminals only
for violence or threats against people (ANNOTATION.md's rules). A film studio that "produces" and a
team that "beats" another code nothing, however the verb reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from transforms.actors import AGENT, COUNTRY, GROUP, ORG, PERSON, Mention
from transforms.dictionaries import POLITICAL_SECTORS

VIOLENT_ROOTS = frozenset({"18", "19", "20"})
# Sectors that are political only as the source of some kinds of event (CAMEO roots).
CONDITIONAL_SECTORS = {
    "CVL": frozenset({"14"}),  # protesters, activists
    "LAB": frozenset({"14"}),  # strikes
    "REF": frozenset({"14"}),
    "CRM": frozenset({"13", "17", "18", "19", "20"}),  # a kidnapping, a stabbing, a threat to kill
    "UAF": frozenset({"13", "17", "18", "19", "20"}),
}


def political(m: Mention | None, root: str, as_source: bool) -> bool:
    """Whether `m` makes an event of CAMEO root `root` political."""
    if m is None or not m.code:
        return False
    code = m.code
    if code.startswith(("IGO", "NGO")) or m.type == COUNTRY and m.role not in ("implied", "city", "region"):
        return True  # a state by its name, capital or seat ("Manchester United" is a team, not Britain)
    if m.type == ORG and (m.org_code or code) and not m.sector:
        return True  # a coded organisation from organisations.tsv: IGOs, NGOs, parties, armed groups
    sector = m.sector or (code[3:6] if len(code) >= 6 else None)
    if sector in POLITICAL_SECTORS:
        return True
    if as_source and sector in CONDITIONAL_SECTORS and root in CONDITIONAL_SECTORS[sector]:
        return True
    if not as_source and root in VIOLENT_ROOTS and m.type != COUNTRY:
        return True  # killings and bombings of civilians are event data whoever did them
    if m.type == GROUP and as_source and root in ("14", "13", "17", "18", "19", "20"):
        return True  # "Iraqi Kurds demonstrated": a people or community as protesters or fighters
    if m.type == COUNTRY and m.role == "implied":
        return False
    return m.type in (PERSON, AGENT) and sector is None and bool(m.country)


def has_political_actor(sources: Sequence[Mention | None], targets: Sequence[Mention | None], root: str) -> bool:
    """At least one side of the event is a political actor."""
    return any(political(m, root, True) for m in sources) or any(political(m, root, False) for m in targets)
