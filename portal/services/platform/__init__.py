"""Plumbing every capability uses: the audit trail, the mail outbox, file storage and
file types, link tokens, text matching, and the questionnaire files on disk."""
