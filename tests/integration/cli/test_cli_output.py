"""What the CLI prints: --json on every command that prints records (one document, fixed keys, no
secrets), words for an empty list, --version, `lint -`, and the templates commands (sync with its
progress on a terminal, list with filters, get) against a fake of Meta's Graph API in a process of
its own."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from support.inbox_seeding import seed_dead_changes
from support.serving import WATEMPLATES

ROOT = Path(__file__).resolve().parents[3]
GRAPH_SERVER = ROOT / "tests" / "fakes" / "graph_server.py"
WABA, OTHER_WABA, TOKEN = "301122334455667", "301122334455668", "cli-graph-token"
ORDER_READY_BODY = {
    "type": "BODY",
    "text": "Hi {{first_name}}, your order can be collected from the front desk today.",
    "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Dana"}]},
}
SEED: list[dict[str, Any]] = [
    {
        "waba_id": WABA,
        "name": "order_ready",
        "language": "en_US",
        "components": [ORDER_READY_BODY],
        "parameter_format": "NAMED",
    },
    {
        "waba_id": WABA,
        "name": "order_ready",
        "language": "es_ES",
        "quality": "YELLOW",
        "components": [ORDER_READY_BODY],
        "parameter_format": "NAMED",
    },
    {"waba_id": WABA, "name": "summer_sale", "category": "MARKETING", "status": "PAUSED", "quality": "RED"},
    {"waba_id": WABA, "name": "welcome_back", "category": "MARKETING", "status": "REJECTED", "quality": None},
]
TEMPLATE_KEYS = {
    "name",
    "waba_id",
    "display_name",
    "language_code",
    "category",
    "status",
    "raw_status",
    "quality",
    "rejection_reason",
    "parameter_format",
    "meta_template_id",
    "version",
    "etag",
    "created_at",
    "updated_at",
}


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    assert main(list(argv)) == code
    captured = capsys.readouterr()
    return captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    out, _ = run(capsys, *argv, "--json")
    return json.loads(out)


# ---- without a database ---------------------------------------------------------------------------


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"watemplates {metadata.version('watemplates')}\n"


def stdin_of(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_lint_dash_reads_the_template_from_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    template = {
        "name": "order_ready",
        "language": "en_US",
        "category": "UTILITY",
        "parameter_format": "NAMED",
        "components": [ORDER_READY_BODY],
    }
    stdin_of(monkeypatch, json.dumps(template).encode())
    assert run(capsys, "lint", "-")[0] == "<stdin>: ok (0 errors, 0 warnings)\n"

    stdin_of(monkeypatch, json.dumps({**template, "name": "Order Ready"}).encode())
    report = json.loads(run(capsys, "lint", "-", "--json", code=1)[0])
    assert "NAME_INVALID" in {v["code"] for v in report["violations"]}


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"\xff\xfe{", "UNREADABLE_FILE", "cannot read <stdin>: it is not UTF-8 text"),
        (b"{not json", "NOT_JSON", "<stdin> is not JSON: "),
        (b'{"name": "x"}', "NOT_A_TEMPLATE", "<stdin>: "),
    ],
)
def test_lint_dash_tells_what_is_wrong_with_standard_input(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data: bytes, code: str, message: str
) -> None:
    stdin_of(monkeypatch, data)
    printed = json.loads(run(capsys, "lint", "-", "--json", code=2)[0])
    assert printed["error"]["code"] == code
    assert printed["error"]["message"].startswith(message)


# ---- records as JSON and as lines -------------------------------------------------------------------


@pytest.mark.usefixtures("migrated")
def test_empty_lists_say_so_in_words_and_are_empty_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "org", "list") == (
        "",
        "no organizations yet: create one with `watemplates org create NAME`\n",
    )
    run(capsys, "org", "create", "acme")
    expectations = {
        ("org", "list"): None,
        ("apikey", "list", "--org", "acme"): "no API keys for acme yet: create one with "
        "`watemplates apikey create --org acme --role viewer`",
        ("waba", "list", "--org", "acme"): "no WABAs registered to acme yet: add one with "
        "`watemplates waba add --org acme --waba-id ID`",
        ("templates", "list", "--org", "acme"): "no templates in acme yet: "
        "`watemplates templates sync --org acme --waba ID` pulls a WABA's from Meta",
        (
            "templates",
            "list",
            "--org",
            "acme",
            "--status",
            "approved",
        ): "no templates of acme match these filters",
        ("channels", "list", "--org", "acme"): "no notification channels for acme: add one with "
        "`watemplates channels add --org acme --kind email --to ADDRESS`",
        ("notifications", "list", "--org", "acme"): "no notifications for acme",
        (
            "notifications",
            "list",
            "--org",
            "acme",
            "--state",
            "failed",
        ): "no notifications for acme in state FAILED",
        (
            "audit",
            "list",
            "--org",
            "acme",
            "--action",
            "Nothing",
        ): "no audit events of acme match these filters",
    }
    for argv, words in expectations.items():
        if words is not None:
            assert run(capsys, *argv) == ("", f"{words}\n"), argv
            assert run_json(capsys, *argv) == [], argv
    out, err = run(capsys, "inbox", "list")
    assert out == ""
    assert err.startswith("no inbox changes in state DEAD, PARKED or SKIPPED\n0 changes;")
    assert run_json(capsys, "inbox", "list") == []


@pytest.mark.usefixtures("migrated")
def test_every_listing_prints_json_records_with_fixed_keys_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    created = run_json(capsys, "org", "create", "acme", "--name", "Acme Inc")
    assert set(created) == {"id", "slug", "display_name", "created_at"}
    assert (created["slug"], created["display_name"]) == ("acme", "Acme Inc")
    key = run_json(capsys, "apikey", "create", "--org", "acme", "--role", "viewer")
    # The one command that prints a secret: it is shown once, at creation, and never stored.
    assert set(key) == {"prefix", "role", "org", "secret"}
    assert key["secret"].startswith(f"wat_{key['prefix']}_")
    run(capsys, "apikey", "revoke", key["prefix"])
    run(
        capsys,
        "waba",
        "add",
        "--org",
        "acme",
        "--waba-id",
        WABA,
        "--phone-number-id",
        "1098",
        "--name",
        "Main",
    )
    slack = "https://hooks.slack.com/services/T0/B0/SECRETPART"
    run(
        capsys,
        "channels",
        "add",
        "--org",
        "acme",
        "--kind",
        "slack",
        "--url",
        slack,
        "--mute",
        "quality_yellow",
    )
    hook = run_json(
        capsys, "channels", "add", "--org", "acme", "--kind", "webhook", "--url", "https://x.test/h"
    )
    assert hook["signing_secret"].startswith("whsec_")
    secrets = (key["secret"], slack, "SECRETPART", hook["signing_secret"])

    assert run_json(capsys, "org", "list") == [created]
    keys = run_json(capsys, "apikey", "list", "--org", "acme")
    assert [(k["prefix"], k["role"], k["state"]) for k in keys] == [(key["prefix"], "VIEWER", "REVOKED")]
    assert set(keys[0]) == {"prefix", "role", "state", "created_at", "revoked_at"}
    assert keys[0]["revoked_at"] is not None
    [waba] = run_json(capsys, "waba", "list", "--org", "acme")
    assert waba == {
        "name": f"wabas/{WABA}",
        "waba_id": WABA,
        "display_name": "Main",
        "phone_number_ids": ["1098"],
        "created_at": waba["created_at"],
    }
    channels = run_json(capsys, "channels", "list", "--org", "acme")
    assert sorted(c["kind"] for c in channels) == ["SLACK", "WEBHOOK"]
    for channel in channels:
        assert set(channel) == {
            "name",
            "id",
            "kind",
            "display_name",
            "targets",
            "min_severity",
            "muted",
            "created_at",
        }
        assert channel["targets"] == []  # a URL is a secret
    assert next(c for c in channels if c["kind"] == "SLACK")["muted"] == ["QUALITY_YELLOW"]
    events = run_json(capsys, "audit", "list", "--org", "acme")
    assert [e["action"] for e in events][:2] == ["CreateChannel", "CreateChannel"]
    assert set(events[0]) == {"id", "at", "actor", "action", "resource", "outcome", "request_id"}

    everything = ""
    for argv in (
        ("org", "list"),
        ("apikey", "list", "--org", "acme"),
        ("channels", "list", "--org", "acme"),
        ("audit", "list", "--org", "acme"),
    ):
        everything += run(capsys, *argv)[0] + run(capsys, *argv, "--json")[0]
    for secret in secrets:
        assert secret not in everything


@pytest.mark.usefixtures("migrated")
def test_inbox_list_json_is_one_document_with_the_changes(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_dead_changes(database, 3, waba_id=WABA)

    out, err = run(capsys, "inbox", "list", "--limit", "2", "--json")

    changes = json.loads(out)
    assert [c["name"] for c in changes] == [
        "inboxChanges/00000000000000000000-0000",
        "inboxChanges/00000000000000000001-0000",
    ]
    assert changes[0]["value"] == {"event": "PAUSED", "n": 0}
    assert (changes[0]["state"], changes[0]["attempts"], changes[0]["last_error"]) == ("DEAD", 0, "broken")
    assert "2 changes (more: raise --limit)" in err


@pytest.mark.usefixtures("migrated")
def test_a_reader_that_leaves_early_is_not_an_error(database: str, tmp_path: Path) -> None:
    # Far more than a pipe holds, so the writer meets the closed pipe.
    seed_dead_changes(database, 2000, waba_id=WABA)

    process = subprocess.Popen(
        [WATEMPLATES, "inbox", "list", "--limit", "2000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WATEMPLATES_DATABASE_URL": database},
        cwd=tmp_path,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # like `| head -n 1`
    error = process.stderr.read()

    assert process.wait(60) == 0
    assert first.startswith("00000000000000000000-0000\tDEAD")
    assert "Traceback" not in error
    assert "BrokenPipeError" not in error


# ---- templates, synced from a fake Meta ------------------------------------------------------------


@pytest.fixture(scope="module")
def graph_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    seed = tmp_path_factory.mktemp("graph") / "seed.json"
    seed.write_text(json.dumps(SEED))
    process = subprocess.Popen(
        [sys.executable, str(GRAPH_SERVER), "--token", TOKEN, "--seed", str(seed)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, url = process.stdout.readline().strip().partition(" ")
        assert ready == "ready"
        yield url
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def acme(
    graph_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrated: None
) -> None:
    monkeypatch.setenv("WATEMPLATES_META_GRAPH_URL", graph_url)
    monkeypatch.setenv("WATEMPLATES_META_ACCESS_TOKEN", TOKEN)
    run(capsys, "org", "create", "acme")
    run(capsys, "waba", "add", "--org", "acme", "--waba-id", WABA)
    run(capsys, "waba", "add", "--org", "acme", "--waba-id", OTHER_WABA)


@pytest.mark.usefixtures("acme")
def test_sync_says_what_it_does_on_a_terminal_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = run(capsys, "templates", "sync", "--org", "acme", "--waba", WABA)
    assert f"created\twabas/{WABA}/templates/order_ready.en_US\n" in out
    assert err == f"synced WABA {WABA}: 4 created, 0 updated, 0 unchanged, 0 vanished from Meta\n"

    controller, terminal = pty.openpty()
    with os.fdopen(terminal, "w") as stderr:
        monkeypatch.setattr(sys, "stderr", stderr)
        assert main(["templates", "sync", "--org", "acme", "--waba", WABA, "--json"]) == 0
    shown = os.read(controller, 4096).decode()
    os.close(controller)
    assert shown.splitlines() == [
        f"syncing WABA {WABA} of acme... (listing its templates from Meta)",
        f"synced WABA {WABA}: 0 created, 0 updated, 4 unchanged, 0 vanished from Meta",
    ]
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"waba_id", "created", "updated", "unchanged", "vanished"}
    assert len(report["unchanged"]) == 4
    assert f"wabas/{WABA}/templates/summer_sale.en_US" in report["unchanged"]


@pytest.mark.usefixtures("acme")
def test_templates_list_filters_and_pages_through_everything(capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "templates", "sync", "--org", "acme", "--waba", WABA)

    def names(*filters: str) -> list[str]:
        return [
            t["name"].rpartition("/")[2]
            for t in run_json(capsys, "templates", "list", "--org", "acme", *filters)
        ]

    every = ["order_ready.en_US", "order_ready.es_ES", "summer_sale.en_US", "welcome_back.en_US"]
    assert names() == every
    assert names("--waba", f"wabas/{WABA}") == every
    assert names("--status", "approved") == ["order_ready.en_US", "order_ready.es_ES"]
    assert names("--status", "paused", "--status", "rejected") == ["summer_sale.en_US", "welcome_back.en_US"]
    assert names("--category", "marketing") == ["summer_sale.en_US", "welcome_back.en_US"]
    assert names("--quality", "yellow") == ["order_ready.es_ES"]
    assert names("--language", "es_ES") == ["order_ready.es_ES"]
    assert names("--prefix", "summer") == ["summer_sale.en_US"]
    assert names("--limit", "3") == every[:3]
    assert names("--waba", OTHER_WABA) == []

    [record] = run_json(capsys, "templates", "list", "--org", "acme", "--prefix", "summer")
    assert set(record) == TEMPLATE_KEYS
    assert (record["status"], record["category"], record["quality"], record["etag"]) == (
        "PAUSED",
        "MARKETING",
        "RED",
        f'"{record["version"]}"',
    )
    out, err = run(capsys, "templates", "list", "--org", "acme", "--limit", "2")
    assert out.splitlines()[0].startswith(
        f"wabas/{WABA}/templates/order_ready.en_US\tAPPROVED\tUTILITY\tGREEN\tv"
    )
    assert len(out.splitlines()) == 2
    assert err == "2 templates shown; there are more: raise --limit\n"
    assert run(capsys, "templates", "list", "--org", "acme", "--waba", "999", code=1)[1] == (
        "error: waba 'wabas/999' was not found\n"
    )


@pytest.mark.usefixtures("acme")
def test_templates_get_by_resource_name_or_by_name_with_waba(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "templates", "sync", "--org", "acme", "--waba", WABA)
    name = f"wabas/{WABA}/templates/order_ready.en_US"

    by_name = run_json(capsys, "templates", "get", "--org", "acme", name)
    assert (
        run_json(capsys, "templates", "get", "--org", "acme", "--waba", WABA, "order_ready.en_US") == by_name
    )
    assert set(by_name) == TEMPLATE_KEYS | {"definition"}
    assert by_name["name"] == name
    # The definition is Meta's JSON, which `lint -` reads back.
    stdin_of(monkeypatch, json.dumps(by_name["definition"]).encode())
    assert run(capsys, "lint", "-")[0] == "<stdin>: ok (0 errors, 0 warnings)\n"

    human = run(capsys, "templates", "get", "--org", "acme", name)[0].splitlines()
    assert human[0] == f"name:             {name}"
    assert "status:           APPROVED" in human
    assert f"body:             {ORDER_READY_BODY['text']}" in human
    assert "parameter:        first_name (example 'Dana')" in human

    assert run(capsys, "templates", "get", "--org", "acme", "order_ready.en_US", code=2)[1] == (
        "error: 'order_ready.en_US' does not say its WABA: give --waba ID, or the full name "
        "wabas/{waba}/templates/{name}.{language}\n"
    )
    assert (
        "does not say its language"
        in run(capsys, "templates", "get", "--org", "acme", "--waba", WABA, "order_ready", code=2)[1]
    )
    assert run(capsys, "templates", "get", "--org", "acme", "--waba", WABA, "nope.en_US", code=1)[1] == (
        f"error: template 'wabas/{WABA}/templates/nope.en_US' was not found\n"
    )
