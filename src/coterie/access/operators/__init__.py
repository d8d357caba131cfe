"""Operators of the dashboard: their group scope, capability flags, passwords and agent duties."""
