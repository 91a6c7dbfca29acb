"""People acting on alerts (the alerts themselves open and resolve in handlers.template_events)."""

from __future__ import annotations

from app.commands import AcknowledgeAlert
from app.errors import NotFound
from app.ports import Clock, UnitOfWorkFactory
from app.resource_names import alert_name
from domain.alerts import Alert
from domain.tenancy import Role


async def acknowledge_alert(command: AcknowledgeAlert, uow_factory: UnitOfWorkFactory, clock: Clock) -> Alert:
    command.principal.require(Role.OPERATOR)
    async with uow_factory() as uow:
        alert = await uow.alerts.get(command.principal.org_id, command.alert_id)
        if alert is None:
            raise NotFound("alert", alert_name(command.alert_id))
        if alert.acknowledge(command.principal.label, clock.now()):
            await uow.alerts.save(alert)
            await uow.commit()
    return alert
