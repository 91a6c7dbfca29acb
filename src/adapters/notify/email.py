"""Email over SMTP (aiosmtplib): STARTTLS, TLS or plain, with the notification's id as the
Message-ID, so a receiving system can drop the rare repeat."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from adapters.notify.texts import html_body, plain_text
from app.notification_ports import DeliveryFailed
from app.settings import Settings
from domain.notifications import Channel, Notification


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, channel: Channel, notification: Notification) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise DeliveryFailed("email is not configured: set WATEMPLATES_SMTP_HOST", permanent=True)
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = ", ".join(channel.targets)
        message["Subject"] = notification.content.subject
        # The same on every attempt: a receiving system can drop a repeat by it.
        message["Message-ID"] = f"<{notification.id}@watemplates>"
        message.set_content(plain_text(notification))
        message.add_alternative(html_body(notification), subtype="html")
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username or None,
                password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(
                f"the SMTP server refused every recipient ({len(exc.recipients)})", permanent=True
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx: the server will not take it; 4xx: it may later.
            raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}", permanent=500 <= exc.code < 600) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP server unreachable or failing: {type(exc).__name__}") from None
