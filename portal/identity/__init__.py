"""Who is calling: authentication, kept apart from what they may do.

- staff_sessions: staff sign-in sessions (Flask-Login), their idle and absolute
  limits, the authenticator-app gate, and the membership a person acts under.
- supplier_grants: a supplier's access to one request, granted by opening its link.
- api_callers: Bearer credentials for the JSON API (organisation API keys and
  supplier link tokens).

Each raises a named error (an HTTP exception, or ApiUnauthorised) that the
blueprints and portal/errors.py turn into a response. What a caller may do is
decided in portal/permissions.py, which builds on this package; nothing here
imports it. A new way to sign in (single sign-on, say) is a module here.
"""
