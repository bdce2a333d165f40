"""Writes to the jurisdiction tree: loading divisions, generating demo grids, importing real grids."""
