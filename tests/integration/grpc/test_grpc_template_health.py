"""watemplates.v1.TemplateHealthService and InboxService over a real in-process gRPC server (see
health_world: template state arrives as Meta's webhook JSON, applied by the real inbox worker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from typing import Any

import grpc
import pytest

from adapters.http.webhook.translators import MetaWebhookTranslator
from app.bootstrap import build_bus, build_services
from app.inbox_worker import InboxSettings, InboxWorker
from fakes import FakeHealthProbe
from fakes.translators import FailingTranslator
from integration.grpc.grpc_cases import fails
from integration.grpc.health_world import (
    ACME_EMPTY_WABA,
    ACME_WABA,
    ACME_WABA_2,
    GLOBEX_WABA,
    SETTINGS,
    TIMEOUT,
    UNREGISTERED_WABA,
    UNTRANSLATABLE,
    HealthWorld,
    Tenant,
    category,
    health_world,
    quality,
    resource,
    status,
    unhandled,
)
from watemplates.v1 import resources_pb2 as pb
from watemplates.v1 import template_health_pb2 as hp


@pytest.fixture
async def world() -> AsyncIterator[HealthWorld]:
    async with health_world() as opened:
        yield opened


def seconds(value: Any) -> int:
    return int(value.seconds)


# ---- ListCriticalTemplates ----------------------------------------------------------------------


async def critical_page(world: HealthWorld, parent: str, role: str = "viewer", **kw: Any) -> Any:
    return await world.health.ListCriticalTemplates(
        hp.ListCriticalTemplatesRequest(parent=parent, **kw), metadata=world.a.auth(role)
    )


async def test_critical_templates_most_severe_then_most_recent_with_their_alerts(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("rej", "REJECTED"))  # warning, step 1
    await world.apply(ACME_WABA, status("pause", "PAUSED"))  # high, step 2
    await world.apply(ACME_WABA, status("dis", "DISABLED"))  # critical, step 3
    await world.apply(ACME_WABA, quality("red", "RED"))  # high, step 4
    await world.apply(ACME_WABA, quality("yel", "YELLOW"))  # warning, step 5
    await world.apply(ACME_WABA, status("rec", "PAUSED"))  # high ... step 6
    await world.apply(ACME_WABA_2, status("other", "PAUSED"))  # high, step 7, another WABA
    await world.apply(ACME_WABA, status("rec", "APPROVED"))  # ... recovered, step 8
    await world.apply(ACME_WABA, quality("pause", "YELLOW"))  # a second alert on "pause", step 9
    await world.apply(ACME_WABA, status("fine", "APPROVED"))  # never critical
    await world.apply(GLOBEX_WABA, status("gdis", "DISABLED"))  # another organization's

    response = await critical_page(world, "wabas/-")
    assert response.next_page_token == ""
    got = [(c.template.name, c.severity) for c in response.templates]
    assert got == [
        (resource("dis"), hp.ALERT_SEVERITY_CRITICAL),
        (resource("pause"), hp.ALERT_SEVERITY_HIGH),
        (resource("other", ACME_WABA_2), hp.ALERT_SEVERITY_HIGH),
        (resource("red"), hp.ALERT_SEVERITY_HIGH),
        (resource("yel"), hp.ALERT_SEVERITY_WARNING),
        (resource("rej"), hp.ALERT_SEVERITY_WARNING),
    ]
    by_name = {c.template.name: c for c in response.templates}
    pause = by_name[resource("pause")]
    assert pause.template.status == pb.TEMPLATE_STATUS_PAUSED
    assert pause.template.quality == pb.TEMPLATE_QUALITY_YELLOW
    # Its alerts, most severe first, each naming the template.
    assert [(a.kind, a.severity, a.state) for a in pause.alerts] == [
        (hp.ALERT_KIND_PAUSED, hp.ALERT_SEVERITY_HIGH, hp.ALERT_STATE_OPEN),
        (hp.ALERT_KIND_QUALITY_YELLOW, hp.ALERT_SEVERITY_WARNING, hp.ALERT_STATE_OPEN),
    ]
    assert {a.template for a in pause.alerts} == {resource("pause")}
    assert all(a.name.startswith("alerts/") for a in pause.alerts)
    assert [a.kind for a in by_name[resource("dis")].alerts] == [hp.ALERT_KIND_DISABLED]
    assert by_name[resource("dis")].template.status == pb.TEMPLATE_STATUS_DISABLED
    assert [a.kind for a in by_name[resource("red")].alerts] == [hp.ALERT_KIND_QUALITY_RED]
    assert [a.kind for a in by_name[resource("rej")].alerts] == [hp.ALERT_KIND_REJECTED]
    # The default parent is every WABA too.
    assert (await critical_page(world, "")).templates == response.templates

    only_a = await critical_page(world, f"wabas/{ACME_WABA}")
    assert [c.template.name for c in only_a.templates] == [
        resource(n) for n in ("dis", "pause", "red", "yel", "rej")
    ]
    only_a2 = await critical_page(world, f"wabas/{ACME_WABA_2}")
    assert [c.template.name for c in only_a2.templates] == [resource("other", ACME_WABA_2)]
    assert list((await critical_page(world, f"wabas/{ACME_EMPTY_WABA}")).templates) == []
    # Another organization's WABA is not there at all.
    assert (await fails(critical_page(world, f"wabas/{GLOBEX_WABA}"))).code == grpc.StatusCode.NOT_FOUND
    globex = await world.health.ListCriticalTemplates(
        hp.ListCriticalTemplatesRequest(parent="wabas/-"), metadata=world.b.auth("viewer")
    )
    assert [c.template.name for c in globex.templates] == [resource("gdis", GLOBEX_WABA)]

    # Paging one by one walks the same list, each page bound to its query.
    paged, token, pages = [], "", 0
    while True:
        page = await critical_page(world, "wabas/-", page_size=1, page_token=token)
        pages += 1
        assert len(page.templates) == 1
        paged += list(page.templates)
        token = page.next_page_token
        if not token:
            break
    assert pages == 6
    assert paged == list(response.templates)
    status_ = await fails(critical_page(world, f"wabas/{ACME_WABA}", page_size=1, page_token="x"))
    assert status_.code == grpc.StatusCode.INVALID_ARGUMENT
    first = await critical_page(world, "wabas/-", page_size=1)
    other_query = await fails(
        critical_page(world, f"wabas/{ACME_WABA}", page_size=1, page_token=first.next_page_token)
    )
    assert (other_query.code, other_query.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


async def test_critical_templates_recovery_drops_out(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("flaky", "PAUSED"), quality("flaky", "RED"))
    assert [c.template.name for c in (await critical_page(world, "wabas/-")).templates] == [resource("flaky")]
    await world.apply(ACME_WABA, status("flaky", "APPROVED"))
    [still] = (await critical_page(world, "wabas/-")).templates
    assert [a.kind for a in still.alerts] == [hp.ALERT_KIND_QUALITY_RED]
    await world.apply(ACME_WABA, quality("flaky", "GREEN", previous="RED"))
    assert list((await critical_page(world, "wabas/-")).templates) == []


async def test_critical_templates_roles(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("dis", "DISABLED"))
    for role in ("viewer", "operator", "admin"):
        assert len((await critical_page(world, "wabas/-", role=role)).templates) == 1
    unauthenticated = await fails(
        world.health.ListCriticalTemplates(hp.ListCriticalTemplatesRequest(parent="wabas/-"))
    )
    assert unauthenticated.code == grpc.StatusCode.UNAUTHENTICATED


# ---- GetQualitySummary --------------------------------------------------------------------------


def counts(message: hp.QualityCounts) -> tuple[dict[str, int], dict[str, int], int]:
    return dict(message.by_quality), dict(message.by_status), message.total


async def test_quality_summary_counts_per_waba_and_in_total(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("g1", "APPROVED"), quality("g1", "GREEN", previous="UNKNOWN"))
    await world.apply(ACME_WABA, status("g2", "APPROVED"), quality("g2", "GREEN", previous="UNKNOWN"))
    await world.apply(ACME_WABA, status("r1", "PAUSED"), quality("r1", "RED"))
    await world.apply(ACME_WABA, status("u1", "REJECTED"))
    await world.apply(ACME_WABA_2, quality("y1", "YELLOW"))
    await world.apply(GLOBEX_WABA, status("gx", "DISABLED"), quality("gx", "RED"))

    summary = await world.health.GetQualitySummary(
        hp.GetQualitySummaryRequest(parent="wabas/-"), metadata=world.a.auth("viewer")
    )
    a = ({"GREEN": 2, "RED": 1, "UNKNOWN": 1}, {"APPROVED": 2, "PAUSED": 1, "REJECTED": 1}, 4)
    # First seen through a quality rating: approved at Meta, which rates approved templates only.
    a2 = ({"YELLOW": 1}, {"APPROVED": 1}, 1)
    assert set(summary.by_waba) == {ACME_WABA, ACME_WABA_2, ACME_EMPTY_WABA}
    assert counts(summary.by_waba[ACME_WABA]) == a
    assert counts(summary.by_waba[ACME_WABA_2]) == a2
    # A WABA without templates is present, with zero counts.
    assert counts(summary.by_waba[ACME_EMPTY_WABA]) == ({}, {}, 0)
    assert counts(summary.total) == (
        {"GREEN": 2, "RED": 1, "UNKNOWN": 1, "YELLOW": 1},
        {"APPROVED": 3, "PAUSED": 1, "REJECTED": 1},
        5,
    )
    # The default parent is every WABA.
    default = await world.health.GetQualitySummary(hp.GetQualitySummaryRequest(), metadata=world.a.auth())
    assert default == summary

    one = await world.health.GetQualitySummary(
        hp.GetQualitySummaryRequest(parent=f"wabas/{ACME_WABA_2}"), metadata=world.a.auth("viewer")
    )
    assert set(one.by_waba) == {ACME_WABA_2}
    assert counts(one.total) == a2
    empty = await world.health.GetQualitySummary(
        hp.GetQualitySummaryRequest(parent=f"wabas/{ACME_EMPTY_WABA}"), metadata=world.a.auth("viewer")
    )
    assert set(empty.by_waba) == {ACME_EMPTY_WABA}
    assert counts(empty.total) == ({}, {}, 0)

    globex = await world.health.GetQualitySummary(
        hp.GetQualitySummaryRequest(parent="wabas/-"), metadata=world.b.auth("viewer")
    )
    assert set(globex.by_waba) == {GLOBEX_WABA}
    assert counts(globex.total) == ({"RED": 1}, {"DISABLED": 1}, 1)
    denied = await fails(
        world.health.GetQualitySummary(
            hp.GetQualitySummaryRequest(parent=f"wabas/{GLOBEX_WABA}"), metadata=world.a.auth("viewer")
        )
    )
    assert denied.code == grpc.StatusCode.NOT_FOUND


# ---- ListTemplateHistory ------------------------------------------------------------------------


async def history(world: HealthWorld, name: str, tenant: Tenant | None = None, **kw: Any) -> Any:
    return await world.health.ListTemplateHistory(
        hp.ListTemplateHistoryRequest(name=name, **kw), metadata=(tenant or world.a).auth("viewer")
    )


async def test_template_history_oldest_first_with_superseded_entries_and_paging(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("hist", "APPROVED"), time=1_000)
    await world.apply(ACME_WABA, quality("hist", "YELLOW"), time=1_100)
    await world.apply(ACME_WABA, status("hist", "PAUSED", reason="LOW_QUALITY"), time=3_000)
    # Meta's older REJECTED arrives after the newer PAUSED: kept in history, state untouched.
    await world.apply(ACME_WABA, status("hist", "REJECTED"), time=2_000)
    await world.apply(ACME_WABA, category("hist", "UTILITY", "MARKETING"), time=4_000)
    await world.apply(ACME_WABA, status("bystander", "APPROVED"), time=5_000)

    full = await history(world, resource("hist"))
    assert full.next_page_token == ""
    got = [(e.aspect, e.outcome, e.from_value, e.to_value) for e in full.events]
    assert got == [
        (hp.HISTORY_ASPECT_STATUS, hp.CHANGE_OUTCOME_APPLIED, "", "APPROVED"),
        # The first quality event: `from` is what Meta says it was, not our default UNKNOWN.
        (hp.HISTORY_ASPECT_QUALITY, hp.CHANGE_OUTCOME_APPLIED, "GREEN", "YELLOW"),
        (hp.HISTORY_ASPECT_STATUS, hp.CHANGE_OUTCOME_APPLIED, "APPROVED", "PAUSED"),
        (hp.HISTORY_ASPECT_STATUS, hp.CHANGE_OUTCOME_SUPERSEDED, "PAUSED", "REJECTED"),
        (hp.HISTORY_ASPECT_CATEGORY, hp.CHANGE_OUTCOME_APPLIED, "MARKETING", "UTILITY"),
    ]
    assert [seconds(e.occur_time) for e in full.events] == [1_000, 1_100, 3_000, 2_000, 4_000]
    receive = [seconds(e.receive_time) for e in full.events]
    assert receive == sorted(receive)
    assert len(set(receive)) == 5
    cursors = [int(e.cursor) for e in full.events]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 5
    assert {e.template for e in full.events} == {resource("hist")}
    assert {e.source for e in full.events} == {hp.CHANGE_SOURCE_WEBHOOK}
    assert full.events[2].reason == "LOW_QUALITY"
    assert json.loads(full.events[2].details_json)["raw"]["event"] == "PAUSED"
    # The superseded REJECTED left the template PAUSED and opened no alert.
    [critical] = (await critical_page(world, "wabas/-")).templates
    assert critical.template.status == pb.TEMPLATE_STATUS_PAUSED
    assert hp.ALERT_KIND_REJECTED not in [a.kind for a in critical.alerts]

    paged, token, sizes = [], "", []
    while True:
        page = await history(world, resource("hist"), page_size=2, page_token=token)
        sizes.append(len(page.events))
        paged += list(page.events)
        token = page.next_page_token
        if not token:
            break
    assert sizes == [2, 2, 1]
    assert paged == list(full.events)

    second = (await history(world, resource("hist"), page_size=2)).next_page_token
    body, _, signature = second.partition(".")
    forged_tokens = [
        "not-a-token",
        body + "." + signature[::-1],
        body[:-2] + "AA." + signature,
        "." + signature,
    ]
    for forged in forged_tokens:
        bad = await fails(history(world, resource("hist"), page_size=2, page_token=forged))
        assert (bad.code, bad.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN"), forged
    # A genuine token of another template's history does not page this one.
    other = await fails(history(world, resource("bystander"), page_size=2, page_token=second))
    assert (other.code, other.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")
    negative = await fails(history(world, resource("hist"), page_size=-1))
    assert negative.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_template_history_of_another_organization_is_not_found(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("secret", "APPROVED"))
    await world.apply(GLOBEX_WABA, status("theirs", "APPROVED"))
    assert len((await history(world, resource("secret"))).events) == 1
    for tenant, name in [
        (world.b, resource("secret")),
        (world.a, resource("theirs", GLOBEX_WABA)),
        (world.a, resource("missing")),
    ]:
        assert (await fails(history(world, name, tenant))).code == grpc.StatusCode.NOT_FOUND


# ---- ListAlerts and AcknowledgeAlert ------------------------------------------------------------


async def alerts(world: HealthWorld, tenant: Tenant | None = None, **kw: Any) -> Any:
    return await world.health.ListAlerts(
        hp.ListAlertsRequest(**kw), metadata=(tenant or world.a).auth("viewer")
    )


def kinds(response: Any) -> list[tuple[str, int]]:
    return [(a.template.rsplit("/", 1)[-1].split(".")[0], a.kind) for a in response.alerts]


async def acknowledge(
    world: HealthWorld, name: str, role: str = "operator", tenant: Tenant | None = None
) -> Any:
    return await world.health.AcknowledgeAlert(
        hp.AcknowledgeAlertRequest(name=name), metadata=(tenant or world.a).auth(role)
    )


async def alert_scenario(world: HealthWorld) -> dict[str, hp.Alert]:
    await world.apply(ACME_WABA, status("x", "PAUSED"))  # x PAUSED, high
    await world.apply(ACME_WABA, status("y", "REJECTED"))  # y REJECTED, warning
    await world.apply(ACME_WABA, status("z", "DISABLED"))  # z DISABLED, critical
    await world.apply(ACME_WABA, quality("x", "RED"))  # x QUALITY_RED, high
    await world.apply(ACME_WABA, status("y", "APPROVED"))  # y REJECTED resolved
    await world.apply(GLOBEX_WABA, status("g", "DISABLED"))
    listed = await alerts(world)
    return {f"{k[0]}:{k[1]}": a for k, a in zip(kinds(listed), listed.alerts, strict=True)}


async def test_list_alerts_newest_first_with_filters_and_paging(world: HealthWorld) -> None:
    by_key = await alert_scenario(world)
    zdis = by_key[f"z:{hp.ALERT_KIND_DISABLED}"]
    await acknowledge(world, zdis.name)

    X_RED, Z_DIS = ("x", hp.ALERT_KIND_QUALITY_RED), ("z", hp.ALERT_KIND_DISABLED)  # noqa: N806
    Y_REJ, X_PAUSED = ("y", hp.ALERT_KIND_REJECTED), ("x", hp.ALERT_KIND_PAUSED)  # noqa: N806
    everything = await alerts(world)
    assert kinds(everything) == [X_RED, Z_DIS, Y_REJ, X_PAUSED]
    opened = [a.open_time.ToDatetime() for a in everything.alerts]
    assert opened == sorted(opened, reverse=True)
    by_kind = {(k[0], k[1]): a for k, a in zip(kinds(everything), everything.alerts, strict=True)}
    assert by_kind[Y_REJ].state == hp.ALERT_STATE_RESOLVED
    assert by_kind[Y_REJ].HasField("resolve_time")
    assert by_kind[Z_DIS].state == hp.ALERT_STATE_ACKNOWLEDGED
    assert by_kind[X_PAUSED].state == hp.ALERT_STATE_OPEN
    assert not by_kind[X_PAUSED].HasField("acknowledge_time")
    assert not by_kind[X_PAUSED].HasField("resolve_time")
    assert by_kind[X_PAUSED].severity == hp.ALERT_SEVERITY_HIGH
    assert by_kind[X_PAUSED].template == resource("x")

    cases: list[tuple[dict[str, Any], list[tuple[str, int]]]] = [
        ({"states": [hp.ALERT_STATE_OPEN]}, [X_RED, X_PAUSED]),
        ({"states": [hp.ALERT_STATE_RESOLVED]}, [Y_REJ]),
        ({"states": [hp.ALERT_STATE_OPEN, hp.ALERT_STATE_ACKNOWLEDGED]}, [X_RED, Z_DIS, X_PAUSED]),
        ({"severities": [hp.ALERT_SEVERITY_HIGH]}, [X_RED, X_PAUSED]),
        ({"severities": [hp.ALERT_SEVERITY_CRITICAL, hp.ALERT_SEVERITY_WARNING]}, [Z_DIS, Y_REJ]),
        ({"template": resource("x")}, [X_RED, X_PAUSED]),
        ({"template": resource("y"), "states": [hp.ALERT_STATE_OPEN]}, []),
        ({"template": resource("x"), "severities": [hp.ALERT_SEVERITY_HIGH]}, [X_RED, X_PAUSED]),
        ({"states": [hp.ALERT_STATE_ACKNOWLEDGED], "severities": [hp.ALERT_SEVERITY_HIGH]}, []),
    ]
    for filters, expected in cases:
        assert kinds(await alerts(world, **filters)) == expected, filters

    paged, token = [], ""
    while True:
        page = await alerts(world, page_size=1, page_token=token)
        assert len(page.alerts) == 1
        paged += list(page.alerts)
        token = page.next_page_token
        if not token:
            break
    assert paged == list(everything.alerts)
    two = await alerts(world, states=[hp.ALERT_STATE_OPEN, hp.ALERT_STATE_ACKNOWLEDGED], page_size=2)
    assert kinds(two) == [X_RED, Z_DIS]
    rest = await alerts(
        world,
        states=[hp.ALERT_STATE_OPEN, hp.ALERT_STATE_ACKNOWLEDGED],
        page_size=2,
        page_token=two.next_page_token,
    )
    assert (kinds(rest), rest.next_page_token) == ([X_PAUSED], "")
    mismatch = await fails(alerts(world, states=[hp.ALERT_STATE_OPEN], page_token=two.next_page_token))
    assert (mismatch.code, mismatch.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")

    # Each organization sees its own alerts only.
    assert kinds(await alerts(world, world.b)) == [("g", hp.ALERT_KIND_DISABLED)]
    foreign = await fails(alerts(world, template=resource("g", GLOBEX_WABA)))
    assert foreign.code == grpc.StatusCode.NOT_FOUND
    assert kinds(await alerts(world, world.b, template=resource("g", GLOBEX_WABA))) == [
        ("g", hp.ALERT_KIND_DISABLED)
    ]


async def test_acknowledge_alert_records_who_and_when_once(world: HealthWorld) -> None:
    by_key = await alert_scenario(world)
    target = by_key[f"x:{hp.ALERT_KIND_PAUSED}"]
    assert target.state == hp.ALERT_STATE_OPEN
    acknowledged_at = world.clock.now()

    denied = await fails(acknowledge(world, target.name, role="viewer"))
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_ROLE")
    assert (await alerts(world, template=resource("x"))).alerts[1].state == hp.ALERT_STATE_OPEN

    first = (await acknowledge(world, target.name)).alert
    assert first.name == target.name
    assert first.state == hp.ALERT_STATE_ACKNOWLEDGED
    assert first.acknowledge_time.ToDatetime(tzinfo=UTC) == acknowledged_at
    _, operator_prefix = world.a.key_ids["operator"]
    assert first.acknowledged_by == f"apiKeys/{operator_prefix}"
    assert first.open_time == target.open_time

    world.clock.advance(minutes=30)
    again = (await acknowledge(world, target.name, role="admin")).alert
    assert again == first
    listed = {a.name: a for a in (await alerts(world)).alerts}
    assert listed[target.name] == first
    # Acknowledged alerts keep the template critical until it recovers.
    assert resource("x") in [c.template.name for c in (await critical_page(world, "wabas/-")).templates]

    globex_alert = (await alerts(world, world.b)).alerts[0]
    for name, tenant in [(globex_alert.name, world.a), (target.name, world.b), ("alerts/0000", world.a)]:
        missing = await fails(acknowledge(world, name, tenant=tenant))
        assert missing.code == grpc.StatusCode.NOT_FOUND, name
    for bad_name in ["", "alerts/", "alerts/a/b", "alert/abc", target.name.removeprefix("alerts/")]:
        bad = await fails(acknowledge(world, bad_name))
        assert bad.code == grpc.StatusCode.INVALID_ARGUMENT, bad_name
        assert bad.violations
        assert bad.violations[0][0] == "name"
    # A resolved alert is not reopened by acknowledging it.
    resolved = by_key[f"y:{hp.ALERT_KIND_REJECTED}"]
    assert (await acknowledge(world, resolved.name)).alert.state == hp.ALERT_STATE_RESOLVED


# ---- WatchTemplateEvents ------------------------------------------------------------------------


def values(events: list[hp.TemplateEvent]) -> list[str]:
    return [e.to_value for e in events]


async def test_watch_delivers_new_events_in_order(world: HealthWorld) -> None:
    await world.apply(ACME_WABA, status("before", "APPROVED"))  # in the past: not streamed
    watch = await world.watch("")
    await world.apply(ACME_WABA, status("w1", "APPROVED"))
    await world.apply(ACME_WABA, status("w1", "PAUSED"))
    await world.apply(ACME_WABA, quality("w1", "RED"), category("w1", "UTILITY", "MARKETING"))
    events = await watch.take(4)
    # One delivery's changes apply in their order in the delivery.
    assert values(events) == ["APPROVED", "PAUSED", "RED", "UTILITY"]
    assert {e.template for e in events} == {resource("w1")}
    cursors = [int(e.cursor) for e in events]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 4
    full = await history(world, resource("w1"))
    assert list(full.events) == events


async def test_watch_resumes_after_the_last_cursor_without_gaps_or_repeats(world: HealthWorld) -> None:
    watch = await world.watch("")
    await world.apply(ACME_WABA, status("r", "APPROVED"))
    await world.apply(ACME_WABA, status("r", "PAUSED"))
    seen = await watch.take(2)
    assert values(seen) == ["APPROVED", "PAUSED"]
    await watch.close()

    # Applied while nobody listens.
    await world.apply(ACME_WABA, status("r", "DISABLED"))
    await world.apply(ACME_WABA, quality("r", "RED"))
    resumed = await world.watch(seen[-1].cursor)
    missed = await resumed.take(2)
    assert values(missed) == ["DISABLED", "RED"]
    # Nothing repeated: the next event is the next change.
    await world.apply(ACME_WABA, status("r", "REINSTATED"))
    [after] = await resumed.take(1)
    assert after.to_value == "REINSTATED"
    assert int(seen[-1].cursor) < int(missed[0].cursor) < int(missed[1].cursor) < int(after.cursor)

    # Resuming from the middle replays exactly what followed it.
    middle = await world.watch(missed[0].cursor)
    assert values(await middle.take(2)) == ["RED", "REINSTATED"]

    # "0" is the beginning: everything, in order.
    replay = await world.watch("0")
    everything = await replay.take(5)
    assert everything == [*seen, *missed, after]
    await world.apply(ACME_WABA, status("r", "APPROVED"))
    assert values(await replay.take(1)) == ["APPROVED"]
    assert values(await middle.take(1)) == ["APPROVED"]


async def test_watch_streams_only_the_callers_organization(world: HealthWorld) -> None:
    await world.apply(GLOBEX_WABA, status("early", "APPROVED"))
    globex_now = await world.watch("", world.b)
    globex_all = await world.watch("0", world.b)
    acme = await world.watch("")
    await world.apply(ACME_WABA, status("mine", "PAUSED"))
    await world.apply(ACME_WABA_2, status("mine2", "DISABLED"))
    await world.apply(GLOBEX_WABA, status("theirs", "PAUSED"))
    assert [e.template for e in await acme.take(2)] == [resource("mine"), resource("mine2", ACME_WABA_2)]
    # Globex's streams skip acme's events: the next one is globex's own.
    [live] = await globex_now.take(1)
    assert (live.template, live.to_value) == (resource("theirs", GLOBEX_WABA), "PAUSED")
    assert [e.template for e in await globex_all.take(2)] == [
        resource("early", GLOBEX_WABA),
        resource("theirs", GLOBEX_WABA),
    ]
    # A globex cursor used by acme resumes acme's own sequence only.
    acme_after = await world.watch(live.cursor)
    await world.apply(ACME_WABA, status("mine", "APPROVED"))
    [own] = await acme_after.take(1)
    assert (own.template, own.to_value) == (resource("mine"), "APPROVED")


@pytest.mark.parametrize(
    "cursor", ["abc", "-1", "1.5", " 1", "1 ", "0x10", "+1", "1_0", "²", "٣", str(2**63), "9" * 30]
)
async def test_watch_rejects_a_bad_cursor(world: HealthWorld, cursor: str) -> None:
    call = world.health.WatchTemplateEvents(
        hp.WatchTemplateEventsRequest(cursor=cursor), metadata=world.a.auth("viewer")
    )
    bad = await fails(asyncio.wait_for(call.read(), TIMEOUT))
    assert (bad.code, bad.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_CURSOR")


async def test_watch_needs_a_key(world: HealthWorld) -> None:
    call = world.health.WatchTemplateEvents(hp.WatchTemplateEventsRequest(cursor="0"))
    assert (await fails(asyncio.wait_for(call.read(), TIMEOUT))).code == grpc.StatusCode.UNAUTHENTICATED


async def test_watch_sees_events_applied_by_another_services_instance(world: HealthWorld) -> None:
    other = await build_services(
        SETTINGS, uow_factory=world.factory, probe=FakeHealthProbe(), clock=world.clock
    )
    try:
        other_worker = InboxWorker(other.uow_factory, other.clock, other.bus, MetaWebhookTranslator())
        watch = await world.watch("")
        await world.post(ACME_WABA, status("elsewhere", "APPROVED"))
        await world.post(ACME_WABA, status("elsewhere", "PAUSED"))
        await world.drain(other_worker)
        events = await watch.take(2)
        assert values(events) == ["APPROVED", "PAUSED"]
        assert {e.template for e in events} == {resource("elsewhere")}
        # The other instance's queries see what this one's stream saw.
        principal_key = world.a.keys["viewer"]
        principal = await other.authenticator.authenticate(principal_key)
        assert [str(r.seq) for r in await other.health_queries.events_after(principal, 0, 10)] == [
            e.cursor for e in events
        ]
    finally:
        await other.close()


# ---- InboxService -------------------------------------------------------------------------------


async def inbox_list(world: HealthWorld, tenant: Tenant | None = None, role: str = "admin", **kw: Any) -> Any:
    return await world.inbox.ListInboxChanges(
        hp.ListInboxChangesRequest(**kw), metadata=(tenant or world.a).auth(role)
    )


async def replay(
    world: HealthWorld, change_id: str, tenant: Tenant | None = None, role: str = "admin"
) -> Any:
    return await world.inbox.ReplayInboxChange(
        hp.ReplayInboxChangeRequest(name=f"inboxChanges/{change_id}"), metadata=(tenant or world.a).auth(role)
    )


def rows(response: Any) -> list[tuple[str, str, str, int]]:
    return [(c.name.removeprefix("inboxChanges/"), c.waba_id, c.field, c.state) for c in response.changes]


async def test_inbox_lists_and_replays_an_organizations_changes(world: HealthWorld) -> None:
    status_field = "message_template_status_update"
    done = await world.apply(ACME_WABA, status("ok", "APPROVED"))
    skipped = await world.apply(ACME_WABA, unhandled("A1"))
    untranslatable = await world.apply(ACME_WABA, UNTRANSLATABLE)
    foreign = await world.apply(GLOBEX_WABA, unhandled("B1"))
    parked = await world.apply(UNREGISTERED_WABA, status("nobody", "APPROVED"))

    broken = FailingTranslator(RuntimeError("boom: the database went away"))
    failing_worker = InboxWorker(
        world.factory,
        world.clock,
        build_bus(world.factory, world.clock, webhook_translator=broken),
        broken,
        InboxSettings(max_attempts=1),
    )
    failed = await world.post(ACME_WABA, status("unlucky", "PAUSED"))
    await world.drain(failing_worker)
    world.clock.advance(minutes=1)

    listed = await inbox_list(world)
    assert rows(listed) == [
        (skipped, ACME_WABA, "account_update", hp.INBOX_CHANGE_STATE_SKIPPED),
        (untranslatable, ACME_WABA, status_field, hp.INBOX_CHANGE_STATE_DEAD),
        (failed, ACME_WABA, status_field, hp.INBOX_CHANGE_STATE_DEAD),
    ]
    assert listed.next_page_token == ""
    by_id = {c.name.removeprefix("inboxChanges/"): c for c in listed.changes}
    assert "boom" in by_id[failed].last_error
    assert by_id[failed].attempts == 1
    assert "message_template_id" in by_id[untranslatable].last_error
    assert json.loads(by_id[failed].value_json)["event"] == "PAUSED"
    assert by_id[skipped].HasField("receive_time")
    assert rows(await inbox_list(world, states=[hp.INBOX_CHANGE_STATE_DONE])) == [
        (done, ACME_WABA, status_field, hp.INBOX_CHANGE_STATE_DONE)
    ]
    assert rows(await inbox_list(world, states=[hp.INBOX_CHANGE_STATE_PARKED])) == []
    assert rows(await inbox_list(world, world.b)) == [
        (foreign, GLOBEX_WABA, "account_update", hp.INBOX_CHANGE_STATE_SKIPPED)
    ]
    paged, token = [], ""
    while True:
        page = await inbox_list(world, page_size=1, page_token=token)
        paged += list(page.changes)
        token = page.next_page_token
        if not token:
            break
    assert paged == list(listed.changes)

    for role in ("operator", "viewer"):
        denied = await fails(inbox_list(world, role=role))
        assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "INSUFFICIENT_ROLE")
        denied = await fails(replay(world, failed, role=role))
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED

    # A DEAD change replays as PENDING, and the worker then applies it.
    replayed = (await replay(world, failed)).change
    assert (replayed.state, replayed.attempts) == (hp.INBOX_CHANGE_STATE_PENDING, 0)
    assert "boom" in replayed.last_error
    await world.drain()
    assert rows(await inbox_list(world, states=[hp.INBOX_CHANGE_STATE_DONE])) == [
        (done, ACME_WABA, status_field, hp.INBOX_CHANGE_STATE_DONE),
        (failed, ACME_WABA, status_field, hp.INBOX_CHANGE_STATE_DONE),
    ]
    assert [e.to_value for e in (await history(world, resource("unlucky"))).events] == ["PAUSED"]
    # A SKIPPED change replays too (and is skipped again by this version).
    assert (await replay(world, skipped)).change.state == hp.INBOX_CHANGE_STATE_PENDING
    await world.drain()
    assert [r[0] for r in rows(await inbox_list(world))] == [skipped, untranslatable]

    not_replayable = await fails(replay(world, done))
    assert (not_replayable.code, not_replayable.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CHANGE_NOT_REPLAYABLE",
    )
    for change_id, tenant in [
        (foreign, world.a),
        (parked, world.a),
        (untranslatable, world.b),
        ("nope", world.a),
    ]:
        missing = await fails(replay(world, change_id, tenant))
        assert missing.code == grpc.StatusCode.NOT_FOUND, change_id
    # Nothing of the refused replays changed anything.
    assert rows(await inbox_list(world, world.b)) == [
        (foreign, GLOBEX_WABA, "account_update", hp.INBOX_CHANGE_STATE_SKIPPED)
    ]


# ---- malformed requests never end as INTERNAL ---------------------------------------------------

Call = Callable[[HealthWorld], Awaitable[Any]]


def _health(method: str, request: Any, role: str = "admin") -> Call:
    def call(world: HealthWorld) -> Awaitable[Any]:
        rpc: Callable[..., Awaitable[Any]] = getattr(world.health, method)
        return rpc(request, metadata=world.a.auth(role))

    return call


def _inbox(method: str, request: Any) -> Call:
    def call(world: HealthWorld) -> Awaitable[Any]:
        rpc: Callable[..., Awaitable[Any]] = getattr(world.inbox, method)
        return rpc(request, metadata=world.a.auth("admin"))

    return call


def _watch(cursor: str) -> Call:
    def call(world: HealthWorld) -> Awaitable[Any]:
        stream = world.health.WatchTemplateEvents(
            hp.WatchTemplateEventsRequest(cursor=cursor), metadata=world.a.auth("viewer")
        )
        return asyncio.wait_for(stream.read(), TIMEOUT)

    return call


LONG = "x" * 5000
MALFORMED: dict[str, Call] = {
    "critical-parent-garbage": _health(
        "ListCriticalTemplates", hp.ListCriticalTemplatesRequest(parent="wabas")
    ),
    "critical-parent-letters": _health(
        "ListCriticalTemplates", hp.ListCriticalTemplatesRequest(parent="wabas/abc")
    ),
    "critical-parent-template": _health(
        "ListCriticalTemplates", hp.ListCriticalTemplatesRequest(parent=resource("x"))
    ),
    "critical-parent-long": _health("ListCriticalTemplates", hp.ListCriticalTemplatesRequest(parent=LONG)),
    "critical-parent-unknown": _health(
        "ListCriticalTemplates", hp.ListCriticalTemplatesRequest(parent="wabas/123")
    ),
    "critical-page-size": _health("ListCriticalTemplates", hp.ListCriticalTemplatesRequest(page_size=-1)),
    "critical-token": _health("ListCriticalTemplates", hp.ListCriticalTemplatesRequest(page_token="abc.def")),
    "critical-token-unicode": _health(
        "ListCriticalTemplates", hp.ListCriticalTemplatesRequest(page_token="é\u0000.☃")
    ),
    "summary-parent": _health("GetQualitySummary", hp.GetQualitySummaryRequest(parent="wabas/")),
    "summary-parent-unknown": _health("GetQualitySummary", hp.GetQualitySummaryRequest(parent="wabas/42")),
    "history-empty-name": _health("ListTemplateHistory", hp.ListTemplateHistoryRequest()),
    "history-no-language": _health(
        "ListTemplateHistory", hp.ListTemplateHistoryRequest(name=f"wabas/{ACME_WABA}/templates/x")
    ),
    "history-unknown": _health("ListTemplateHistory", hp.ListTemplateHistoryRequest(name=resource("nope"))),
    "history-page-size": _health(
        "ListTemplateHistory", hp.ListTemplateHistoryRequest(name=resource("nope"), page_size=-5)
    ),
    "history-token": _health(
        "ListTemplateHistory", hp.ListTemplateHistoryRequest(name=resource("nope"), page_token="zz")
    ),
    "alerts-state-unspecified": _health(
        "ListAlerts", hp.ListAlertsRequest(states=[hp.ALERT_STATE_UNSPECIFIED])
    ),
    "alerts-state-unknown": _health("ListAlerts", hp.ListAlertsRequest(states=[hp.AlertState.ValueType(99)])),
    "alerts-severity-unspecified": _health(
        "ListAlerts", hp.ListAlertsRequest(severities=[hp.ALERT_SEVERITY_UNSPECIFIED])
    ),
    "alerts-severity-unknown": _health(
        "ListAlerts", hp.ListAlertsRequest(severities=[hp.AlertSeverity.ValueType(-3)])
    ),
    "alerts-template": _health("ListAlerts", hp.ListAlertsRequest(template="templates/x")),
    "alerts-template-unknown": _health("ListAlerts", hp.ListAlertsRequest(template=resource("nope"))),
    "alerts-page-size": _health("ListAlerts", hp.ListAlertsRequest(page_size=-1)),
    "alerts-token": _health("ListAlerts", hp.ListAlertsRequest(page_token="x.y")),
    "ack-empty": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest()),
    "ack-prefix-only": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest(name="alerts/")),
    "ack-nested": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest(name="alerts/a/b")),
    "ack-long": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest(name="alerts/" + LONG)),
    "ack-unicode": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest(name="alerts/é\u0000☃")),
    "ack-viewer": _health("AcknowledgeAlert", hp.AcknowledgeAlertRequest(name="alerts/x"), role="viewer"),
    "watch-letters": _watch("abc"),
    "watch-superscript": _watch("²"),
    "watch-huge": _watch("9" * 5000),
    "watch-negative": _watch("-5"),
    "watch-beyond-bigint": _watch("9" * 20),
    "inbox-state-unspecified": _inbox(
        "ListInboxChanges", hp.ListInboxChangesRequest(states=[hp.INBOX_CHANGE_STATE_UNSPECIFIED])
    ),
    "inbox-state-unknown": _inbox(
        "ListInboxChanges", hp.ListInboxChangesRequest(states=[hp.InboxChangeState.ValueType(77)])
    ),
    "inbox-page-size": _inbox("ListInboxChanges", hp.ListInboxChangesRequest(page_size=-1)),
    "inbox-token": _inbox("ListInboxChanges", hp.ListInboxChangesRequest(page_token="bad")),
    "replay-empty": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest()),
    "replay-prefix-only": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest(name="inboxChanges/")),
    "replay-wrong-collection": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest(name="changes/x")),
    "replay-nested": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest(name="inboxChanges/a/b")),
    "replay-unknown": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest(name="inboxChanges/nope")),
    "replay-long": _inbox("ReplayInboxChange", hp.ReplayInboxChangeRequest(name="inboxChanges/" + LONG)),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
async def test_malformed_requests_are_refused_with_a_client_error(world: HealthWorld, case: str) -> None:
    await world.apply(ACME_WABA, status("x", "PAUSED"))  # something to find, for the requests that could
    refused = await fails(MALFORMED[case](world))
    assert refused.code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), refused.message
    assert refused.code in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_a_live_stream_ends_cleanly_when_the_server_stops(world: HealthWorld) -> None:
    watch = await world.watch("0")
    await world.apply(ACME_WABA, status("mine", "PAUSED"))
    [event] = await watch.take(1)

    # A grace period far longer than the test: the stream must end on its own, not by being cut.
    stopping = asyncio.ensure_future(world.server.stop(30))
    ended = await asyncio.wait_for(watch.queue.get(), TIMEOUT)
    await asyncio.wait_for(stopping, TIMEOUT)

    assert ended is None  # the stream finished; an error would be the AioRpcError itself
    assert await watch.call.code() == grpc.StatusCode.OK
    assert event.to_value == "PAUSED"
