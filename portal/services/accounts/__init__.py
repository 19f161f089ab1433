"""People and organisations: users (organisations, accounts, invitations,
password resets), sign_in (passwords with throttling, then the second
factor), passwords, mfa (the authenticator app) and api_keys."""
