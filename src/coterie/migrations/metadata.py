"""Every table of every domain on one MetaData, for Alembic and the drift check."""

from __future__ import annotations

from sqlalchemy import MetaData

from coterie.access import models as access_models
from coterie.access import provisioning as access_provisioning
from coterie.access import scim as access_scim
from coterie.access.operators import models as operators_models
from coterie.db import Base
from coterie.directory import models as directory_models
from coterie.engagement import models as engagement_models
from coterie.events import models as events_models
from coterie.groups import models as groups_models
from coterie.transfer import models as transfer_models
from coterie.workspaces import models as workspaces_models

DOMAIN_MODELS = (
    workspaces_models,
    events_models,
    directory_models,
    groups_models,
    access_models,
    access_scim,
    access_provisioning,
    operators_models,
    transfer_models,
    engagement_models,
)


def target_metadata() -> MetaData:
    return Base.metadata
