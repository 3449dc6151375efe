"""`attempt`: the one way a view runs a service call for a submitted form.

Every POST handler does the same after validating its form: call one service;
if a business rule refuses (`Refused`), roll back and tell the user why, next
to the field the refusal names; otherwise commit, say what happened and
redirect (Post/Redirect/Get). `attempt` does exactly that, so a view reads

    form = ReasonForm()
    if form.validate_on_submit():
        done = attempt(form, lambda: services.cancel_call(call, reason=form.reason.data, by=current_user),
                       success=_("Der Aufruf ist aufgehoben."), redirect_to=url_for("calls_admin.show", call_id=call.id))
        if done:
            return done
    return render_template("calls/admin/cancel.html", form=form, call=call), 422

and renders the form again itself, with the status that page uses for a refused
POST (422 mostly; 409 where the state of the thing changed under the user).
Steps that belong after the commit (a new session, a message of another
category) follow `attempt` with `success=None`, before returning its redirect.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash, redirect
from werkzeug.wrappers import Response

from portal.core.errors import Refused, show_refusal
from portal.extensions import db

T = TypeVar("T")


def commit_once(work: Callable[[], T]) -> T:
    """Run `work` and commit the request's transaction (the default of `attempt`)."""
    result = work()
    db.session.commit()
    return result


def attempt(
    form: Any | None,
    action: Callable[[], T],
    *,
    success: str | None,
    redirect_to: str | Callable[[T], str],
    code: int = 303,
    commit: Callable[[Callable[[], T]], T] = commit_once,
    reraise: tuple[type[Refused], ...] = (),
) -> Response | None:
    """Run `action` (one service call) as the request's unit of work.

    Success: the transaction is committed (with the service's audit event),
    `success` is flashed (None: nothing) and the redirect to `redirect_to` is
    returned with status `code` (303 See Other; a few older pages answer 302).
    `redirect_to` may be a function of what `action` returned, for targets
    that exist only afterwards (the new call's page, the receipt).

    Refusal (`Refused`, including `NotPermitted`): the transaction is rolled
    back, so nothing the service wrote stays, its audit event included. The
    message goes next to the field it names on `form` (see `show_refusal`;
    `form` None: flashed as an error) and None is returned: the caller renders
    the form again, which still holds everything the user typed, or redirects.

    `commit` runs `action` and commits; `portal.bids.transactions.commit_with_retry`
    retries where the database asks to (then `action` must load what it
    changes by id). `reraise` names refusals that are not shown here but
    answered by an error handler (e.g. one that keeps an audit record).
    """
    try:
        result = commit(action)
    except reraise:
        raise
    except Refused as refusal:
        db.session.rollback()
        if form is None:
            flash(str(refusal.message), "error")
        else:
            show_refusal(form, refusal)
        return None
    if success is not None:
        flash(success, "success")
    target = redirect_to(result) if callable(redirect_to) else redirect_to
    return redirect(target, code=code)
