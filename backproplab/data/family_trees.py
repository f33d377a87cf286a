"""Hinton's (1986) family trees: two isomorphic families, English and Italian.

English (the paper's figure, couples written husband = wife):

    Christopher = Penelope      children Arthur and Victoria
    Andrew = Christine          children James and Jennifer
    Arthur = Margaret           (Margaret married in)
    James = Victoria            children Colin and Charlotte
    Charles = Jennifer          (Charles married in)

Italian, position by position: Roberto = Maria (Emilio, Lucia), Pierro =
Francesca (Marco, Angela), Emilio = Gina, Marco = Lucia (Alfonso, Sophia),
Tomaso = Angela.

Twelve relations: father, mother, husband, wife, son, daughter, uncle, aunt,
brother, sister, nephew, niece. Uncles and aunts include those by marriage
(Colin's uncles are Arthur and Charles, his aunts Jennifer and Margaret).

Counting: a question (person1, relation) can have more than one answer (Colin's
two aunts). There are 104 questions with at least one answer, the paper's 104
input-output cases (the network's target is the set of all correct answers),
and 112 facts (person1, relation, person2) when each answer is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FamilyTrees", "family_trees", "RELATIONS"]

RELATIONS = ("father", "mother", "husband", "wife", "son", "daughter",
             "uncle", "aunt", "brother", "sister", "nephew", "niece")

# One family, written with position names; the Italian family maps onto them.
_ENGLISH = {
    "gf1": "Christopher", "gm1": "Penelope", "gf2": "Andrew", "gm2": "Christine",
    "son1": "Arthur", "inlaw_w": "Margaret", "dau1": "Victoria", "son2": "James",
    "dau2": "Jennifer", "inlaw_h": "Charles", "child_m": "Colin", "child_f": "Charlotte",
}
_ITALIAN = {
    "gf1": "Roberto", "gm1": "Maria", "gf2": "Pierro", "gm2": "Francesca",
    "son1": "Emilio", "inlaw_w": "Gina", "dau1": "Lucia", "son2": "Marco",
    "dau2": "Angela", "inlaw_h": "Tomaso", "child_m": "Alfonso", "child_f": "Sophia",
}
_MALE = {"gf1", "gf2", "son1", "son2", "inlaw_h", "child_m"}
_COUPLES = [("gf1", "gm1"), ("gf2", "gm2"), ("son1", "inlaw_w"), ("son2", "dau1"), ("inlaw_h", "dau2")]
_CHILDREN = {("gf1", "gm1"): ["son1", "dau1"], ("gf2", "gm2"): ["son2", "dau2"],
             ("son2", "dau1"): ["child_m", "child_f"]}


def _facts():
    """(person1, relation, person2) in position names, derived from couples and children."""
    spouse, parents = {}, {}
    for h, w in _COUPLES:
        spouse[h], spouse[w] = w, h
    for (f, m), kids in _CHILDREN.items():
        for k in kids:
            parents[k] = (f, m)
    children = {p: [k for k, fm in parents.items() if p in fm] for p in _ENGLISH}

    def siblings(p):
        return [q for q in parents if q != p and p in parents and parents[q] == parents[p]]

    facts = set()
    for p in _ENGLISH:
        if p in spouse:
            facts.add((p, "wife" if p in _MALE else "husband", spouse[p]))
        if p in parents:
            f, m = parents[p]
            facts |= {(p, "father", f), (p, "mother", m)}
        for k in children[p]:
            facts.add((p, "son" if k in _MALE else "daughter", k))
        for s in siblings(p):
            facts.add((p, "brother" if s in _MALE else "sister", s))
        # uncles and aunts: parents' siblings and their spouses
        for parent in parents.get(p, ()):
            for s in siblings(parent):
                for relative in [s] + ([spouse[s]] if s in spouse else []):
                    facts.add((p, "uncle" if relative in _MALE else "aunt", relative))
    for p1, rel, p2 in list(facts):  # nephews and nieces: the inverse of uncle/aunt
        if rel in ("uncle", "aunt"):
            facts.add((p2, "nephew" if p1 in _MALE else "niece", p1))
    return facts


@dataclass(frozen=True)
class FamilyTrees:
    """people (24 names: English 0-11, Italian 12-23), relations (12 names),
    facts: every (person1, relation, person2) as name triples (112),
    cases: every (person1, relation) question with its set of answers (104)."""

    people: tuple
    relations: tuple
    facts: tuple
    cases: tuple

    def arrays(self, dtype="float64"):
        """The network's data, one row per case: person1 one-hot (104, 24),
        relation one-hot (104, 12), and targets (104, 24) with a 1 for each answer."""
        index = {name: i for i, name in enumerate(self.people)}
        rel = {name: i for i, name in enumerate(self.relations)}
        n = len(self.cases)
        p1 = np.zeros((n, len(self.people)), dtype)
        r = np.zeros((n, len(self.relations)), dtype)
        t = np.zeros((n, len(self.people)), dtype)
        for row, (person, relation, answers) in enumerate(self.cases):
            p1[row, index[person]] = 1
            r[row, rel[relation]] = 1
            for a in answers:
                t[row, index[a]] = 1
        return p1, r, t


def family_trees() -> FamilyTrees:
    """Both families' facts and cases, in a fixed order (English first)."""
    positions = list(_ENGLISH)
    people = tuple(_ENGLISH[p] for p in positions) + tuple(_ITALIAN[p] for p in positions)
    order = {p: i for i, p in enumerate(positions)}
    rel_order = {r: i for i, r in enumerate(RELATIONS)}
    base = sorted(_facts(), key=lambda f: (order[f[0]], rel_order[f[1]], order[f[2]]))
    facts, cases = [], []
    for names in (_ENGLISH, _ITALIAN):
        facts += [(names[a], rel, names[b]) for a, rel, b in base]
        grouped = {}
        for a, rel, b in base:
            grouped.setdefault((a, rel), []).append(names[b])
        cases += [(names[a], rel, tuple(answers)) for (a, rel), answers in grouped.items()]
    return FamilyTrees(people, RELATIONS, tuple(facts), tuple(cases))
