"""`attempt`: commit and redirect on success; on a refusal roll back everything and keep the form.

The test pages below call a real service (`update_preferences`, which changes
the user and writes an audit event) through `attempt`, as the portal's views do.
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, get_flashed_messages, redirect, render_template_string, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField

from portal.accounts import services
from portal.accounts.models import User
from portal.audit.actions import AuditAction
from portal.audit.models import AuditEvent
from portal.core.actions import attempt
from portal.core.errors import Refused, show_refusal
from portal.extensions import db
from tests.conftest import login
from tests.factories import make_user

PAGE = """{% for m in get_flashed_messages(with_categories=true) %}<p class="flash-{{ m[0] }}">{{ m[1] }}</p>{% endfor %}
<form method="post">{% for e in form.form_errors %}<p class="form-error">{{ e }}</p>{% endfor %}
<input name="locale" value="{{ form.locale.data or '' }}">{% for e in form.locale.errors %}<p id="locale-error">{{ e }}</p>{% endfor %}
<textarea name="note">{{ form.note.data or '' }}</textarea></form>"""


class PreferencesForm(FlaskForm):
    locale = StringField()
    note = TextAreaField()


def _change_twice(form: PreferencesForm) -> User:
    """Write first (user row and audit event), then let the service refuse an unknown language."""
    user = db.session.get(User, current_user.id)
    services.update_preferences(user, locale="en", notify_by_email=False)
    services.update_preferences(user, locale=form.locale.data or "", notify_by_email=False)
    return user


@pytest.fixture
def pages(app: Flask) -> Flask:
    @login_required
    def form_page() -> Any:
        form = PreferencesForm()
        if form.validate_on_submit():
            done = attempt(form, lambda: _change_twice(form), success="Gespeichert.",
                           redirect_to=lambda user: url_for("result", user_id=user.id))
            if done:
                return done
        db.session.commit()  # as pages do that record what was read: a refusal must have left nothing to commit
        return render_template_string(PAGE, form=form), 422

    @login_required
    def button() -> Any:
        target = url_for("result", user_id=current_user.id)
        form = PreferencesForm()
        form.validate_on_submit()
        done = attempt(None, lambda: _change_twice(form), success="Gespeichert.", redirect_to=target)
        db.session.commit()
        return done or redirect(target, code=303)

    def result(user_id: int) -> str:
        return render_template_string(PAGE, form=PreferencesForm(formdata=None))

    app.add_url_rule("/test/attempt", view_func=form_page, methods=["POST"])
    app.add_url_rule("/test/attempt-button", view_func=button, methods=["POST"])
    app.add_url_rule("/test/result/<int:user_id>", endpoint="result", view_func=result)
    return app


def _audit_count(user: User) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AuditAction.USER_PREFERENCES_CHANGED, AuditEvent.subject_id == str(user.id))) or 0


def test_success_commits_the_change_and_its_audit_events_and_redirects_with_303(pages: Flask, client: Any) -> None:
    user = make_user(name="Ada Antrag", locale="de", notify_by_email=True)
    login(client, user)
    response = client.post("/test/attempt", data={"locale": "de", "note": "egal"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/test/result/{user.id}")
    assert (user.locale, user.notify_by_email) == ("de", False)
    assert _audit_count(user) == 2
    page = client.get(response.headers["Location"]).text
    assert '<p class="flash-success">Gespeichert.</p>' in page


def test_a_refusal_rolls_back_everything_and_keeps_the_form_with_the_message_at_its_field(pages: Flask, client: Any) -> None:
    user = make_user(name="Ada Antrag", locale="de", notify_by_email=True)
    login(client, user)
    note = "Ein langer Text, den niemand zweimal tippen möchte.\nZweite Zeile: <b>&</b>"
    response = client.post("/test/attempt", data={"locale": "xx", "note": note})
    assert response.status_code == 422
    assert '<p id="locale-error">Diese Sprache wird nicht angeboten.</p>' in response.text
    assert 'name="locale" value="xx"' in response.text
    assert "Ein langer Text, den niemand zweimal tippen möchte.\nZweite Zeile: &lt;b&gt;&amp;&lt;/b&gt;" in response.text
    assert "flash-success" not in response.text
    # The first, successful write of the same action is gone as well: nothing written, no audit event.
    assert (user.locale, user.notify_by_email) == ("de", True)
    assert _audit_count(user) == 0


def test_without_a_form_the_refusal_is_flashed_as_an_error_and_nothing_is_written(pages: Flask, client: Any) -> None:
    user = make_user(name="Ada Antrag", locale="de", notify_by_email=True)
    login(client, user)
    response = client.post("/test/attempt-button", data={"locale": "xx"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert '<p class="flash-error">Diese Sprache wird nicht angeboten.</p>' in page
    assert "flash-success" not in page
    assert (user.locale, _audit_count(user)) == ("de", 0)

    response = client.post("/test/attempt-button", data={"locale": "en"})
    assert response.status_code == 303
    assert '<p class="flash-success">Gespeichert.</p>' in client.get(response.headers["Location"]).text
    assert (user.locale, _audit_count(user)) == ("en", 2)


def test_a_refusal_named_in_reraise_is_left_to_the_caller_and_nothing_is_committed(app: Flask) -> None:
    class Frozen(Refused):
        pass

    user = make_user(name="Ada Antrag", locale="de")
    db.session.commit()

    def change_then_freeze() -> None:
        services.update_preferences(db.session.get(User, user.id), locale="en", notify_by_email=False)
        raise Frozen("Festgeschrieben.")

    with app.test_request_context("/", method="POST"):
        with pytest.raises(Frozen):
            attempt(PreferencesForm(), change_then_freeze, success="Gespeichert.", redirect_to="/", reraise=(Frozen,))
        assert get_flashed_messages() == []
        db.session.rollback()  # what the request's teardown does
    db.session.expire_all()
    assert (user.locale, _audit_count(user)) == ("de", 0)


def test_show_refusal_puts_every_problem_next_to_its_own_field(app: Flask) -> None:
    class Several(Refused):
        def __init__(self, problems: dict[str, str]) -> None:
            super().__init__(next(iter(problems.values())), field=next(iter(problems)))
            self.problems = problems

    with app.test_request_context("/", method="POST", data={"locale": "xx", "note": "Text"}):
        form = PreferencesForm()
        form.validate()
        show_refusal(form, Several({"locale": "Sprache fehlt.", "note": "Zu kurz.", "nothing": "Allgemein."}))
        assert (form.locale.errors, form.note.errors, form.form_errors) == (["Sprache fehlt."], ["Zu kurz."], ["Allgemein."])
        assert (form.locale.data, form.note.data) == ("xx", "Text")
