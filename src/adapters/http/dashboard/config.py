"""What the dashboard is given by the composition root: the app's queries and commands."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from app.campaign_queries import CampaignQueries
from app.dashboard_sessions import DashboardSessions
from app.inbox_queries import InboxQueries
from app.message_queries import MessageQueries
from app.messagebus import MessageBus
from app.ports import Clock
from app.quality_trends import QualityTrends
from app.template_health_queries import TemplateHealthQueries

# How often a live page's event stream looks for new events, and how often it says it is alive
# (proxies close connections that stay silent).
LIVE_POLL_SECONDS = 0.5
LIVE_KEEPALIVE_SECONDS = 15.0


@dataclass(frozen=True)
class DashboardConfig:
    bus: MessageBus
    sessions: DashboardSessions
    health: TemplateHealthQueries
    trends: QualityTrends
    inbox: InboxQueries
    campaigns: CampaignQueries
    messages: MessageQueries
    clock: Clock
    # Cookies with the Secure flag (HTTPS in front); off for http://localhost.
    secure_cookies: bool = False
    live_poll_seconds: float = LIVE_POLL_SECONDS


DASHBOARD = web.AppKey("dashboard", DashboardConfig)
