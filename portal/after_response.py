"""Work that waits until the response has gone: email delivery, and work
whose cost must not show in how long the reply took.

"Forgot password" must take the same work whether or not the address has an
account, or the time of the reply tells an attacker which addresses are
registered (issue 20, finding 5). So its view does the same thing either way:
it asks for the reset to be done after the response, and answers. Werkzeug
(and gunicorn, waitress, the test client) call a response's close hooks once
the body has been sent; then each piece of work runs in a transaction of its
own, and the email it and the request queued go out with no transaction open
(services/mail.deliver), so a slow mail server holds neither the reply nor a
database lock. An email that does not go stays in the outbox for
``flask send-emails``. With EMAIL_DELIVERY = "worker" (several app servers,
each running ``send-emails --watch``) the request leaves its email to the
worker; either way a sender claims an email first, so it goes once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, g
from sqlalchemy.orm import Session

from .database import begin_write
from .extensions import db

log = logging.getLogger(__name__)

Work = Callable[[Session], object]


def after_response(work: Work) -> None:
    """Run ``work(session)`` once this request's response has been sent, in a
    write transaction of its own, committed when it returns. Dropped, like the
    request's own changes, when the request fails."""
    g.setdefault("after_response", []).append(work)


def schedule(response: Response) -> None:
    """After the request's commit: hand its deferred work and the email it
    queued to the response's close hook."""
    from .services.platform.mail import take_queued

    work: list[Work] = g.pop("after_response", [])
    session: Session | None = g.get("_db_session")
    emails = take_queued(session) if session is not None else []
    if current_app.config["EMAIL_DELIVERY"] == "worker":
        emails = []  # the outbox worker sends them
    if work or emails:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        response.call_on_close(lambda: run(app, work, emails))


def discard() -> None:
    """The request failed: what it deferred goes with its rolled-back changes."""
    from .services.platform.mail import take_queued

    g.pop("after_response", None)
    session: Session | None = g.get("_db_session")
    if session is not None:
        take_queued(session)


def run(app: Flask, work: list[Work], emails: list[int]) -> None:
    """Do the deferred work, then deliver every email queued, outside any request."""
    from .services.platform.mail import deliver, take_queued

    by_request = app.config["EMAIL_DELIVERY"] != "worker"
    # An app context, not a request: the services take what they need of the
    # installation from the session (services/platform/runtime.py).
    with app.app_context():
        session = db.new_session()
        try:
            for item in work:
                try:
                    begin_write(session)
                    item(session)
                    session.commit()
                    queued = take_queued(session)
                    emails = emails + queued if by_request else emails
                except Exception:  # one failed piece must not stop the others or the email
                    session.rollback()
                    take_queued(session)  # rolled back with the work
                    log.exception("Work deferred after the response failed")
            deliver(session, emails)
        except Exception:  # an email left unsent stays in the outbox for send-emails
            log.exception("Delivering emails %s after the response failed", emails)
        finally:
            session.close()
