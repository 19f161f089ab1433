"""Use cases. Each takes a session and explicit arguments, flushes, never commits.

Grouped by capability; a lower group never imports a higher one (import-linter's
layers contract in pyproject.toml checks it):

- jobs/          scheduled work the CLI starts: reminders, retention, backups
- downloads/     what each download shows, for the builders in portal/exports/
- school/        a school's own records: standards, RACI, DPIAs, supplier register
- directory/     the curated directory: curation, search, adoption
- review/        decisions on submitted requests, side by side, dashboard, timeline
- requests/      a request's life: links, the supplier's answers, evidence, reuse
- requirements/  the school's requirement profiles and the rating they give
- accounts/      users and organisations, sign-in, passwords, authenticator app, API keys
- platform/      audit trail, mail outbox, file storage, tokens, questionnaire files
- errors.py      ServiceError, the one error a use case raises for the user to read
"""
