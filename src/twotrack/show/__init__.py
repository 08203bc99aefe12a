"""Faces of twotrack: the HTML report and the web explorer (read-only over a workspace)."""
