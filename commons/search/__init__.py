"""Search, the only room that imports Whoosh: :class:`SearchIndex` follows git; queries return :class:`Results`."""

from commons.search.index import SearchIndex
from commons.search.query import Hit, Results

__all__ = ["Hit", "Results", "SearchIndex"]
