"""Join codes: issued by a code campaign for its private group, redeemed atomically by members.

A code is 12 characters of an alphabet without look-alikes (no 0/O, 1/I/L, U), shown as
`XXXX-XXXX-XXXX`: about 59 bits, far beyond guessing under the rate limit. Case, spaces and
hyphens do not matter. Only a SHA-256 of the workspace and the normalized code is stored, so a
lookup is an index probe on a hash and reveals nothing by its timing; codes are shown once, when
issued. Redemption is one conditional UPDATE (`uses < max_uses`, not revoked, campaign active):
the database's row lock makes concurrent redemptions of a single-use or capped code exact.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Exists, Table, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from coterie import ids
from coterie.actor import Actor, Origin
from coterie.db import utcnow
from coterie.directory.models import User
from coterie.directory.service import require_write
from coterie.engagement import member_groups
from coterie.engagement.models import Campaign, JoinCode, JoinCodeUse
from coterie.engagement.schemas import JoinCodesIssue
from coterie.errors import Conflict, Invalid, NotFound
from coterie.events import service as audit
from coterie.groups import service as groups
from coterie.groups.models import Group

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 12
REFUSED = "That code is not valid. Check it and try again."
_CHUNK = 1_000


class CodeRefused(Invalid):
    """Wrong, expired, revoked or used up: one message for all, so nothing is revealed."""

    def __init__(self) -> None:
        super().__init__(REFUSED, field="code")


def generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(text: str) -> str | None:
    """The code as stored (upper case, no spaces or hyphens); None if it cannot be one."""
    code = "".join(text.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def code_hash(workspace_id: int, code: str) -> str:
    return hashlib.sha256(f"{workspace_id}:{code}".encode()).hexdigest()


def _campaign(session: Session, *, actor: Actor, campaign_id: int) -> Campaign:
    groups.require_read(actor)
    campaign = session.get(Campaign, (actor.workspace_id, campaign_id))
    if campaign is None:
        raise NotFound(f"No campaign with id {ids.encode(campaign_id)}")
    return campaign


def issue(
    session: Session, *, actor: Actor, campaign_id: int, data: JoinCodesIssue
) -> list[tuple[JoinCode, str]]:
    """A shared code (optionally capped) or `count` single-use codes, with their plain text."""
    require_write(actor)
    campaign = _campaign(session, actor=actor, campaign_id=campaign_id)
    if campaign.join_group_id is None:
        raise Invalid(
            f"{campaign.name} joins no group: set its join group to issue codes",
            field="join_group_id",
        )
    settings = member_groups.find(
        session, workspace_id=actor.workspace_id, group_id=campaign.join_group_id
    )
    if settings is None or settings.join_policy != "code":
        raise Invalid(
            "The campaign's join group must have the join policy 'code'", field="join_group_id"
        )
    if data.kind == "single" and data.max_uses not in (None, 1):
        raise Invalid("A single-use code is used once", field="max_uses")
    count = data.count if data.kind == "single" else 1
    now = utcnow()
    made: list[tuple[JoinCode, str]] = []
    for _ in range(count):
        plain = generate()
        row = JoinCode(
            workspace_id=actor.workspace_id,
            id=ids.new_id(),
            campaign_id=campaign.id,
            kind=data.kind,
            code_hash=code_hash(actor.workspace_id, plain),
            hint=plain[-4:],
            max_uses=1 if data.kind == "single" else data.max_uses,
            uses=0,
            created_by=actor.label[:200],
            created_at=now,
        )
        made.append((row, shown(plain)))
    rows = [{c.key: getattr(row, c.key) for c in JoinCode.__table__.columns} for row, _ in made]
    for start in range(0, len(rows), _CHUNK):
        session.execute(insert(JoinCode), rows[start : start + _CHUNK])
    audit.record(
        session,
        actor=actor,
        action="join_codes.issued",
        target_type="campaign",
        target_id=campaign.id,
        target_label=campaign.name,
        after={"kind": data.kind, "count": count, "max_uses": made[0][0].max_uses},
    )
    return made


def list_codes(session: Session, *, actor: Actor, campaign_id: int) -> Sequence[JoinCode]:
    campaign = _campaign(session, actor=actor, campaign_id=campaign_id)
    stmt = (
        select(JoinCode)
        .where(JoinCode.workspace_id == actor.workspace_id, JoinCode.campaign_id == campaign.id)
        .order_by(JoinCode.created_at, JoinCode.id)
    )
    return session.scalars(stmt).all()


def get(session: Session, *, actor: Actor, campaign_id: int, code_id: int) -> JoinCode:
    _campaign(session, actor=actor, campaign_id=campaign_id)
    code = session.get(JoinCode, (actor.workspace_id, code_id))
    if code is None or code.campaign_id != campaign_id:
        raise NotFound(f"No join code with id {ids.encode(code_id)}")
    return code


def uses(
    session: Session, *, actor: Actor, campaign_id: int, code_id: int
) -> list[tuple[int, str, datetime]]:
    """Who redeemed a code and when: (person id, name, time), oldest first."""
    code = get(session, actor=actor, campaign_id=campaign_id, code_id=code_id)
    stmt = (
        select(JoinCodeUse.user_id, User.full_name, JoinCodeUse.used_at)
        .join(
            User,
            (User.workspace_id == JoinCodeUse.workspace_id) & (User.id == JoinCodeUse.user_id),
        )
        .where(JoinCodeUse.workspace_id == actor.workspace_id, JoinCodeUse.code_id == code.id)
        .order_by(JoinCodeUse.used_at, JoinCodeUse.user_id)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


def revoke(session: Session, *, actor: Actor, campaign_id: int, code_id: int) -> JoinCode:
    require_write(actor)
    code = get(session, actor=actor, campaign_id=campaign_id, code_id=code_id)
    if code.revoked_at is None:
        code.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="join_code.revoked",
            target_type="campaign",
            target_id=code.campaign_id,
            target_label=f"code …{code.hint}",
            after={"code_id": ids.encode(code.id), "uses": code.uses},
        )
    session.flush()
    return code


def _campaign_active(now: datetime) -> Exists:
    c = Campaign.__table__.c
    j = JoinCode.__table__.c
    return exists().where(
        c.workspace_id == j.workspace_id,
        c.id == j.campaign_id,
        c.launched_at.is_not(None),
        c.ended_at.is_(None),
        or_(c.starts_at.is_(None), c.starts_at <= now),
        or_(c.ends_at.is_(None), c.ends_at > now),
    )


def redeem(
    session: Session, *, member: User, code: str, origin: Origin = Origin.API
) -> member_groups.Shown:
    """Join the code's group. Raises `CodeRefused` for any code that cannot be used now.

    The use is counted first, in one conditional UPDATE that takes the code's row lock; anything
    refused afterwards raises, and the caller's rollback gives the use back.
    """
    normalized = normalize(code)
    if normalized is None:
        raise CodeRefused
    now = utcnow()
    j = JoinCode.__table__.c
    counted = session.execute(
        update(cast(Table, JoinCode.__table__))
        .where(
            j.workspace_id == member.workspace_id,
            j.code_hash == code_hash(member.workspace_id, normalized),
            j.revoked_at.is_(None),
            or_(j.max_uses.is_(None), j.uses < j.max_uses),
            _campaign_active(now),
        )
        .values(uses=j.uses + 1)
        .returning(j.id, j.campaign_id)
    ).first()
    if counted is None:
        raise CodeRefused
    code_id, campaign_id = counted
    campaign = session.get(Campaign, (member.workspace_id, campaign_id))
    group_id = campaign.join_group_id if campaign is not None else None
    group = None if group_id is None else session.get(Group, (member.workspace_id, group_id))
    settings = (
        None
        if group is None
        else member_groups.find(session, workspace_id=member.workspace_id, group_id=group.id)
    )
    if group is None or settings is None or settings.join_policy != "code":
        raise CodeRefused
    if not member_groups.is_open_now(group, settings, now):
        raise CodeRefused
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    used = session.scalar(
        module.insert(JoinCodeUse)
        .values(workspace_id=member.workspace_id, code_id=code_id, user_id=member.id, used_at=now)
        .on_conflict_do_nothing()
        .returning(JoinCodeUse.user_id)
    )
    if used is None:
        raise Conflict(f"You are already in {group.name}", field="code")
    added, _ = groups.add_members(
        session,
        actor=member_groups.member_actor(member, origin),
        group_id=group.id,
        user_ids=[member.id],
        source="code",
    )
    if not added:
        raise Conflict(f"You are already in {group.name}", field="code")
    return member_groups.Shown(group, settings, True)
