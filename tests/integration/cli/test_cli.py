"""The `watemplates` CLI: offline lint, and administration against a real SQLite file."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from app.cli import main
from support.inbox_seeding import seed_dead_changes

VALID = {
    "name": "order_ready",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "NAMED",
    "components": [
        {
            "type": "BODY",
            "text": "Hi {{first_name}}, your order can be collected from the front desk today.",
            "example": {"body_text_named_params": [{"param_name": "first_name", "example": "Dana"}]},
        }
    ],
}
INVALID = {
    "name": "Order Ready!",
    "language": "en_US",
    "category": "UTILITY",
    "parameter_format": "POSITIONAL",
    "components": [{"type": "BODY", "text": "{{1}}{{2}} thanks"}, {"type": "FOOTER", "text": "x" * 61}],
}


def write(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "template.json"
    path.write_text(json.dumps(payload))
    return str(path)


def test_lint_valid_file_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", write(tmp_path, VALID)]) == 0
    assert "ok (0 errors" in capsys.readouterr().out


def test_lint_invalid_file_exits_one_and_lists_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", write(tmp_path, INVALID), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    codes = {v["code"] for v in report["violations"] if v["severity"] == "ERROR"}
    assert {"NAME_INVALID", "PARAMS_ADJACENT", "PARAM_AT_BODY_START", "FOOTER_TOO_LONG"} <= codes
    assert report["valid"] is False


def test_lint_human_output_names_code_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", write(tmp_path, INVALID)]) == 1
    out = capsys.readouterr().out
    assert "error: FOOTER_TOO_LONG: template.components.footer:" in out


@pytest.mark.parametrize(
    ("content", "message"), [("{not json", "is not JSON"), ('{"name": "x"}', "components")]
)
def test_lint_unreadable_input_exits_two_with_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    assert main(["lint", str(path)]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"{not json", "NOT_JSON"),
        (b'{"name": "x"}', "NOT_A_TEMPLATE"),
        (b"\xff\xfe{", "UNREADABLE_FILE"),
        (None, "UNREADABLE_FILE"),
    ],
)
def test_lint_json_always_prints_json_even_for_a_file_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, code: str
) -> None:
    path = tmp_path / "t.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["lint", str(path), "--json"]) == 2
    printed = json.loads(capsys.readouterr().out)
    assert printed["valid"] is False
    assert printed["error"]["code"] == code
    assert printed["error"]["message"]


def test_lint_missing_file_exits_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.usefixtures("migrated")
def test_admin_flow_org_key_waba(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "create", "acme", "--name", "Acme Inc"]) == 0
    assert main(["apikey", "create", "--org", "acme", "--role", "viewer"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("wat_")
    prefix = secret.split("_")[1]
    assert (
        main(["waba", "add", "--org", "acme", "--waba-id", "301122334455667", "--phone-number-id", "1098"])
        == 0
    )
    assert main(["waba", "list", "--org", "acme"]) == 0
    assert "301122334455667" in capsys.readouterr().out
    assert main(["apikey", "revoke", prefix]) == 0
    assert main(["apikey", "list", "--org", "acme"]) == 0
    listing = capsys.readouterr().out
    assert prefix in listing
    assert "revoked" in listing
    # The key's secret is never stored or listed.
    assert secret not in listing


@pytest.mark.usefixtures("migrated")
def test_admin_errors_are_reported_not_raised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "create", "acme"]) == 0
    assert main(["org", "create", "acme"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["apikey", "create", "--org", "nobody", "--role", "admin"]) == 1
    assert main(["waba", "add", "--org", "acme", "--waba-id", "not-digits"]) == 1
    assert "numeric" in capsys.readouterr().err


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize(("limit", "shown"), [("650", 650), ("1000", 700)])
def test_inbox_list_pages_through_everything_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], limit: str, shown: int
) -> None:
    seed_dead_changes(f"sqlite+aiosqlite:///{tmp_path}/cli.db", 700)
    capsys.readouterr()

    assert main(["inbox", "list", "--limit", limit]) == 0

    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == shown
    assert f"{shown} changes" in captured.err
    assert ("more: raise --limit" in captured.err) == (shown < 700)
    assert "0 deliveries waiting to be split" in captured.err


def test_inbox_list_refuses_a_limit_below_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["inbox", "list", "--limit", "0"])
    assert "must be at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("migrate", ["true", "false"])
def test_an_unreachable_database_is_one_clear_line_with_its_cause(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], migrate: str
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("WATEMPLATES_DATABASE_URL", f"postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing")
    monkeypatch.setenv("WATEMPLATES_MIGRATE_ON_START", migrate)

    assert main(["org", "list"]) == 1

    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"the database at postgresql+asyncpg://nobody@127.0.0.1:{port}/nothing cannot be reached" in error
    assert "Connect call failed" in error or "refused" in error.lower()


@pytest.mark.usefixtures("migrated")
def test_channels_are_added_listed_without_secrets_and_removed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "create", "acme"]) == 0
    assert (
        main(
            [
                "channels",
                "add",
                "--org",
                "acme",
                "--kind",
                "email",
                "--to",
                "ops@acme.test",
                "--mute",
                "quality_yellow",
            ]
        )
        == 0
    )
    slack_url = "https://hooks.slack.com/services/T0/B0/SECRETPART"
    assert (
        main(
            [
                "channels",
                "add",
                "--org",
                "acme",
                "--kind",
                "slack",
                "--url",
                slack_url,
                "--min-severity",
                "high",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "channels",
                "add",
                "--org",
                "acme",
                "--kind",
                "webhook",
                "--url",
                "https://internal.example/hook",
            ]
        )
        == 0
    )
    added = capsys.readouterr().out
    assert added.count("whsec_") == 1  # the webhook's signing secret, shown once
    assert main(["channels", "list", "--org", "acme"]) == 0
    listed = capsys.readouterr().out
    assert "ops@acme.test" in listed
    assert "QUALITY_YELLOW" in listed
    assert "SECRETPART" not in listed
    assert "whsec_" not in listed
    first = listed.split("\t", 1)[0]
    assert main(["channels", "remove", "--org", "acme", first]) == 0
    assert f"{first} removed" in capsys.readouterr().out
    assert main(["channels", "list", "--org", "acme"]) == 0
    assert first not in capsys.readouterr().out
    assert main(["channels", "add", "--org", "acme", "--kind", "email", "--to", "not-an-address"]) != 0
    assert main(["notifications", "list", "--org", "acme"]) == 0


@pytest.mark.usefixtures("migrated")
def test_the_audit_log_shows_what_the_cli_did(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["org", "create", "acme"]) == 0
    assert main(["waba", "add", "--org", "acme", "--waba-id", "301122334455667"]) == 0
    assert main(["apikey", "create", "--org", "acme", "--role", "viewer"]) == 0
    capsys.readouterr()
    assert main(["audit", "list", "--org", "acme"]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [(line[1], line[2], line[4]) for line in lines] == [
        ("cli", "CreateApiKey", "OK"),
        ("cli", "AddWaba", "OK"),
        ("cli", "CreateOrganization", "OK"),
    ]
    assert main(["audit", "list", "--org", "acme", "--action", "AddWaba"]) == 0
    assert capsys.readouterr().out.count("\n") == 1
