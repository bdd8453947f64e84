"""The commons as a plain object: settings and services, built without any web server.

The web app and the CLI both open a :class:`Commons`; tests build one on a
temporary data directory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

from argon2 import PasswordHasher

from commons import paths
from commons.accounts import AccountService
from commons.config import Settings
from commons.contributions import Contributions
from commons.credits import CreditStore
from commons.errors import CommonsError
from commons.history import HistoryStore
from commons.links import LinkStore
from commons.members import Members
from commons.moves import MoveResult
from commons.pages import Identity, PageService, identity_for
from commons.protection import Protections
from commons.reindex import rebuild_all
from commons.search import SearchIndex
from commons.sisters import SisterService
from commons.storage import GitStore
from commons.suggestions import SuggestionService
from commons.sync import Progress
from commons.talk import TalkService
from commons.thanks import ThanksService
from commons.wanted import MissLog
from commons.watch import WatchService

log = logging.getLogger(__name__)

DEMO_AUTHOR = "commons"


@dataclass
class Commons:
    """Settings and services of one commons."""

    settings: Settings
    store: GitStore
    history: HistoryStore
    pages: PageService
    accounts: AccountService
    search: SearchIndex
    misses: MissLog
    credits: CreditStore
    links: LinkStore
    members: Members
    protections: Protections
    suggestions: SuggestionService
    talk: TalkService
    thanks: ThanksService
    contributions: Contributions
    watches: WatchService
    sisters: SisterService

    def close(self) -> None:
        """Release git processes, database connections and pools."""
        self.store.close()
        self.history.close()
        self.search.close()
        self.credits.close()
        self.links.close()
        self.accounts.close()

    def initialised(self) -> bool:
        return self.store.exists()

    def init(self, demo: bool = False) -> int:
        """Create an empty commons (repository and database); ``demo`` adds the sample guides.

        Returns the number of pages added. Refuses a data directory that already holds a commons.
        """
        if self.store.exists():
            raise CommonsError(f"Un commons existe déjà dans {self.settings.data_dir}.")
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store.init()
        self.accounts.create_schema()
        return self.add_demo() if demo else 0

    def add_demo(self) -> int:
        """Commit the sample guides shipped with the package, one commit each."""
        author = identity_for(DEMO_AUTHOR)
        count = 0
        for path, text in sorted(demo_pages().items()):
            if not self.pages.exists(path):
                self.pages.save(path, text, f"Guide d'exemple : {path}", None, author)
                count += 1
        return count

    def check(self) -> list[str]:
        """What is wrong between repository, derived stores and database (empty when all agree)."""
        problems: list[str] = []
        clean, said = self.store.fsck()
        if not clean:
            problems.append(f"git fsck : {said}")
        head = self.store.head()
        reflected = self.history.reflected()
        if head != reflected:
            problems.append(f"historique dérivé en retard : reflète {reflected}, HEAD est {head}")
        for follower in self.pages.followers:
            if follower.reflected() != head:
                problems.append(f"{type(follower).__name__} en retard : reflète {follower.reflected()}")
        try:
            self.accounts.count()
            problems.extend(self.accounts.schema_problems())  # a database behind the newest migration
        except Exception as exc:  # noqa: BLE001 - any database failure is a finding here
            problems.append(f"base de comptes : {exc.__class__.__name__}: {exc}")
        return problems

    def move(self, path: str, to: str, base_rev: object, author: Identity, summary: object = None,
             folder: bool = False) -> MoveResult:
        """Rename a page (or a whole folder) in git; its protection and its watchers follow it."""
        result = self.pages.move(path, to, base_rev, author, summary, folder=folder)
        moved_folder = (paths.validate_path(path), result.path) if folder else None
        self.protections.follow_moves(dict(result.moved), moved_folder)
        self.watches.follow_moves(dict(result.moved), moved_folder)
        return result

    def reindex(self, progress: Progress | None = None, workers: int | None = None) -> int:
        """Rebuild every derived store from git; returns the number of commits read.

        On a large history the stores are rebuilt side by side, in ``workers`` processes (default: one
        per core; see :mod:`commons.reindex`). Also refreshes git's commit-graph with changed-path
        filters (path-limited logs get 2-8x faster).
        """
        commits = rebuild_all(self, progress, workers)
        if self.store.head() is not None:
            self.store.maintain()
        return commits


def demo_pages() -> dict[str, str]:
    """The sample guides: page path -> Markdown."""
    root = resources.files("commons") / "demo"
    found: dict[str, str] = {}

    def walk(folder: resources.abc.Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.is_dir():
                walk(entry, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".md"):
                found[prefix + entry.name[:-3]] = entry.read_text("utf-8")

    walk(root, "")
    return found


def open_commons(settings: Settings) -> Commons:
    """Build the services of the commons in ``settings.data_dir`` (no git or network I/O)."""
    store = GitStore(settings.repo_dir, settings.branch)
    history = HistoryStore(settings.cache_dir / "history.sqlite")
    search = SearchIndex(settings.cache_dir / "search", history)
    credits = CreditStore(settings.cache_dir / "credits.sqlite")
    links = LinkStore(settings.cache_dir / "links.sqlite", history)
    pages = PageService(settings, store, history, followers=[search, credits, links], linked_from=links.linked_from)
    hasher = PasswordHasher(time_cost=settings.password_time_cost, memory_cost=settings.password_memory_kib)
    accounts = AccountService(settings.effective_database_url, hasher)
    thanks = ThanksService(accounts.sessions, history)
    talk = TalkService(pages, store)
    return Commons(settings=settings, store=store, history=history, pages=pages, accounts=accounts, search=search,
                   misses=MissLog(accounts.sessions), credits=credits, links=links,
                   members=Members(accounts, history, settings.registration),
                   protections=Protections(accounts.sessions), thanks=thanks,
                   contributions=Contributions(credits, {"thanks": thanks, "discussion": talk}),
                   suggestions=SuggestionService(pages, store, accounts.sessions), talk=talk,
                   watches=WatchService(accounts=accounts, history=history),
                   sisters=SisterService(settings, pages, store))
