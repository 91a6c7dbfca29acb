"""A campaign audience from a CSV file, as people export them: the first column holds the contact
(a phone number in any usual spelling, or a user id); a header row (a first cell without digits)
and blank lines are skipped."""

from __future__ import annotations

import csv
from pathlib import Path

from app.send_guard import contact_key

# Contacts per AddCampaignAudience: what one API call takes.
AUDIENCE_PAGE = 1000


def read_contacts_csv(path: Path) -> list[str]:
    contacts: list[str] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for number, row in enumerate(csv.reader(handle)):
            cell = row[0].strip() if row else ""
            if not cell:
                continue
            key = contact_key(cell)
            if (number == 0 and not key.isdigit() and " " in cell.strip()) or cell.lower() in _HEADERS:
                continue
            contacts.append(key)
    return contacts


_HEADERS = frozenset({"phone", "phone_number", "number", "wa_id", "contact", "msisdn", "user_id", "to"})
