"""The ``commons`` command: parses arguments and calls the services.

Exit status 0 on success; on a user error, one line on stderr and status 1
(2 for bad arguments), never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable, Sequence

from commons.config import load_settings
from commons.errors import CommonsError
from commons.services import Commons, open_commons
from commons.sync import Progress

log = logging.getLogger(__name__)


def _progress(label: str) -> tuple[Progress, Callable[[], None]]:
    """A tqdm progress bar on stderr as a ``(done, total)`` callback, and its closer."""
    from tqdm import tqdm

    bar = tqdm(desc=label, unit="", file=sys.stderr, leave=True, dynamic_ncols=True)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return update, bar.close


def _open(args: argparse.Namespace, must_exist: bool = True) -> Commons:
    services = open_commons(load_settings(args.data))
    if must_exist and not services.initialised():
        raise CommonsError(f"Aucun commons dans {services.settings.data_dir} : lancez d'abord « commons init ».")
    return services


def cmd_init(args: argparse.Namespace) -> int:
    services = _open(args, must_exist=False)
    added = services.init(demo=args.demo)
    extra = f" avec {added} guides d'exemple." if args.demo else "."
    print(f"Commons créé dans {services.settings.data_dir}{extra}")
    return 0


THREADS_PER_WORKER = 4


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve with gunicorn (``--workers`` > 1 and gunicorn installed), else waitress threads in one process."""
    from commons.repair import discard_damaged
    from commons.wsgi import behind_proxies, gunicorn_available, serve_gunicorn

    workers = args.workers
    if workers < 1:
        raise CommonsError("--workers doit valoir au moins 1.")
    if args.proxies < 0:
        raise CommonsError("--proxies ne peut pas être négatif.")
    services = _open(args)  # no commons there: one line asking for `commons init`, not an empty wiki
    try:
        discard_damaged(services.settings)  # each logged; rebuilt from git by the catch-up below
        services.accounts.create_schema()
        if not services.pages.is_current():  # caught up once here, before any worker starts
            update, close = _progress("Mise à jour des stores dérivés")
            try:
                services.pages.catch_up(update)
            finally:
                close()
        data_dir = str(services.settings.data_dir)
    finally:
        services.close()
    where = f"Commons sert {data_dir} sur http://{args.host}:{args.port}/"
    if workers > 1 and gunicorn_available():
        print(f"{where} (gunicorn, {workers} processus × {THREADS_PER_WORKER} fils)", flush=True)
        serve_gunicorn(data_dir, args.host, args.port, workers, THREADS_PER_WORKER, args.proxies)
        return 0
    from waitress import serve

    from commons import create_app

    app = behind_proxies(create_app({"data_dir": data_dir}), args.proxies)
    threads = THREADS_PER_WORKER * workers
    note = "" if workers == 1 else " ; gunicorn absent, un seul processus (pip install 'commons-wiki[serve]')"
    print(f"{where} (waitress, {threads} fils{note})", flush=True)
    serve(app, host=args.host, port=args.port, threads=threads, ident="Commons")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("Mot de passe : ")
    if first != getpass.getpass("Mot de passe, encore : "):
        raise CommonsError("Les deux mots de passe ne sont pas identiques.")
    return first


def cmd_user(args: argparse.Namespace) -> int:
    services = _open(args)
    services.accounts.create_schema()
    accounts = services.accounts
    if args.action == "add":
        created = accounts.add(args.name, _read_password(args), role=args.role or None)
        print(f"Compte « {created.username} » créé ({created.role}).")
    elif args.action == "role":
        changed = accounts.set_role(args.name, args.role)
        print(f"« {changed.username} » est maintenant {changed.role}.")
    elif args.action == "block":
        accounts.set_blocked(args.name, True)
        print(f"« {args.name} » est bloqué : plus de connexion ni de jeton ; ses contributions restent.")
    elif args.action == "unblock":
        accounts.set_blocked(args.name, False)
        print(f"« {args.name} » est débloqué.")
    elif args.action == "token":
        print(accounts.new_token(args.name, args.token_name))
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    from commons.repair import discard_damaged

    services = _open(args)
    discard_damaged(services.settings, thorough=True)  # each logged; rebuilt below
    update, close = _progress("Réindexation")
    try:
        commits = services.reindex(update)
    finally:
        close()
    print(f"Stores dérivés reconstruits : {commits} commits lus, {services.history.count_pages()} pages.")
    return 0


def cmd_catch_up(args: argparse.Namespace) -> int:
    """Bring the derived stores up to the branch (after a ``git fetch`` on a read replica, say)."""
    from commons.repair import discard_damaged

    services = _open(args)
    try:
        discard_damaged(services.settings)
        update, close = _progress("Mise à jour des stores dérivés")
        try:
            applied = services.pages.catch_up(update)
        finally:
            close()
        print(f"Stores dérivés à jour : {applied} commits appliqués, HEAD {services.store.head()}.")
    finally:
        services.close()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    import sqlite3

    from commons.repair import damaged_stores

    services = _open(args)
    damaged = damaged_stores(services.settings, thorough=True)
    problems = [f"store dérivé endommagé : {file} : {why} ; « commons reindex » le reconstruit"
                for file, why in damaged.items()]
    try:
        problems += services.check()
    except sqlite3.DatabaseError as exc:  # a damaged store the checks above did not name
        if not damaged:
            problems.append(f"store dérivé illisible : {exc} ; « commons reindex » le reconstruit")
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    print(f"Tout est cohérent : {services.history.count_pages()} pages, HEAD {services.store.head()}.")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from commons.importer import import_source

    services = _open(args)
    bar: list[tuple[Progress, Callable[[], None]]] = []  # drawn once there is progress: a refusal stays one line

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(_progress("Import"))
        bar[0][0](done, total)

    try:
        report = import_source(services, args.source, keep_emails=args.keep_emails, progress=update)
    finally:
        if bar:
            bar[0][1]()
    print(f"Import terminé en {report.seconds:.1f} s : {report.commits_imported} commits, "
          f"{len(report.pages)} fichiers Markdown, {len(report.authors)} auteurs ; {report.current_pages} pages.")
    for name, why in list(report.skipped.items())[:10]:
        print(f"  non importé : {name} — {why}")
    if len(report.skipped) > 10:
        print(f"  … et {len(report.skipped) - 10} autres.")
    print(f"Rapport (correspondance des noms, auteurs, refus) : {report.report_file}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from commons.exporter import export

    done = export(_open(args), Path(args.dest))
    print(f"Archive écrite dans {done.dest} : commons.bundle (révision {done.head[:12]}), "
          f"CREDITS.md ({done.contributors} contributeurs), html/ ({done.pages} pages, {done.files} fichiers).")
    return 0


SYNC_CONFLICTS = 3  # exit status of a sync that left conflicts for a maintainer (on /-/sync)


def cmd_sync(args: argparse.Namespace) -> int:
    """Fetch a sister commons and merge what it changed; exit 3 while conflicts of that sister stay open."""
    services = _open(args)
    bar: list[tuple[Progress, Callable[[], None]]] = []  # drawn once there is progress: a refusal stays one line

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(_progress("Synchronisation"))
        bar[0][0](done, total)

    try:
        report = services.sisters.sync(args.remote, name=args.name, dry_run=args.dry_run, progress=update)
        open_conflicts = services.sisters.conflicts(report.sister)
    finally:
        if bar:
            bar[0][1]()
        services.close()
    for line in report.summary():
        print(line)
    return SYNC_CONFLICTS if open_conflicts and not args.dry_run else 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data", default=argparse.SUPPRESS,
                        help="dossier des données (défaut : $COMMONS_DATA, sinon ./commons-data)")
    parser = argparse.ArgumentParser(prog="commons", parents=[common],
                                     description="Commons : un wiki de guides pratiques.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", parents=[common], help="crée un commons vide")
    p.add_argument("--demo", action="store_true", help="ajoute les guides d'exemple")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", parents=[common], help="sert le wiki (waitress, ou gunicorn avec --workers N)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="processus (gunicorn s'il est installé, 4 fils chacun) ; "
                   "sinon waitress avec 4×N fils dans un processus")
    p.add_argument("--proxies", type=int, default=0,
                   help="nombre de proxys inverses devant le wiki (nginx : 1) dont croire X-Forwarded-For/-Proto")
    p.set_defaults(func=cmd_serve)

    user = sub.add_parser("user", parents=[common], help="gère les comptes")
    actions = user.add_subparsers(dest="action", required=True)
    p = actions.add_parser("add", parents=[common], help="crée un compte")
    p.add_argument("name")
    p.add_argument("--role", choices=["reader", "contributor", "maintainer", "admin"], default=None,
                   help="défaut : admin pour le premier compte, contributor ensuite")
    p.add_argument("--password-stdin", action="store_true", help="lit le mot de passe sur l'entrée standard")
    p = actions.add_parser("role", parents=[common], help="change le rôle d'un compte")
    p.add_argument("name")
    p.add_argument("role", choices=["reader", "contributor", "maintainer", "admin"])
    for name, text in (("block", "bloque un compte"), ("unblock", "débloque un compte")):
        p = actions.add_parser(name, parents=[common], help=text)
        p.add_argument("name")
    p = actions.add_parser("token", parents=[common], help="affiche un nouveau jeton d'API")
    p.add_argument("name")
    p.add_argument("--token-name", default="cli")
    user.set_defaults(func=cmd_user)

    p = sub.add_parser("reindex", parents=[common], help="reconstruit les stores dérivés depuis git")
    p.set_defaults(func=cmd_reindex)
    p = sub.add_parser("catch-up", parents=[common],
                       help="met les stores dérivés à jour des commits reçus (réplique après git fetch)")
    p.set_defaults(func=cmd_catch_up)
    p = sub.add_parser("check", parents=[common], help="vérifie dépôt, index et base")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("import", parents=[common],
                       help="importe un dossier de Markdown ou un dépôt git (historique et auteurs)")
    p.add_argument("source", help="dossier, dépôt git local, bundle ou URL")
    p.add_argument("--keep-emails", action="store_true",
                   help="garde les adresses e-mail d'origine (par défaut : adresses pseudonymes)")
    p.set_defaults(func=cmd_import)
    p = sub.add_parser("export", parents=[common], help="écrit une archive portable (bundle git, crédits, HTML)")
    p.add_argument("dest", help="dossier de destination (absent ou vide)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("sync", parents=[common],
                       help="récupère et fusionne les modifications d'une commons sœur (sortie 3 : conflits ouverts)")
    p.add_argument("remote", help="nom d'une sœur connue, dossier de données, dépôt git ou URL http(s)://…/-/git")
    p.add_argument("--name", default=None, help="nom donné à la sœur (défaut : hôte de l'URL ou nom du dossier)")
    p.add_argument("--dry-run", action="store_true", help="dit ce que la synchronisation apporterait, sans l'appliquer")
    p.set_defaults(func=cmd_sync)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``commons`` console script."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    args.data = getattr(args, "data", None)  # --data may stand before or after the command
    try:
        return int(args.func(args))
    except CommonsError as exc:
        print(f"commons: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("commons: interrompu", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"commons: {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
