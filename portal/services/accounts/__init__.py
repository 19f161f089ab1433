"""People and organisations: sign-in with throttling, invitations, password resets,
the authenticator app and API keys."""
