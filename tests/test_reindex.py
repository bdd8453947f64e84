"""``commons reindex`` with the derived stores rebuilt side by side in worker processes."""

from __future__ import annotations

import pytest

from commons.errors import CommonsError
from commons.pages import identity_for
from commons.services import Commons

TEXT = "# Aides au logement\n\nLa CAF verse l'aide chaque mois. Voir [[guides/rsa]] et [la caisse](caf.md).\n"


def state(services: Commons) -> tuple[object, ...]:
    """What a reader sees of every derived store: pages, credits, links, tags and a search."""
    pages = [(p.path, p.title, p.rev) for p in services.history.pages()]
    credits = {p.path: services.credits.tokens(p.path) for p in services.history.pages()}
    links = {p.path: services.links.links_to(p.path) for p in services.history.pages()}
    hits = [hit.path for hit in services.search.search("caisse").hits]
    return pages, credits, links, services.links.tags(), services.history.recent(50), hits


@pytest.fixture
def written(services: Commons) -> Commons:
    services.pages.save("guides/aides", "---\ntags: [logement]\n---\n" + TEXT, "Création", None,
                        identity_for("alice"))
    state_ = services.pages.state("guides/aides")
    assert state_ is not None
    services.pages.save("guides/aides", "---\ntags: [logement]\n---\n" + TEXT + "\nAjout de bob : la caisse paie.\n",
                        "Ajout", state_.rev, identity_for("bob"))
    services.pages.save("guides/rsa", "# RSA\n\nLe revenu de solidarité active.\n", None, None, identity_for("carol"))
    services.pages.move("guides/rsa", "droits/rsa", None, identity_for("dave"))
    services.pages.delete("guides/aides", None, identity_for("erin"))
    services.pages.save("guides/aides", TEXT, "Recréée", None, identity_for("alice"))
    return services


def test_workers_rebuild_the_same_stores(written: Commons) -> None:
    before = state(written)
    assert written.credits.tokens("guides/aides")[0] == ("Aides", "alice")
    assert written.reindex(workers=2) == 6
    assert state(written) == before
    assert written.check() == []


def test_a_failing_worker_is_reported(written: Commons) -> None:
    written.credits.close()
    credits = written.settings.cache_dir / "credits.sqlite"
    for suffix in ("", "-wal", "-shm"):
        credits.with_name(credits.name + suffix).unlink(missing_ok=True)
    credits.mkdir()  # a directory where the worker expects its database
    with pytest.raises(CommonsError, match="CreditStore"):
        written.reindex(workers=2)
    assert written.history.reflected() == written.store.head()
