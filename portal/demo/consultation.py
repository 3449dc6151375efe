"""Demo: the KIM concept consultation of 2022 (evaluated, with report) and one open consultation.

The KIM consultation is replayed at its real dates (June 2022) through the
same services the pages use, so its comments, responses and audit entries
carry the historic times; the clock is put back afterwards. The second
consultation is open for comments from today for four weeks.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from portal.consultation import services
from portal.consultation.models import HideReason, ResponseState
from portal.core import time as portal_time
from portal.core.time import from_berlin
from portal.demo import DemoContext
from portal.extensions import db

COUNCIL_GROUP = "Fraktion Bündnis 90/Die Grünen im Kreistag"


def _markdown(sections: list[dict]) -> str:
    return "\n\n".join(f"# {s['number']} {s['title']}\n\n{s['text']}" for s in sections) + "\n"


def _at(clock: portal_time.FrozenClock, local: str) -> None:
    clock.set(from_berlin(datetime.fromisoformat(local)))


def load(ctx: DemoContext) -> None:
    with current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"]):
        _load_kim(ctx)
        _load_open(ctx)


def _load_kim(ctx: DemoContext) -> None:
    data = ctx.kim["consultation"]
    officer, caritas, diakonie = ctx.objects["officer"], ctx.objects["caritas"], ctx.objects["diakonie"]
    clara, dirk, kai = ctx.objects["caritas_member"], ctx.objects["diakonie_member"], ctx.objects["observer"]
    source = _markdown(data["sections"])
    previous = portal_time._clock
    clock = portal_time.FrozenClock(from_berlin(datetime.fromisoformat("2022-06-08T10:00")))
    portal_time.install_clock(clock)
    try:
        kim = services.create_consultation(
            by=officer, title=data["title"], source=source,
            summary="Der Kreis legt den Entwurf des Konzepts für das Kommunale Integrationsmanagement (KIM) "
                    "den freien Trägern und den Fraktionen des Kreistags zur Stellungnahme vor.",
            opens_at=from_berlin(datetime.fromisoformat(data["period"]["opens"])),
            closes_at=from_berlin(datetime.fromisoformat(data["period"]["closes"])),
            allow_organisations=True, allow_council_groups=True, allow_public=False,
        )
        services.open_consultation(kim, by=officer)
        _at(clock, "2022-06-14T10:15")
        c1 = services.post_comment(kim, by=clara, organisation=caritas, section_number="3",
                                   body="Die Case Manager sollten bei Trägern angesiedelt sein, die die Menschen aus der "
                                        "Migrationsberatung bereits kennen. Bitte nennen Sie die Auswahlkriterien vorab.")
        _at(clock, "2022-06-15T16:40")
        c2 = services.post_comment(kim, by=dirk, organisation=diakonie, section_number="1",
                                   body="Die Beteiligung der Zielgruppe sollte konkret beschrieben werden, z. B. durch "
                                        "einen Beirat mit Vertreterinnen und Vertretern der Migrantenorganisationen.")
        _at(clock, "2022-06-16T09:05")
        c3 = services.post_comment(kim, by=dirk, organisation=diakonie, parent=c1,
                                   body="Wir unterstützen die Stellungnahme der Caritas.")
        _at(clock, "2022-06-20T18:30")
        c4 = services.post_comment(kim, by=kai, council_group=COUNCIL_GROUP, section_number="5",
                                   body="Die Fraktionen sollten nicht nur informiert, sondern vor der Vergabe beteiligt werden. "
                                        "Wir bitten um einen halbjährlichen Bericht im Sozialausschuss.")
        _at(clock, "2022-06-21T11:00")
        c5 = services.post_comment(kim, by=kai, council_group=COUNCIL_GROUP, section_number="2",
                                   body="Vier Planstellen im Overhead erscheinen im Verhältnis zu sechs Case Managern viel.")
        _at(clock, "2022-06-22T08:10")
        c6 = services.post_comment(kim, by=clara, organisation=caritas, section_number=None,
                                   body="Wir begrüßen, dass der Kreis die freien Träger vor der Ausschreibung anhört.")
        _at(clock, "2022-06-23T13:00")
        withdrawn = services.post_comment(kim, by=clara, organisation=caritas, section_number="4",
                                          body="Frage zur Stelle bei der Stadt Siegen (hat sich erledigt).")
        _at(clock, "2022-06-24T09:00")
        services.withdraw_comment(withdrawn, by=clara)
        _at(clock, "2022-06-27T21:15")
        hidden = services.post_comment(kim, by=dirk, organisation=diakonie, section_number="4",
                                       body="Angaben zu einer namentlich genannten Mitarbeiterin der Ausländerbehörde …")
        _at(clock, "2022-06-28T08:30")
        services.hide_comment(hidden, by=officer, reason=HideReason.PERSONAL_DATA,
                              note="Die Stellungnahme nennt eine Beschäftigte mit Namen und Einzelheiten.")
        _at(clock, "2022-07-01T09:00")
        services.close_consultation(kim, by=officer)
        revised = source.replace(
            "Die Zielgruppe wird an der Ausgestaltung beteiligt.",
            "Die Zielgruppe wird über einen Beirat mit Migrantenorganisationen an der Ausgestaltung beteiligt.",
        ).replace(
            "werden regelmäßig über den Sachstand informiert.",
            "werden vor der Vergabe beteiligt und halbjährlich im Sozialausschuss über den Sachstand informiert.",
        )
        _at(clock, "2022-07-05T10:00")
        services.publish_version(kim, by=officer, source=revised,
                                 note="Abschnitte 1 und 5 nach den Stellungnahmen überarbeitet.")
        services.save_response(c2, by=officer, state=ResponseState.ADOPTED, changed_section="1",
                               reason="Ein Beirat mit Migrantenorganisationen wird eingerichtet; Abschnitt 1 ist ergänzt.")
        services.save_response(c4, by=officer, state=ResponseState.PARTLY_ADOPTED, changed_section="5",
                               reason="Der Sozialausschuss erhält einen halbjährlichen Bericht. Eine Beteiligung an "
                                      "der Auswahlentscheidung selbst ist vergaberechtlich nicht vorgesehen.")
        services.save_response(c5, by=officer, state=ResponseState.NOT_ADOPTED,
                               reason="Die vier Stellen sind durch die Förderrichtlinie KIM des Landes vorgegeben.")
        services.save_response(c1, by=officer, state=ResponseState.NOTED,
                               reason="Die Auswahlkriterien werden mit dem Aufruf vor der Bewerbungsfrist veröffentlicht.")
        services.save_response(c3, by=officer, state=ResponseState.NOTED, reason="Siehe Antwort zu Stellungnahme "
                               f"Nr. {c1.id}.")
        services.save_response(c6, by=officer, state=ResponseState.NOTED, reason="Vielen Dank.")
        _at(clock, "2022-07-08T12:00")
        services.publish_evaluation(kim, by=officer)
        _at(clock, "2022-07-12T09:00")
        services.publish_report(kim, by=officer)
        db.session.flush()
    finally:
        portal_time.install_clock(previous)
    ctx.objects["kim_consultation"] = kim
    ctx.say(f"KIM-Beteiligung (2022) mit {len(kim.comments)} Stellungnahmen, Abwägung und Bericht angelegt.")


def _load_open(ctx: DemoContext) -> None:
    officer, caritas, clara = ctx.objects["officer"], ctx.objects["caritas"], ctx.objects["caritas_member"]
    start = portal_time.now() - timedelta(days=2)
    source = (
        "# 1 Ausgangslage\n\nDie Migrationsberatung ist im Kreisgebiet an sieben Orten erreichbar.\n\n"
        "# 2 Offene Sprechstunden\n\nIn jeder Kommune soll es mindestens eine wöchentliche offene Sprechstunde geben.\n\n"
        "## 2.1 Digitale Beratung\n\nErgänzend wird eine Videoberatung angeboten.\n\n"
        "# 3 Dolmetschpool\n\nDer Kreis richtet einen Pool von Sprachmittlerinnen und Sprachmittlern ein.\n"
    )
    consultation = services.create_consultation(
        by=officer, title="Konzeptentwurf Beratungsstandorte und Sprachmittlung 2026",
        summary="Wo und wie soll die Beratung für eingewanderte Menschen künftig erreichbar sein?",
        source=source, opens_at=start, closes_at=start + timedelta(days=30),
        allow_organisations=True, allow_council_groups=True, allow_public=True,
    )
    services.open_consultation(consultation, by=officer)
    services.post_comment(consultation, by=clara, organisation=caritas, section_number="2.1",
                          body="Videoberatung braucht verlässliche Dolmetschung; bitte Abschnitt 3 darauf abstimmen.")
    ctx.say("Offene Beteiligung zu Beratungsstandorten angelegt.")
