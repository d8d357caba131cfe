"""The member app (member groups, join codes, member tokens) and campaigns aimed at groups.

Importing the domain registers its campaigns with the groups service, which then refuses to
delete a group a campaign names (groups cannot import this domain: it sits above them).
"""

from coterie.engagement import campaigns as _campaigns
from coterie.groups import service as _groups

_groups.register_references(_campaigns.referencing)
