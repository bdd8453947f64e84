#!/usr/bin/env python3
"""Generate a large Commons repository for benchmarks.

    python benchmarks/generate.py DATA_DIR [--pages 10000] [--commits 50000]
                                           [--authors 50] [--seed 1]

Creates the bare repository ``DATA_DIR/repo.git`` (branch ``main``) and fills
it with a single ``git fast-import`` stream written through a pipe: no
checkout, no git process per commit. The first ``--pages`` commits each create
one page (``home.md`` first, then ``guides/populaire.md``, then pages spread
over ~50 folders); every later commit edits one existing page by changing,
adding or removing a paragraph. Edited pages follow a skewed distribution:
``guides/populaire.md`` gets a fixed share of the edits (``--hot-share``,
2 % by default, i.e. 801 revisions at the default sizes) and the other pages
a Zipf-like share, so some get hundreds of revisions and most only a few.

Everything is drawn from ``random.Random(seed)``: the same arguments give the
same repository, commit ids included. At the end it runs
``git commit-graph write --reachable --changed-paths`` and writes
``DATA_DIR/manifest.json`` (parameters, counts, most edited pages).

Standard library only; shows a tqdm bar when tqdm is importable.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
import unicodedata
from datetime import UTC, datetime

BRANCH = "main"
HOT_PAGE = "guides/populaire"
MIN_SIZE = 1024  # page size bounds, in UTF-8 bytes
MAX_SIZE = 6 * 1024
START = calendar.timegm((2019, 1, 1, 8, 0, 0))  # 2019-01-01 09:00 Paris time

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

SUBJECTS = [
    "le demandeur", "la demandeuse", "la caisse d'allocations familiales", "l'association",
    "le bénévole", "la bénévole", "la mairie", "le centre communal d'action sociale",
    "le service social", "la personne accompagnée", "le juge des enfants", "le juge aux affaires familiales",
    "le délégué à la protection des données", "la préfecture", "le bailleur", "le locataire",
    "l'assistante sociale", "le conseil départemental", "la famille", "le médiateur", "la médiatrice",
    "l'usager", "le référent", "la commission de médiation", "l'employeur", "le tribunal judiciaire",
    "le président de l'association", "la trésorière", "le secrétaire", "le conseil d'administration",
    "l'assemblée générale", "la Commission nationale de l'informatique et des libertés",
    "le responsable du traitement", "le sous-traitant", "l'aide sociale à l'enfance", "l'éducateur",
    "l'éducatrice", "le parent", "la mère", "le père", "le mineur", "l'enfant", "le tuteur",
    "la curatrice", "le mandataire judiciaire", "la banque", "le créancier", "la commission de surendettement",
    "le propriétaire", "le syndic", "l'huissier de justice", "le commissaire de justice", "l'avocat",
    "l'avocate", "le défenseur des droits", "le conciliateur de justice", "la sous-préfecture",
    "Pôle emploi", "France Travail", "l'assurance maladie", "la mutuelle", "le médecin traitant",
    "l'hôpital", "l'école", "le collège", "le rectorat", "la mission locale", "l'agence départementale",
    "le fournisseur d'énergie", "l'opérateur", "le guichet unique", "la maison France services",
]

VERBS = [
    "doit fournir", "peut contester", "examine", "transmet", "vérifie", "accompagne", "reçoit",
    "rédige", "complète", "signale", "conserve", "met à jour", "instruit", "précise", "réclame",
    "garantit", "délivre", "notifie", "refuse", "accepte", "étudie", "consulte", "archive",
    "supprime", "rectifie", "demande", "propose", "prépare", "envoie", "dépose", "signe", "valide",
    "peut demander", "doit conserver", "peut refuser", "doit informer", "doit respecter",
    "peut saisir", "doit justifier", "peut obtenir", "doit déclarer", "peut consulter",
    "doit présenter", "peut modifier", "a l'obligation de transmettre", "n'est pas tenu de fournir",
    "est chargé d'examiner", "se charge de vérifier", "contrôle", "finance", "organise", "anime",
    "coordonne", "facilite", "simplifie", "évalue", "renouvelle", "révise", "suspend", "rétablit",
]

OBJECTS = [
    "le dossier", "la demande d'allocation", "les données personnelles", "un justificatif de domicile",
    "l'attestation", "le formulaire Cerfa", "la décision", "le recours gracieux", "les pièces justificatives",
    "le contrat de location", "le relevé d'identité bancaire", "la déclaration de ressources",
    "le consentement", "le registre des traitements", "la mesure éducative", "le plan d'aide",
    "l'avis d'imposition", "le courrier recommandé", "la notification", "le dépôt de garantie",
    "l'état des lieux", "la quittance de loyer", "le bail", "la caution", "le jugement",
    "l'ordonnance de protection", "la convention", "les statuts", "le procès-verbal",
    "le rapport moral", "le rapport financier", "le budget prévisionnel", "la subvention",
    "la cotisation", "le reçu fiscal", "la fiche de paie", "le certificat médical",
    "la carte vitale", "le titre de séjour", "le récépissé", "la pièce d'identité", "le livret de famille",
    "le dossier de surendettement", "le plan de redressement", "la mesure de protection",
    "le signalement", "l'information préoccupante", "le projet pour l'enfant", "l'accord amiable",
    "la médiation familiale", "la pension alimentaire", "le droit de visite", "l'aide juridictionnelle",
    "le chèque énergie", "la facture d'électricité", "le contrat de travail", "l'attestation employeur",
    "la demande de logement social", "le numéro unique", "la proposition de relogement",
    "la prime d'activité", "le revenu de solidarité active", "l'allocation aux adultes handicapés",
    "la complémentaire santé solidaire", "le droit d'accès", "le droit de rectification",
    "le droit à l'effacement", "la politique de confidentialité", "la durée de conservation",
    "l'analyse d'impact", "la violation de données", "le mandat", "la procuration",
    "les démarches en ligne", "le compte personnel", "l'espace usager", "le rendez-vous",
]

COMPLEMENTS = [
    "dans un délai de deux mois", "avant la fin du mois", "auprès de la caisse",
    "par courrier recommandé avec accusé de réception", "en ligne sur le site du service public",
    "sans frais", "dès réception de la notification", "conformément au règlement général sur la protection des données",
    "en cas de changement de situation", "lors du premier rendez-vous", "à titre exceptionnel",
    "sous réserve de l'accord du juge", "chaque année", "dans les meilleurs délais",
    "au plus tard quinze jours avant l'audience", "pendant toute la durée de la procédure",
    "avec l'aide d'un travailleur social", "en présence des deux parents", "à la demande de l'intéressé",
    "dans le respect du secret professionnel", "selon les ressources du foyer", "pour une durée de trois ans",
    "à compter de la date de dépôt", "sur simple demande", "par voie électronique",
    "au guichet de la mairie", "dans les locaux de l'association", "avant toute décision",
    "en cas d'urgence", "sans condition de nationalité", "sous huit jours", "au cours de l'entretien",
    "après avis de la commission", "dans l'intérêt de l'enfant", "avec le consentement de la personne",
    "pour les ménages aux revenus modestes", "durant la trêve hivernale", "en dehors des heures d'ouverture",
    "à l'échéance du contrat", "dès le premier impayé", "par téléphone ou par courriel",
]

OPENERS = [
    "En pratique", "Par ailleurs", "Dans la plupart des cas", "En cas de refus", "Depuis la réforme",
    "À défaut de réponse", "Le cas échéant", "En principe", "Toutefois", "De plus", "Pour les mineurs",
    "Lorsque la situation l'exige", "Selon les départements", "En revanche", "Dans certains cas",
    "À titre d'exemple", "Concrètement", "En outre", "Néanmoins", "Avant tout", "Dans tous les cas",
    "Pour les personnes âgées", "En l'absence de justificatif", "Après l'audience", "Pendant l'instruction",
    "Si la demande est incomplète", "Lorsque le délai est dépassé", "Pour les associations employeuses",
]

PURPOSES = [
    "Pour obtenir", "Afin de protéger", "Avant de contester", "Pour renouveler", "Afin de compléter",
    "Pour faire valoir", "Avant de signer", "Pour accéder à", "Afin de sécuriser", "Pour préparer",
    "Avant de transmettre", "Pour demander", "Afin de simplifier", "Pour modifier",
]

ADJECTIVES = [
    "obligatoire", "gratuit", "confidentiel", "indispensable", "révisé chaque année",
    "réservé aux personnes majeures", "soumis à conditions de ressources", "accessible en ligne",
    "strictement personnel", "facultatif mais recommandé", "valable un an", "renouvelable",
    "encadré par la loi", "susceptible de recours", "traité en priorité", "examiné au cas par cas",
    "disponible en plusieurs langues", "opposable au bailleur", "limité aux seules données nécessaires",
    "soumis à l'avis préalable de la commission", "exonéré de frais", "publié au Journal officiel",
]

UNITS = [
    ("Le montant maximal est de", "€ par mois", 50, 950), ("Le délai de traitement est d'environ", "jours", 5, 90),
    ("La durée de conservation ne dépasse pas", "mois", 3, 60),
    ("Le plafond de ressources est fixé à", "€ par an", 9000, 42000),
    ("Le nombre de places disponibles s'élève à", "places", 5, 300), ("La cotisation annuelle est de", "€", 5, 80),
    ("Le délai de recours est de", "jours", 8, 60), ("L'aide forfaitaire atteint", "€", 100, 1500),
]
SIMPLE_VERBS = [v for v in VERBS if " " not in v]

TOPICS = [
    "Allocation logement", "Médiation familiale", "Données personnelles", "Protection de l'enfance",
    "Aide juridictionnelle", "Surendettement", "Expulsion locative", "Recours administratif",
    "Accès aux droits", "Revenu de solidarité active", "Prime d'activité", "Démarches en ligne",
    "Hébergement d'urgence", "Droit au logement opposable", "Assurance maladie",
    "Complémentaire santé solidaire", "Tutelle et curatelle", "Bénévolat", "Statuts de l'association",
    "Assemblée générale", "Subventions publiques", "Registre des traitements", "Droit d'accès",
    "Consentement", "Violences conjugales", "Titre de séjour", "Scolarisation", "Pension alimentaire",
    "Chèque énergie", "Impayés de loyer", "Dépôt de garantie", "État des lieux", "Logement social",
    "Aide à domicile", "Allocation aux adultes handicapés", "Retraite", "Chômage partiel",
    "Contrat de travail", "Rupture conventionnelle", "Mutuelle", "Carte vitale", "Garde d'enfants",
    "Autorité parentale", "Divorce par consentement mutuel", "Succession", "Procuration",
    "Signalement", "Information préoccupante", "Placement familial", "Adoption", "Mineurs non accompagnés",
    "Accompagnement budgétaire", "Microcrédit", "Précarité énergétique", "Transport solidaire",
    "Inclusion numérique", "Fracture numérique", "Cybersécurité", "Sauvegarde des données",
    "Comptabilité associative", "Reçus fiscaux", "Mécénat", "Assurance responsabilité civile",
    "Réunion mensuelle", "Formation des bénévoles", "Accueil du public", "Permanence juridique",
]

QUALIFIERS = [
    "", "", "", " : les démarches", " : questions fréquentes", " pour les étudiants",
    " : conditions et montants", " : modèle de courrier", " en pratique", " : ce qui change",
    " pour les familles", " : délais et recours", " : fiche pratique", " pour les bénévoles",
]

SECTIONS = [
    "Conditions", "Démarches", "Délais", "Pièces justificatives", "Recours", "Contacts utiles",
    "Montants", "Questions fréquentes", "Références", "Qui peut en bénéficier ?", "Comment faire ?",
    "Points de vigilance", "Cas particuliers", "Exemples", "Calendrier", "Rôle de l'association",
    "Protection des données", "Après la décision", "En cas de litige", "À retenir", "Historique",
    "Modèle de courrier", "Obligations du bailleur", "Droits du locataire", "Financement",
]

TABLE_HEADERS = [
    ("Prestation", "Montant", "Délai"), ("Pièce", "Obligatoire", "Remarque"),
    ("Étape", "Responsable", "Échéance"), ("Donnée", "Finalité", "Durée de conservation"),
    ("Situation", "Organisme", "Contact"),
]

MESSAGES_CHANGE = [
    "Correction des délais", "Mise à jour des montants", "Correction de coquilles",
    "Précisions sur les démarches", "Reformulation", "Mise à jour des contacts",
    "Clarification des conditions", "Correction d'une erreur de date", "Mise à jour après la réforme",
    "Harmonisation du vocabulaire", "Précisions sur les pièces justificatives", "Relecture",
    "Correction orthographique", "Mise à jour des références", "Simplification du paragraphe",
]
MESSAGES_ADD = [
    "Ajout d'un paragraphe sur {t}", "Ajout d'un exemple", "Complément sur les recours",
    "Ajout de précisions sur {t}", "Ajout d'un cas particulier", "Nouvelle section : {s}",
    "Complément d'information", "Ajout des délais de réponse",
]
MESSAGES_REMOVE = [
    "Suppression d'un paragraphe obsolète", "Retrait d'informations périmées",
    "Suppression d'un doublon", "Nettoyage de la section {s}", "Suppression d'un passage inexact",
]

# ~50 folders (top-level and nested).
FOLDERS = [
    "guides", "guides/logement", "guides/sante", "guides/famille", "guides/emploi", "guides/justice",
    "guides/numerique", "guides/energie", "guides/transport", "guides/education", "guides/handicap",
    "guides/budget", "associations", "associations/gouvernance", "associations/financement",
    "associations/rgpd", "associations/benevolat", "associations/comptabilite", "droits",
    "droits/enfance", "droits/etrangers", "droits/consommation", "droits/travail", "droits/sociaux",
    "droits/donnees", "fiches", "fiches/modeles", "fiches/courriers", "fiches/formulaires",
    "procedures", "procedures/recours", "procedures/mediation", "procedures/surendettement",
    "procedures/expulsion", "territoires/auvergne-rhone-alpes", "territoires/bretagne",
    "territoires/ile-de-france", "territoires/occitanie", "territoires/grand-est",
    "territoires/hauts-de-france", "territoires/normandie", "formations", "formations/accueil",
    "outils", "outils/numerique", "actualites/2019", "actualites/2020", "actualites/2021",
    "reunions/comptes-rendus", "projets",
]

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_SPECIAL = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"})


def slug(text: str) -> str:
    """``Protection de l'enfance`` -> ``protection-de-l-enfance`` (same rule as the wiki)."""
    folded = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    out, dash = [], False
    for c in folded:
        if "a" <= c <= "z" or "0" <= c <= "9":
            out.append(c)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _last_sunday(year: int, month: int) -> int:
    last = calendar.monthrange(year, month)[1]
    return last - (calendar.weekday(year, month, last) + 1) % 7


_DST: dict[int, tuple[int, int]] = {}


def paris_offset(ts: int) -> tuple[int, str]:
    """UTC offset (seconds, ``+0100``/``+0200``) of Europe/Paris at UTC time ``ts``."""
    year = time.gmtime(ts).tm_year
    bounds = _DST.get(year)
    if bounds is None:
        bounds = (
            calendar.timegm((year, 3, _last_sunday(year, 3), 1, 0, 0)),
            calendar.timegm((year, 10, _last_sunday(year, 10), 1, 0, 0)),
        )
        _DST[year] = bounds
    return (7200, "+0200") if bounds[0] <= ts < bounds[1] else (3600, "+0100")


class Text:
    """Random French-looking text, all drawn from one ``random.Random``."""

    def __init__(self, rng: random.Random, pool_size: int = 40000) -> None:
        self.rng = rng
        self.pool = [self._sentence() for _ in range(pool_size)]
        self.link_targets: list[str] = []  # every page path (filled by the plan)
        self.link_cum: list[float] = []

    def _sentence(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.35:
            s = f"{cap(r.choice(SUBJECTS))} {r.choice(VERBS)} {r.choice(OBJECTS)} {r.choice(COMPLEMENTS)}."
        elif kind < 0.55:
            s = f"{r.choice(OPENERS)}, {r.choice(SUBJECTS)} {r.choice(VERBS)} {r.choice(OBJECTS)}."
        elif kind < 0.70:
            s = (f"{r.choice(PURPOSES)} {r.choice(OBJECTS)}, {r.choice(SUBJECTS)} "
                 f"{r.choice(VERBS)} {r.choice(OBJECTS)} {r.choice(COMPLEMENTS)}.")
        elif kind < 0.82:
            s = f"{cap(r.choice(OBJECTS))} est {r.choice(ADJECTIVES)} {r.choice(COMPLEMENTS)}."
        elif kind < 0.90:
            lead, unit, low, high = r.choice(UNITS)
            s = f"{lead} {r.randint(low, high)} {unit} {r.choice(COMPLEMENTS)}."
        else:
            s = (f"{r.choice(OPENERS)}, {r.choice(SUBJECTS)} {r.choice(VERBS)} {r.choice(OBJECTS)} "
                 f"et {r.choice(SIMPLE_VERBS)} {r.choice(OBJECTS)}.")
        return s.replace(" de le ", " du ").replace(" à le ", " au ").replace(" de les ", " des ")

    def link(self) -> str:
        r = self.rng
        target = r.choices(self.link_targets, cum_weights=self.link_cum)[0]
        return f"[[{target}]]"

    def paragraph(self) -> str:
        r = self.rng
        sentences = r.choices(self.pool, k=r.randint(2, 6))
        if r.random() < 0.15:
            phrase = r.choice(("Voir aussi {l}.", "Consultez {l} pour plus de détails.",
                               "La page {l} détaille cette procédure.", "Voir {l}."))
            sentences.insert(r.randint(0, len(sentences)), phrase.format(l=self.link()))
        return " ".join(sentences)

    def edit_paragraph(self, para: str) -> str:
        """Replace, insert or drop one sentence of ``para``."""
        r = self.rng
        sentences = [s.rstrip(".") for s in para.split(". ")]
        i = r.randrange(len(sentences))
        new = r.choice(self.pool)[:-1]
        op = r.random()
        if op < 0.5 or len(sentences) == 1:
            sentences[i] = new
        elif op < 0.8:
            sentences.insert(i, new)
        else:
            del sentences[i]
        return ". ".join(sentences) + "."

    def table(self) -> str:
        r = self.rng
        head = r.choice(TABLE_HEADERS)
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _ in range(r.randint(2, 6)):
            rows.append("| " + cap(r.choice(OBJECTS)) + " | " + cap(r.choice(ADJECTIVES)) + " | "
                        + cap(r.choice(COMPLEMENTS)) + " |")
        return "\n".join(rows)

    def bullets(self) -> str:
        r = self.rng
        items = r.sample(OBJECTS, r.randint(3, 6))
        return "\n".join(f"- {cap(item)} {r.choice(COMPLEMENTS)} ;" for item in items)[:-2] + "."


class Page:
    """A page's current text, as blocks joined by blank lines."""

    __slots__ = ("path", "title", "blocks", "kinds", "revisions")

    def __init__(self, path: str, title: str) -> None:
        self.path = path
        self.title = title
        self.blocks: list[str] = []
        self.kinds: list[str] = []  # "h1", "h2", "p", "t" (table), "l" (list)
        self.revisions = 0

    def render(self) -> bytes:
        return ("\n\n".join(self.blocks) + "\n").encode("utf-8")

    def add(self, kind: str, block: str) -> None:
        self.kinds.append(kind)
        self.blocks.append(block)

    def paragraphs(self) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == "p"]

    def sections(self) -> list[str]:
        return [b[3:] for b, k in zip(self.blocks, self.kinds, strict=True) if k == "h2"]


def build_page(page: Page, text: Text, rng: random.Random) -> bytes:
    """Fill ``page`` with 1-6 KB of Markdown and return its bytes."""
    target = int(rng.triangular(MIN_SIZE + 200, MAX_SIZE - 300, 2600))
    page.add("h1", f"# {page.title}")
    page.add("p", text.paragraph())
    size = len(page.blocks[0]) + len(page.blocks[1])
    sections = rng.sample(SECTIONS, len(SECTIONS))
    while size < target:
        heading = f"## {sections.pop()}" if sections else "## Compléments"
        page.add("h2", heading)
        size += len(heading)
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.10:
                kind, block = "t", text.table()
            elif roll < 0.20:
                kind, block = "l", text.bullets()
            else:
                kind, block = "p", text.paragraph()
            page.add(kind, block)
            size += len(block) + 2
            if size >= target:
                break
    if rng.random() < 0.5:
        own = f"[[{page.path}]]"
        targets = dict.fromkeys(text.link() for _ in range(rng.randint(2, 5)))
        links = "\n".join(f"- {t}" for t in targets if t != own) or "- [[home]]"
        page.add("h2", "## Voir aussi")
        page.add("l", links)
    data = page.render()
    while len(data) > MAX_SIZE and len(page.paragraphs()) > 1:
        i = page.paragraphs()[-1]
        del page.blocks[i], page.kinds[i]
        data = page.render()
    return data


def edit_page(page: Page, text: Text, rng: random.Random, size: int) -> tuple[bytes, str]:
    """Change, add or remove one paragraph of ``page``; return new bytes and a commit message."""
    paras = page.paragraphs()
    # Paragraphs that can go without the page dropping under MIN_SIZE.
    removable = [i for i in paras if size - len(page.blocks[i].encode("utf-8")) - 2 >= MIN_SIZE]
    if len(paras) < 2:
        removable = []
    roll = rng.random()
    if size > MAX_SIZE - 1200 and removable:
        op = "remove"
    elif size < MIN_SIZE + 600 or not paras:
        op = "add"
    elif roll < 0.55:
        op = "change"
    elif roll < 0.80:
        op = "add"
    else:
        op = "remove" if removable else "change"

    topic = page.title.split(" : ")[0].lower()
    if op == "change":
        i = rng.choice(paras)
        page.blocks[i] = text.edit_paragraph(page.blocks[i])
        msg = rng.choice(MESSAGES_CHANGE)
        section = None
    elif op == "add":
        heads = [i for i, k in enumerate(page.kinds) if k == "h2"]
        if heads and rng.random() < 0.12 and len(heads) < 12:
            section = rng.choice([s for s in SECTIONS if f"## {s}" not in page.blocks] or ["Compléments"])
            pos = heads[-1] if page.blocks[heads[-1]] == "## Voir aussi" else len(page.blocks)
            page.blocks[pos:pos] = [f"## {section}", text.paragraph()]
            page.kinds[pos:pos] = ["h2", "p"]
            msg = f"Nouvelle section : {section}"
        else:
            end = page.blocks.index("## Voir aussi") if "## Voir aussi" in page.blocks else len(page.blocks)
            pos = rng.randint(2, end) if end > 2 else end
            page.blocks.insert(pos, text.paragraph())
            page.kinds.insert(pos, "p")
            section = None
            msg = rng.choice(MESSAGES_ADD)
    else:
        i = rng.choice(removable)
        del page.blocks[i], page.kinds[i]
        msg = rng.choice(MESSAGES_REMOVE)
        section = None
    data = page.render()
    while len(data) > MAX_SIZE and len(page.paragraphs()) > 1:  # keep pages within 1-6 KB
        i = page.paragraphs()[0]
        del page.blocks[i], page.kinds[i]
        data = page.render()
    while len(data) < MIN_SIZE:
        end = page.blocks.index("## Voir aussi") if "## Voir aussi" in page.blocks else len(page.blocks)
        page.blocks.insert(end, text.paragraph())
        page.kinds.insert(end, "p")
        data = page.render()
    if "{" in msg:
        sections = page.sections()
        msg = msg.format(t=topic, s=(section or (rng.choice(sections) if sections else "principale")).lower())
    return data, msg


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


class Progress:
    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, 0, quiet
        self.bar = None
        if not quiet:
            try:
                from tqdm import tqdm  # type: ignore[import-not-found]

                self.bar = tqdm(total=total, unit="commit", file=sys.stderr, smoothing=0.05)
            except ImportError:
                self.bar = None
        self.t0 = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif not self.quiet and (self.done % 5000 == 0 or self.done == self.total):
            elapsed = time.monotonic() - self.t0
            print(f"{self.done}/{self.total} commits ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def git(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], check=True, **kwargs)


def plan_paths(n_pages: int, rng: random.Random) -> list[tuple[str, str]]:
    """(path, title) of every page, in creation order: home, the hot page, then the rest."""
    plan = [("home", "Accueil")]
    if n_pages >= 2:
        plan.append((HOT_PAGE, "Guide populaire : questions fréquentes"))
    for i in range(len(plan), n_pages):
        topic = rng.choice(TOPICS)
        folder = rng.choice(FOLDERS)
        plan.append((f"{folder}/{slug(topic)}-{i}", topic + rng.choice(QUALIFIERS)))
    return plan[:n_pages]


def hot_share_cumweights(n: int, top_share: float) -> list[float]:
    """Cumulative Zipf-like weights 1/(rank+k) over ``n`` ranks, top rank <= ``top_share``."""
    k = 10
    while True:
        weights = [1.0 / (r + k) for r in range(n)]
        if n == 0 or weights[0] / sum(weights) <= top_share or k > 10 * n:
            break
        k += max(1, k // 10)
    return list(itertools.accumulate(weights))


def generate(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    data_dir = os.path.abspath(args.data_dir)
    repo = os.path.join(data_dir, "repo.git")
    if os.path.exists(repo):
        if not args.force:
            raise SystemExit(f"error: {repo} already exists (use --force to replace it)")
        shutil.rmtree(repo)
    os.makedirs(data_dir, exist_ok=True)
    git("init", "--quiet", "--bare", "-b", BRANCH, repo)

    n_pages = min(args.pages, args.commits)
    n_edits = args.commits - n_pages
    authors = [f"auteur-{i:02d}" for i in range(1, args.authors + 1)]
    idents = [f"{a} <{a}@users.noreply.commons>".encode() for a in authors]
    author_cum = list(itertools.accumulate(1.0 / (i + 1) ** 0.8 for i in range(len(authors))))

    plan = plan_paths(n_pages, rng)
    text = Text(rng)
    text.link_targets = [p for p, _ in plan]
    # Links favour home, the hot page and a few popular pages (skewed backlinks).
    text.link_cum = list(itertools.accumulate(
        (20.0 if i < 2 else 1.0 + 5.0 * (i % 97 == 0)) for i in range(len(plan))))

    # Edit targets: the hot page gets exactly floor(n_edits * hot_share) edits,
    # spread evenly; the others follow 1/(rank+k) over a shuffled ranking.
    has_hot = n_pages >= 2
    hot_count = int(n_edits * args.hot_share + 1e-9) if has_hot else 0
    others = [i for i in range(n_pages) if not (has_hot and i == 1)]
    rng.shuffle(others)
    other_cum = hot_share_cumweights(len(others), args.hot_share / 2)

    cmd = ["git", "--git-dir", repo, "fast-import", "--quiet", "--done", "--date-format=raw"]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, bufsize=1 << 20)
    out = proc.stdin
    assert out is not None
    progress = Progress(args.commits, args.quiet)
    pages: list[Page] = []
    sizes: list[int] = []
    ts = START
    write = out.write
    first_ts = last_ts = ts

    def commit(page: Page, content: bytes, message: str) -> None:
        nonlocal ts, last_ts
        ident = idents[bisect.bisect_left(author_cum, rng.random() * author_cum[-1])] if idents else b""
        off, tz = paris_offset(ts)
        stamp = f" {ts} {tz}\n".encode()
        msg = message.encode("utf-8") + b"\n"
        write(b"commit refs/heads/" + BRANCH.encode() + b"\nauthor " + ident + stamp
              + b"committer " + ident + stamp + b"data " + str(len(msg)).encode() + b"\n" + msg
              + b"M 100644 inline " + page.path.encode() + b".md\ndata " + str(len(content)).encode()
              + b"\n" + content + b"\n")
        page.revisions += 1
        last_ts = ts
        # Next commit between 1 min and 1 h later, more often during the day (Paris time).
        hour = time.gmtime(ts + off).tm_hour
        ts += rng.randint(60, 3600) if 8 <= hour < 22 else rng.randint(1800, 4 * 3600)
        progress.update()

    try:
        write(b"feature done\n")
        for path, title in plan:
            page = Page(path, title)
            if path == "home":
                content = build_home(page, text, rng)
            else:
                content = build_page(page, text, rng)
            pages.append(page)
            sizes.append(len(content))
            commit(page, content, f"Création de la page « {title} »")

        for e in range(n_edits):
            if hot_count and (e + 1) * hot_count // n_edits > e * hot_count // n_edits:
                idx = 1
            else:
                r = bisect.bisect_left(other_cum, rng.random() * other_cum[-1])
                idx = others[min(r, len(others) - 1)]
            page = pages[idx]
            content, msg = edit_page(page, text, rng, sizes[idx])
            sizes[idx] = len(content)
            commit(page, content, msg)

        write(b"done\n")
        out.close()
    except BrokenPipeError:
        try:
            out.close()
        except OSError:
            pass
        proc.wait()
        raise SystemExit(f"error: git fast-import stopped early (exit code {proc.returncode})") from None
    finally:
        progress.close()
    if proc.wait() != 0:
        raise SystemExit(f"error: git fast-import failed (exit code {proc.returncode})")

    git("--git-dir", repo, "commit-graph", "write", "--reachable", "--changed-paths",
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if args.quiet else None)
    if args.repack:
        git("--git-dir", repo, "repack", "-a", "-d", "-f", "-q", "--depth=50", "--window=50")

    ranked = sorted(pages, key=lambda p: -p.revisions)
    return {
        "repo": repo,
        "branch": BRANCH,
        "seed": args.seed,
        "pages": len(pages),
        "commits": args.commits,
        "authors": len(authors),
        "first_date": datetime.fromtimestamp(first_ts, UTC).isoformat(),
        "last_date": datetime.fromtimestamp(last_ts, UTC).isoformat(),
        "total_page_bytes": sum(sizes),
        "most_edited": [{"path": p.path, "revisions": p.revisions} for p in ranked[:10]],
    }


def build_home(page: Page, text: Text, rng: random.Random) -> bytes:
    page.add("h1", "# Accueil")
    page.add("p", "Bienvenue sur Commons, le wiki partagé des associations d'accès aux droits. "
                  "Chacun peut créer, corriger et compléter les pages : l'historique garde la trace "
                  "de toutes les modifications.")
    page.add("h2", "## Rubriques")
    page.add("l", "\n".join(f"- {folder}" for folder in FOLDERS[:25:2]))
    page.add("h2", "## Pages les plus consultées")
    page.add("l", "\n".join(f"- [[{p}]]" for p in text.link_targets[1:8]))
    page.add("h2", "## Contribuer")
    page.add("p", text.paragraph())
    while len(page.render()) < MIN_SIZE:
        page.add("p", text.paragraph())
    return page.render()


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a large Commons repository for benchmarks.")
    parser.add_argument("data_dir", metavar="DATA_DIR", help="output folder (repo.git is created in it)")
    parser.add_argument("--pages", type=int, default=10000, help="pages to create (default 10000)")
    parser.add_argument("--commits", type=int, default=50000, help="total commits (default 50000)")
    parser.add_argument("--authors", type=int, default=50, help="number of authors (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--hot-share", type=float, default=0.02,
                        help=f"share of edits that go to {HOT_PAGE}.md (default 0.02)")
    parser.add_argument("--force", action="store_true", help="replace an existing DATA_DIR/repo.git")
    parser.add_argument("--repack", action="store_true", help="run a full 'git repack -a -d -f' at the end")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.commits < 1 or not 1 <= args.authors <= 99:
        parser.error("--pages and --commits must be >= 1 and --authors between 1 and 99")
    if not 0 <= args.hot_share < 1:
        parser.error("--hot-share must be in [0, 1)")
    if shutil.which("git") is None:
        print("error: git not found in PATH", file=sys.stderr)
        return 1

    t0 = time.monotonic()
    try:
        info = generate(args)
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(map(str, exc.cmd))} failed (exit code {exc.returncode})", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    elapsed = time.monotonic() - t0
    info["elapsed_seconds"] = round(elapsed, 1)
    info["repo_bytes"] = dir_size(info["repo"])
    with open(os.path.join(os.path.abspath(args.data_dir), "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, ensure_ascii=False, indent=2)
        f.write("\n")
    top = info["most_edited"][0]
    print(f"{info['repo']}: {info['pages']} pages, {info['commits']} commits, {info['authors']} authors "
          f"in {elapsed:.1f} s; repository {info['repo_bytes'] / 2**20:.1f} MiB; "
          f"most edited page {top['path']}.md ({top['revisions']} revisions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
