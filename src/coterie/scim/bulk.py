"""`POST /scim/v2/Bulk`: not supported, as ServiceProviderConfig says (`bulk.supported` false).

Answered 501 with a SCIM error (RFC 7644 §3.12) rather than 404, so a client learns that the
endpoint exists and the operation is not implemented; send each operation on its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from scim2_models import NotImplementedException

from coterie.scim.protocol import ActorDep

router = APIRouter()


@router.post("/Bulk")
async def bulk(_actor: ActorDep) -> Response:
    raise NotImplementedException(
        detail="Bulk is not supported (see ServiceProviderConfig); send each operation alone"
    )
