"""Bringing people in from CSV and spreadsheets (into a new group), and taking them out as CSV."""
