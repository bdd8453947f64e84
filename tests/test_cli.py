"""The ``commons`` command, run as a user would: ``python -m commons`` in a subprocess, and ``main()``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from commons.cli import main
from commons.config import load_settings
from commons.services import Commons, demo_pages, open_commons

PASSWORD = "correct horse battery"
DEMO = {"home", "ecrire-un-bon-guide", "guides/aide-au-logement", "guides/rgpd-association", "guides/rsa",
        "modeles/guide-pratique"}


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any COMMONS_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMONS_")}
    env.update(extra)
    return env


def commons_cmd(*args: str, input: str | None = None, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m commons ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "commons", *args], input=input, capture_output=True, text=True,
                          env=env or clean_env(), cwd=cwd, timeout=120)


def assert_user_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """A non-zero exit with one line on stderr, no traceback."""
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]


def opened(data: Path) -> Commons:
    return open_commons(load_settings(data, environ={}))


def commit_outside(data: Path, tmp_path: Path, name: str, text: str) -> str:
    """A commit made with plain git in a clone of the commons, pushed back."""
    work = tmp_path / "outside"
    subprocess.run(["git", "clone", "-q", str(data / "repo.git"), str(work)], check=True, capture_output=True)
    (work / name).parent.mkdir(parents=True, exist_ok=True)
    (work / name).write_text(text, "utf-8")
    for args in (["add", name], ["-c", "user.name=bob", "-c", "user.email=bob@example.org", "commit", "-q", "-m",
                                 "hors de l'app"], ["push", "-q", "origin", "HEAD:main"]):
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=work, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(autouse=True)
def no_commons_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("COMMONS_"):
            monkeypatch.delenv(name)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def initialised(data: Path) -> Iterator[Path]:
    """A commons made with ``main(["init"])`` in-process."""
    assert main(["--data", str(data), "init"]) == 0
    yield data


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str], stdin: str = "",
             monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str, str]:
    if monkeypatch is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


# -- init -----------------------------------------------------------------------------------


def test_init_then_init_again(data: Path) -> None:
    done = commons_cmd("--data", str(data), "init")
    assert done.returncode == 0, done.stderr
    assert str(data) in done.stdout
    assert (data / "repo.git" / "HEAD").is_file()
    assert (data / "commons.db").is_file()

    again = commons_cmd("--data", str(data), "init")
    assert_user_error(again, "existe déjà")
    assert again.stderr.startswith("commons: ")


def test_init_demo_creates_the_guides_and_the_template(data: Path) -> None:
    done = commons_cmd("init", "--demo", "--data", str(data))  # --data after the command
    assert done.returncode == 0, done.stderr
    assert "6 guides" in done.stdout
    services = opened(data)
    try:
        listed = {p.path: p for p in services.pages.list_pages()}
        assert set(listed) == DEMO == set(demo_pages())
        assert listed["home"].title.startswith("Bienvenue")
        assert all(p.author == "commons" for p in listed.values())
        assert services.check() == []
    finally:
        services.close()


def test_data_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    done = commons_cmd("init", env=clean_env(COMMONS_DATA=str(data)))
    assert done.returncode == 0, done.stderr
    assert (data / "repo.git").is_dir()


def test_data_option_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COMMONS_DATA", str(tmp_path / "from-env"))
    status, _, _ = run_main(["init", "--data", str(tmp_path / "explicit")], capsys)
    assert status == 0
    assert (tmp_path / "explicit" / "repo.git").is_dir()
    assert not (tmp_path / "from-env").exists()


def test_default_data_directory_is_commons_data_in_the_current_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    status, _, _ = run_main(["init"], capsys)
    assert status == 0
    assert (tmp_path / "commons-data" / "repo.git").is_dir()


@pytest.mark.parametrize("where", ["before", "after"])
def test_data_option_before_or_after_the_command_in_process(
        data: Path, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--data", str(data), "init", "--demo"] if where == "before" else ["init", "--demo", "--data", str(data)]
    status, out, _ = run_main(argv, capsys)
    assert status == 0 and "6 guides" in out
    argv = ["--data", str(data), "check"] if where == "before" else ["check", "--data", str(data)]
    status, out, _ = run_main(argv, capsys)
    assert status == 0 and "6 pages" in out


def test_data_from_the_environment_in_process(data: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COMMONS_DATA", str(data))
    status, _, _ = run_main(["init"], capsys)
    assert status == 0
    assert (data / "repo.git").is_dir()


def test_commands_on_a_missing_commons_say_to_init(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert_user_error(commons_cmd("--data", str(data), "check"), "commons init")
    for argv in (["reindex"], ["user", "token", "alice"], ["user", "add", "alice"], ["serve", "--port", "1"]):
        status, out, err = run_main(["--data", str(data), *argv], capsys)
        assert status == 1 and out == ""
        assert err.startswith("commons: ") and "commons init" in err and len(err.strip().splitlines()) == 1
    assert not (data / "repo.git").exists()


def test_bad_arguments_exit_2_with_usage(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    done = commons_cmd("--data", str(data), "frobnicate")
    assert done.returncode == 2
    assert "usage:" in done.stderr and "Traceback" not in done.stderr
    for argv in (["user", "add", "alice", "--role", "god"], [], ["user", "add", "-x"], ["serve", "--port", "http"]):
        with pytest.raises(SystemExit) as caught:
            main(["--data", str(data), *argv])
        assert caught.value.code == 2
        assert "usage:" in capsys.readouterr().err


# -- accounts -------------------------------------------------------------------------------


def test_user_add_role_block_and_token(initialised: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    data = str(initialised)
    done = commons_cmd("--data", data, "user", "add", "alice", "--password-stdin", input=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stdout and "admin" in done.stdout  # the first account administers the commons
    status, out, _ = run_main(["user", "add", "bob", "--role", "reader", "--password-stdin", "--data", data],
                              capsys, PASSWORD + "\n", monkeypatch)
    assert status == 0 and "reader" in out
    status, out, _ = run_main(["--data", data, "user", "role", "bob", "maintainer"], capsys)
    assert status == 0 and "maintainer" in out

    token = commons_cmd("--data", data, "user", "token", "bob")
    assert token.returncode == 0, token.stderr
    value = token.stdout.strip()
    assert value.startswith("cmn_") and "\n" not in value

    services = opened(initialised)
    try:
        bob = services.accounts.account_for_token(value)
        assert bob is not None and bob.username == "bob" and bob.role == "maintainer"
        assert services.accounts.authenticate("alice", PASSWORD) is not None
        assert services.accounts.authenticate("bob", PASSWORD) is not None

        status, out, _ = run_main(["--data", data, "user", "block", "bob"], capsys)
        assert status == 0 and "bloqué" in out
        assert services.accounts.account_for_token(value) is None
        assert services.accounts.authenticate("bob", PASSWORD) is None
        assert run_main(["--data", data, "user", "unblock", "bob"], capsys)[0] == 0
        assert services.accounts.account_for_token(value) is not None
    finally:
        services.close()


def test_user_errors_are_one_line(initialised: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    data = str(initialised)
    for argv in (["user", "token", "nobody"], ["user", "role", "nobody", "admin"], ["user", "block", "nobody"]):
        status, _, err = run_main(["--data", data, *argv], capsys)
        assert status == 1
        assert err.startswith("commons: ") and "nobody" in err and len(err.strip().splitlines()) == 1

    status, _, err = run_main(["--data", data, "user", "add", "alice", "--password-stdin"], capsys, "court\n",
                              monkeypatch)
    assert status == 1 and "8 caractères" in err
    status, _, err = run_main(["--data", data, "user", "add", "a b", "--password-stdin"], capsys, PASSWORD,
                              monkeypatch)
    assert status == 1 and "invalide" in err
    status, _, _ = run_main(["--data", data, "user", "add", "alice", "--password-stdin"], capsys, PASSWORD,
                            monkeypatch)
    assert status == 0
    status, _, err = run_main(["--data", data, "user", "add", "alice", "--password-stdin"], capsys, PASSWORD,
                              monkeypatch)
    assert status == 1 and "déjà pris" in err


@pytest.mark.parametrize("url", ["garbage", "nosuchdriver://x/y"])
def test_unusable_database_url_is_one_line(initialised: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], url: str) -> None:
    monkeypatch.setenv("COMMONS_DATABASE_URL", url)
    status, _, err = run_main(["--data", str(initialised), "user", "token", "alice"], capsys)
    assert status == 1
    assert err.startswith("commons: ") and len(err.strip().splitlines()) == 1


def test_unknown_user_in_a_subprocess_has_no_traceback(initialised: Path) -> None:
    done = commons_cmd("--data", str(initialised), "user", "token", "nobody")
    assert_user_error(done, "nobody")
    assert done.stdout == ""


# -- reindex and check ----------------------------------------------------------------------


def test_reindex_prints_and_keeps_the_history(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    services = opened(initialised)
    try:
        services.add_demo()
        before = [(p.path, p.rev, p.title) for p in services.pages.list_pages()]
    finally:
        services.close()
    done = commons_cmd("--data", str(initialised), "reindex")
    assert done.returncode == 0, done.stderr
    assert "6 commits" in done.stdout and "6 pages" in done.stdout
    assert "Traceback" not in done.stderr
    services = opened(initialised)
    try:
        assert [(p.path, p.rev, p.title) for p in services.pages.list_pages()] == before
    finally:
        services.close()
    status, out, _ = run_main(["--data", str(initialised), "reindex"], capsys)
    assert status == 0 and "6 pages" in out


def test_reindex_of_an_empty_commons(initialised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_main(["--data", str(initialised), "reindex"], capsys)
    assert status == 0 and "0 pages" in out


def test_check_good_then_lagging_then_good(initialised: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    services = opened(initialised)
    try:
        services.add_demo()
    finally:
        services.close()
    status, out, _ = run_main(["--data", str(initialised), "check"], capsys)
    assert status == 0 and "6 pages" in out

    head = commit_outside(initialised, tmp_path, "guides/nouveau.md", "# Nouveau\n")
    done = commons_cmd("--data", str(initialised), "check")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert head in done.stderr and "retard" in done.stderr

    status, _, err = run_main(["--data", str(initialised), "check"], capsys)
    assert status == 1 and head in err
    assert run_main(["--data", str(initialised), "reindex"], capsys)[0] == 0
    status, out, _ = run_main(["--data", str(initialised), "check"], capsys)
    assert status == 0 and "7 pages" in out and head in out
