"""Blueprints, one per audience: auth, school, supplier, api."""
