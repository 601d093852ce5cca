"""Outside identities linked to households: a Telegram chat, a Home Assistant satellite.

The channel's own id (the Telegram chat id, the satellite's device id) is the key; `dash link`
creates a link, and the action server reads it to know which household is talking.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.errors import InvalidInput, NotFound
from shop.households import get_household
from shop.models import ChannelLink

CHANNELS = ("telegram", "assist")


def link(
    session: Session, channel: str, external_id: str, household_id: int, member: str | None = None
) -> ChannelLink:
    """Link (or re-link) ``external_id`` on ``channel`` to a household."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    external_id = str(external_id).strip()
    if not external_id or len(external_id) > 128:
        raise InvalidInput("give the channel's id for the chat or device (1-128 characters)")
    get_household(session, household_id)
    row = session.execute(
        select(ChannelLink).where(
            ChannelLink.channel == channel, ChannelLink.external_id == external_id
        )
    ).scalar_one_or_none() or ChannelLink(channel=channel, external_id=external_id)
    row.household_id = household_id
    row.member = member
    session.add(row)
    session.flush()
    return row


def unlink(session: Session, channel: str, external_id: str) -> None:
    row = linked(session, channel, external_id)
    if row is None:
        raise NotFound(f"{channel} {external_id} is not linked")
    session.delete(row)


def linked(session: Session, channel: str, external_id: str) -> ChannelLink | None:
    return session.execute(
        select(ChannelLink).where(
            ChannelLink.channel == channel, ChannelLink.external_id == str(external_id)
        )
    ).scalar_one_or_none()


def list_links(session: Session) -> list[ChannelLink]:
    return list(
        session.execute(
            select(ChannelLink).order_by(ChannelLink.channel, ChannelLink.external_id)
        ).scalars()
    )
