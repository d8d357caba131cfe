"""User groups: chosen by hand or by rules, static snapshots or live dynamic membership."""
