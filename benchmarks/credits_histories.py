"""Synthetic edit histories of one page with the true author of every token (for credits_accuracy.py).

A deterministic generator: authors take turns adding paragraphs, sentences,
lists, tables and headings, fixing one word, inserting or removing a few
words, rewriting a sentence, moving paragraphs and sentences, re-wrapping and
re-indenting, changing Markdown syntax (heading level, list marker, quote),
splitting and merging paragraphs, deleting text that someone else re-adds
later (sometimes with a fix), renaming the page; vandals damage the page
(blanking, garbage words, a replaced or half-deleted page) and the next
author reverts it. Every token carries its true author and the phenomena it
went through (``tags``), which the benchmark scores separately.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass, field

WORDS = """aide allocation accueil adresse agence avis bail banque besoin budget caisse carte cas centre
charge chaque compte conseil contrat courrier date dossier droit durée délai démarche enfant emploi
espace famille fiche formulaire foyer frais guichet justificatif loyer logement mairie montant mois
médiation numéro papier parent permanence personne pièce preuve projet rendez-vous recours rentrée
revenu réponse service situation solidarité somme soutien titre travail usager versement ville
accompagne demande envoie remplit vérifie signe dépose reçoit attend calcule ouvre ferme aide
simple rapide gratuit complet récent mensuel annuel social local urgent utile nouveau ancien
avant après pendant depuis selon pour sans avec chez dans sur sous entre vers contre parmi
toujours souvent parfois jamais bientôt ensuite enfin aussi encore déjà vraiment surtout""".replace("-", "").split()
FUNCTION_WORDS = "de la le les des et en à un une du pour est dans que qui par au".split()
FUNCTION_SHARE = 0.35  # as in French prose: common words that new text shares with any old text
AUTHORS = ["ana", "bruno", "chloe", "david", "emma", "farid"]
VANDALS = ["troll-1", "troll-2"]
GARBAGE = "lol nul spam achetez gratuit cliquez ici bitcoin xxx vite promo".split()
OPS = {"add_block": 10, "add_sentence": 10, "fix_word": 14, "insert_words": 5, "delete_words": 5,
       "rewrite_sentence": 4, "paraphrase": 4, "move_block": 7, "move_sentence": 7, "rewrap": 7, "syntax": 6,
       "split_merge": 4, "delete_block": 4, "delete_sentence": 4, "readd": 6, "vandalism": 6, "rename": 2}
MARKERS = ["-", "*", "+", "1."]


@dataclass(eq=False)
class Tok:
    """A token with its true author and the phenomena it went through."""

    value: str
    author: str
    tags: set[str] = field(default_factory=set)


@dataclass
class Block:
    """A paragraph: text (sentences), heading, list (items), quote (sentences) or table (rows of 3 cells)."""

    kind: str
    rows: list[list[Tok]]
    style: int = 1
    width: int = 72
    indent: int = 0

    def tokens(self) -> list[Tok]:
        return [t for row in self.rows for t in row]


Doc = list[Block]


def copy(doc: Doc) -> Doc:
    """The same tokens in new lists (so a snapshot survives later edits)."""
    return [Block(b.kind, [list(r) for r in b.rows], b.style, b.width, b.indent) for b in doc]


def word(rng: random.Random) -> str:
    return rng.choice(FUNCTION_WORDS) if rng.random() < FUNCTION_SHARE else rng.choice(WORDS)


def sentence(rng: random.Random, author: str, low: int = 6, high: int = 16, end: bool = True) -> list[Tok]:
    words = [word(rng) for _ in range(rng.randint(low, high))]
    words[0] = words[0].capitalize()
    toks = [Tok(w, author) for w in words]
    if len(toks) > 8 and rng.random() < 0.5:
        toks.insert(rng.randint(3, len(toks) - 3), Tok(",", author))
    return toks + [Tok(".", author)] if end else toks


def new_block(rng: random.Random, author: str) -> Block:
    kind = rng.choices(["text", "heading", "list", "quote", "table"], [8, 2, 2, 1, 1])[0]
    if kind == "heading":
        return Block(kind, [sentence(rng, author, 2, 6, end=False)], style=rng.randint(2, 3))
    if kind == "table":
        rows = [[Tok(rng.choice(WORDS), author) for _ in range(3)] for _ in range(rng.randint(2, 4))]
        return Block(kind, rows)
    if kind == "list":
        return Block(kind, [sentence(rng, author, 3, 10) for _ in range(rng.randint(2, 4))], style=rng.randint(0, 3))
    return Block(kind, [sentence(rng, author) for _ in range(rng.randint(1, 4))], width=rng.randint(50, 100))


# -- rendering -----------------------------------------------------------------------------------------


def words(row: list[Tok]) -> str:
    out = ""
    for tok in row:
        out += tok.value if tok.value in ",." or not out else " " + tok.value
    return out


def wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def render_block(block: Block) -> str:
    pad = " " * block.indent
    if block.kind == "heading":
        return "#" * block.style + " " + words(block.rows[0])
    if block.kind == "table":
        lines = ["| " + " | ".join(t.value for t in row) + " |" for row in block.rows]
        return "\n".join(lines[:1] + ["|---|:---:|---|"] + lines[1:])
    if block.kind == "list":
        lines = []
        for number, item in enumerate(block.rows, 1):
            marker = f"{number}." if MARKERS[block.style % 4] == "1." else MARKERS[block.style % 4]
            first, *rest = wrap(words(item), block.width)
            lines += [f"{pad}{marker} {first}"] + [f"{pad}   {line}" for line in rest]
        return "\n".join(lines)
    prefix = pad + ("> " if block.kind == "quote" else "")
    return "\n".join(prefix + line for line in wrap(" ".join(words(s) for s in block.rows), block.width))


def render(doc: Doc) -> str:
    return "\n\n".join(render_block(b) for b in doc) + "\n"


# -- edits ---------------------------------------------------------------------------------------------------


class History:
    """One page's synthetic history: the document, what was deleted, and the revisions written so far."""

    def __init__(self, rng: random.Random, number: int) -> None:
        self.rng = rng
        self.number, self.renames = number, 0
        self.path = f"guides/page-{number}"
        self.doc: Doc = [Block("heading", [sentence(rng, AUTHORS[0], 2, 5, end=False)], style=1)]
        self.doc += [new_block(rng, AUTHORS[0]) for _ in range(rng.randint(3, 5))]
        self.buried: list[tuple[int, Block | list[Tok]]] = []
        self.revisions: list[tuple[str, str, str, str | None]] = []
        self.commit(AUTHORS[0])

    def render_text(self) -> str:
        """The page's Markdown as it stands."""
        return render(self.doc)

    def commit(self, author: str, old_path: str | None = None) -> None:
        self.revisions.append((author, self.path, render(self.doc), old_path))

    def sentences(self, kinds: tuple[str, ...] = ("text", "quote", "list", "heading")) -> list[tuple[Block, int]]:
        return [(b, i) for b in self.doc if b.kind in kinds for i in range(len(b.rows))]

    def step(self, author: str) -> None:
        op = self.rng.choices(list(OPS), list(OPS.values()))[0]
        if op == "vandalism":
            self.vandalise_and_revert(author)
            return
        old_path = self.path
        if getattr(self, op)(author) is not False:
            self.commit(author, old_path if self.path != old_path else None)

    def add_block(self, author: str) -> None:
        self.doc.insert(self.rng.randint(1, len(self.doc)), new_block(self.rng, author))

    def add_sentence(self, author: str) -> bool:
        found = self.sentences(("text", "quote"))
        if not found:
            return False
        block, index = self.rng.choice(found)
        block.rows.insert(self.rng.randint(0, len(block.rows)), sentence(self.rng, author))
        return True

    def _word(self) -> tuple[list[Tok], int] | None:
        found = [(b.rows[i], k) for b, i in self.sentences() for k, t in enumerate(b.rows[i]) if t.value not in ",."]
        return self.rng.choice(found) if found else None

    def fix_word(self, author: str) -> bool:
        found = self._word()
        if found is None:
            return False
        row, k = found
        choices = [w for w in WORDS if w.lower() != row[k].value.lower()]
        row[k] = Tok(self.rng.choice(choices), author)
        for tok in row:
            tok.tags.add("fix")
        return True

    def insert_words(self, author: str) -> bool:
        found = self._word()
        if found is None:
            return False
        row, k = found
        row[k + 1:k + 1] = [Tok(word(self.rng), author) for _ in range(self.rng.randint(1, 3))]
        for tok in row:
            tok.tags.add("fix")
        return True

    def delete_words(self, author: str) -> bool:
        found = self._word()
        if found is None or len(found[0]) < 6:
            return False
        row, k = found
        del row[k:k + self.rng.randint(1, 2)]
        for tok in row:
            tok.tags.add("fix")
        return True

    def paraphrase(self, author: str) -> bool:
        """Replace two to four words of one sentence (kept words keep their authors)."""
        found = [(b, i) for b, i in self.sentences(("text", "quote")) if len(b.rows[i]) >= 8]
        if not found:
            return False
        block, index = self.rng.choice(found)
        row = block.rows[index]
        for k in self.rng.sample([k for k, t in enumerate(row) if t.value not in ",."], self.rng.randint(2, 4)):
            row[k] = Tok(next(w for w in iter(lambda: word(self.rng), None) if w != row[k].value), author)
        for tok in row:
            tok.tags.add("paraphrase")
        return True

    def rewrite_sentence(self, author: str) -> bool:
        found = self.sentences(("text", "quote"))
        if not found:
            return False
        block, index = self.rng.choice(found)
        block.rows[index] = sentence(self.rng, author)
        return True

    def move_block(self, author: str) -> bool:
        if len(self.doc) < 3:
            return False
        block = self.doc.pop(self.rng.randint(1, len(self.doc) - 1))
        self.doc.insert(self.rng.randint(1, len(self.doc)), block)
        for tok in block.tokens():
            tok.tags.add("move-paragraph")
        return True

    def move_sentence(self, author: str) -> bool:
        found = [b for b in self.doc if b.kind in ("text", "quote", "list") and len(b.rows) >= 2]
        if not found:
            return False
        block = self.rng.choice(found)
        row = block.rows.pop(self.rng.randrange(len(block.rows)))
        block.rows.insert(self.rng.randint(0, len(block.rows)), row)
        for tok in row:
            tok.tags.add("move-sentence")
        return True

    def rewrap(self, author: str) -> bool:
        found = [b for b in self.doc if b.kind in ("text", "quote", "list")]
        if not found:
            return False
        block = self.rng.choice(found)
        block.width = self.rng.choice([w for w in range(40, 110, 7) if w != block.width])
        block.indent = self.rng.choice([0, 0, 2, 4]) if block.kind == "list" else 0
        for tok in block.tokens():
            tok.tags.add("rewrap")
        return True

    def syntax(self, author: str) -> bool:
        found = [b for b in self.doc[1:] if b.kind in ("heading", "list", "text", "quote")]
        if not found:
            return False
        block = self.rng.choice(found)
        if block.kind in ("text", "quote"):
            block.kind = "quote" if block.kind == "text" else "text"
        else:
            block.style = (block.style % (4 if block.kind == "list" else 3)) + 1
        for tok in block.tokens():
            tok.tags.add("syntax")
        return True

    def split_merge(self, author: str) -> bool:
        texts = [i for i, b in enumerate(self.doc) if b.kind == "text"]
        pairs = [i for i in texts if i + 1 in texts]
        if pairs and self.rng.random() < 0.5:
            i = self.rng.choice(pairs)
            self.doc[i].rows += self.doc.pop(i + 1).rows
        else:
            found = [i for i in texts if len(self.doc[i].rows) >= 2]
            if not found:
                return False
            i = self.rng.choice(found)
            cut = self.rng.randint(1, len(self.doc[i].rows) - 1)
            self.doc.insert(i + 1, Block("text", self.doc[i].rows[cut:], width=self.doc[i].width))
            del self.doc[i].rows[cut:]
        for tok in self.doc[i].tokens() + (self.doc[i + 1].tokens() if i + 1 < len(self.doc) else []):
            tok.tags.add("split-merge")
        return True

    def delete_block(self, author: str) -> bool:
        if len(self.doc) < 4:
            return False
        self.buried.append((len(self.revisions), self.doc.pop(self.rng.randint(1, len(self.doc) - 1))))
        return True

    def delete_sentence(self, author: str) -> bool:
        found = [(b, i) for b, i in self.sentences(("text", "quote")) if len(b.rows) >= 2]
        if not found:
            return False
        block, index = self.rng.choice(found)
        self.buried.append((len(self.revisions), block.rows.pop(index)))
        return True

    def readd(self, author: str) -> bool:
        ready = [entry for entry in self.buried if entry[0] <= len(self.revisions) - 2]
        if not ready:
            return False
        target = self.sentences(("text", "quote"))
        entry = self.rng.choice(ready)
        if not isinstance(entry[1], Block) and not target:
            return False
        self.buried.remove(entry)
        found = entry[1]
        if isinstance(found, Block):
            self.doc.insert(self.rng.randint(1, len(self.doc)), found)
        else:
            block, index = self.rng.choice(target)
            block.rows.insert(index, found)
        for tok in found.tokens() if isinstance(found, Block) else found:
            tok.tags.add("readd")
        if self.rng.random() < 0.3:
            self.fix_word(author)
        return True

    def rename(self, author: str) -> None:
        self.renames += 1
        self.path = f"guides/page-{self.number}-v{self.renames + 1}"

    def vandalise_and_revert(self, author: str) -> None:
        before = copy(self.doc)
        vandal = self.rng.choice(VANDALS)
        kind = self.rng.randrange(4)
        damaged: set[int] = set()
        if kind == 0:
            self.doc = [Block("text", [[Tok(w, vandal) for w in self.rng.sample(GARBAGE, 3)]])]
        elif kind == 1 and (found := self._word()):
            row, k = found
            damaged = {id(t) for t in row}
            row[k:k] = [Tok(w, vandal) for w in self.rng.sample(GARBAGE, self.rng.randint(2, 6))]
        elif kind == 2 and len(self.doc) > 2:
            self.doc[self.rng.randint(1, len(self.doc) - 1)] = Block("text", [sentence(self.rng, vandal)])
        else:
            self.doc = self.doc[: max(1, len(self.doc) // 2)]
        kept = {id(t) for b in self.doc for t in b.tokens()}
        self.commit(vandal)
        self.doc = before
        for tok in (t for b in before for t in b.tokens()):
            if id(tok) not in kept or id(tok) in damaged:
                tok.tags.add("revert")
        self.commit(author)


def generate(seed: int, number: int, revisions: int) -> History:
    """History ``number`` of the set ``seed``: at least ``revisions`` revisions, always the same."""
    rng = random.Random(seed * 100_003 + number)
    history = History(rng, number)
    while len(history.revisions) < revisions:
        history.step(rng.choice(AUTHORS))
    return history
