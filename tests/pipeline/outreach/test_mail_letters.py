"""Letters read as letters, go once to each mailing address, are marked as mailed only once
the agent confirms (and only once however often the confirmation is sent), and a template
written for after a conversation never reaches a homeowner nobody has talked to."""

import html
import importlib
import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from leads.models import Lead
from pipeline.models import (
    MailBatch,
    MessageTemplate,
    Outcome,
    OutreachAttempt,
    TemplateKind,
    TemplateSituation,
)
from pipeline.outreach import merge
from pipeline.outreach.email import email_merge
from pipeline.outreach.letters import (
    CONFIRMATION_SALT,
    CONFIRMATION_UNREADABLE,
    letter_body,
    mail_merge,
    mailing_confirm,
    print_run,
)
from pipeline.outreach.merge import ALREADY_REACHED, NEVER_REACHED, owner_names
from pipeline.outreach.services import outreach_log

from ...leads.factories import ContactFactory, EmailFactory, LeadFactory
from ..factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db

BODY = "About your home at [Property Address], [First Name]."


def a_letter(agent, body=BODY, situation=TemplateSituation.ANY, name="Options letter"):
    return MessageTemplateFactory(name=name, kind=TemplateKind.LETTER, owner=agent, body=body, situation=situation)


def the_johnsons(agent, team, **second):
    """A lead owned by Robert and Maria Johnson, living together at the property."""
    lead = LeadFactory(assigned_agent=agent, team=team)
    ContactFactory(lead=lead, first_name="Robert", last_name="Johnson")
    ContactFactory(lead=lead, position=2, first_name="Maria", last_name="Johnson", **second)
    return lead


def mine(agent):
    return Lead.objects.filter(assigned_agent=agent)


def show(client, template, **filters):
    return client.get(reverse("pipeline:mail_print"), {"template": template.pk, **filters})


def confirm(client, shown):
    return client.post(reverse("pipeline:mail_print"), {"confirmation": shown.context["run"].confirmation})


def page_of(response) -> str:
    return html.unescape(response.content.decode())


# A letter reads as a letter -------------------------------------------------------------------


def test_a_letter_has_the_date_the_address_a_salutation_the_body_a_closing_and_a_signed_role(
        agent, team, brokerage, client_as):
    agent.phone, agent.license_number, agent.license_state = "+19185550177", "SA-1234", "OK"
    agent.save()
    lead = the_johnsons(agent, team)
    page = page_of(show(client_as(agent), a_letter(agent)))
    order = [
        timezone.localdate().strftime("%B %-d, %Y"),  # the date
        "Robert and Maria Johnson<br>",  # the inside address: both owners, then their address
        lead.property.street,
        "Dear Robert and Maria Johnson,",
        f"About your home at {lead.property.street_line}, Robert and Maria.",
        "Sincerely,",
        "Ana Torres",
        "Sunbelt Test Realty · License SA-1234 (OK)",
        "(918) 555-0177",
        "Ana Torres is a licensed real estate agent with Sunbelt Test Realty",  # the role, in writing
    ]
    positions = [page.index(part) for part in order]
    assert positions == sorted(positions)
    assert "Hi, this is" not in page  # the spoken disclosure is for calls


def test_the_letter_closes_with_the_closing_the_layout_names(agent, team, brokerage, client_as, monkeypatch):
    monkeypatch.setattr(merge, "LETTER_CLOSING", "Yours truly,")
    the_johnsons(agent, team)
    page = page_of(show(client_as(agent), a_letter(agent)))
    assert '<p class="closing">Yours truly,</p>' in page and "Sincerely," not in page


def test_a_template_that_greets_and_signs_itself_is_not_greeted_or_signed_twice():
    old_style = "Dear [First Name],\n\n[Role Disclosure] I'm writing about your home.\n\nSincerely,\n[Agent Name]\n[Brokerage]\n"
    assert letter_body(old_style) == "[Role Disclosure] I'm writing about your home."
    assert letter_body("Hi [First Name]:\nA line.\nBest regards,\n[Agent Name]") == "A line."
    # "Thank you for ..." in the text is a sentence, not a closing.
    assert letter_body("A line.\nThank you for reading.") == "A line.\nThank you for reading."


def test_the_role_disclosure_in_a_letters_text_is_not_said_twice(agent, team, brokerage):
    lead = LeadFactory(assigned_agent=agent, team=team)
    ContactFactory(lead=lead, first_name="Robert", last_name="Johnson")
    letter = a_letter(agent, body="Dear [First Name],\n\n[Role Disclosure] I'm writing about your home.\n\n"
                                  "Sincerely,\n[Agent Name]")
    [piece] = mail_merge(template=letter, leads=mine(agent), agent=agent).pieces
    assert piece.text == "I'm writing about your home."


@pytest.mark.parametrize(("names", "said"), [
    ([("Robert", "Johnson")], "Robert Johnson"),
    ([("Robert", "Johnson"), ("Maria", "Johnson")], "Robert and Maria Johnson"),
    ([("Robert", "Johnson"), ("Maria", "Johnson"), ("Ana", "Johnson")], "Robert, Maria and Ana Johnson"),
    ([("Robert", "Johnson"), ("Maria", "Lopez")], "Robert Johnson and Maria Lopez"),
    ([("Jamal", "Lopez"), ("Jamal", "Lopez")], "Jamal Lopez"),  # the same owner on the record twice
])
def test_the_owners_at_one_address_are_named_together(names, said):
    from leads.models import Contact

    assert owner_names([Contact(first_name=first, last_name=last) for first, last in names]) == said


# One letter per mailing address ---------------------------------------------------------------


def test_co_owners_at_one_address_get_one_letter_and_one_elsewhere_gets_their_own(agent, team, brokerage):
    lead = the_johnsons(agent, team)
    ContactFactory(lead=lead, position=3, first_name="Kevin", last_name="Johnson", mailing_street="9 Elm St",
                   mailing_city="Dallas", mailing_state="TX", mailing_zip="75201")
    merge = mail_merge(template=a_letter(agent), leads=mine(agent), agent=agent)
    assert [piece.names for piece in merge.pieces] == ["Robert and Maria Johnson", "Kevin Johnson"]
    assert [piece.salutation for piece in merge.pieces] == ["Dear Robert and Maria Johnson,", "Dear Kevin Johnson,"]


@pytest.mark.parametrize("why", [{"do_not_mail": True}, {"deceased": True}])
def test_a_co_owner_on_do_not_mail_or_deceased_is_left_off_the_names_and_the_letter_still_goes(
        why, agent, team, brokerage):
    the_johnsons(agent, team, **why)
    merge = mail_merge(template=a_letter(agent), leads=mine(agent), agent=agent)
    [piece] = merge.pieces
    assert piece.names == "Robert Johnson" and "Maria" not in piece.text
    assert merge.names_left_off_reasons == {"do not mail" if "do_not_mail" in why else "deceased": 1}
    assert merge.left_out == []


def test_when_nobody_at_an_address_may_be_mailed_the_letter_is_left_out_with_the_reasons(agent, team, brokerage):
    lead = the_johnsons(agent, team, deceased=True)
    lead.contacts.filter(first_name="Robert").update(do_not_mail=True)
    merge = mail_merge(template=a_letter(agent), leads=mine(agent), agent=agent)
    assert merge.pieces == [] and merge.reasons == {"deceased and do not mail": 1}


def test_the_address_on_the_internal_list_keeps_the_whole_letter_out(agent, team, brokerage):
    from compliance.services import internal_dnc_add

    lead = the_johnsons(agent, team)
    internal_dnc_add(channel="mail", postal_address=lead.contacts.first().mailing_address_key(),
                     homeowner_words="No more letters.", recorded_by=agent)
    merge = mail_merge(template=a_letter(agent), leads=mine(agent), agent=agent, gate=True)
    assert merge.pieces == []
    [(_lead, _owner, reason)] = merge.left_out
    assert reason == "refused by the compliance check (B1)"


# Printing asks first, logs once ---------------------------------------------------------------


def test_printing_asks_to_mark_the_letters_and_logs_exactly_that_many_once_confirmed(agent, team, brokerage,
                                                                                     client_as):
    the_johnsons(agent, team)
    the_johnsons(agent, team, do_not_mail=True)
    nobody = LeadFactory(assigned_agent=agent, team=team)
    ContactFactory(lead=nobody, first_name="Late", deceased=True)
    client = client_as(agent)
    letter = a_letter(agent)

    shown = show(client, letter)
    assert "Mark 2 letters as mailed?" in page_of(shown) and "Yes, mark 2 letters as mailed and print" in page_of(shown)
    assert not OutreachAttempt.objects.exists()  # showing them logs nothing

    printed = client.get(confirm(client, shown)["Location"])
    assert OutreachAttempt.objects.filter(channel="mail").count() == 2  # the number asked about
    assert "2 letters marked as mailed" in page_of(printed)
    assert page_of(printed).count('class="piece piece-letter"') == 2
    attempts = list(OutreachAttempt.objects.order_by("pk"))
    assert sorted(a.notes for a in attempts) == ["Mailed: Options letter",
                                                 "Mailed: Options letter\nTo: Robert and Maria Johnson"]
    assert all(a.contact.first_name == "Robert" and a.role_disclosed for a in attempts)


def test_the_same_confirmation_sent_again_logs_nothing_more(agent, team, brokerage, client_as):
    the_johnsons(agent, team)
    client = client_as(agent)
    shown = show(client, a_letter(agent))
    first = confirm(client, shown)
    again = confirm(client, shown)  # a reload of the POST, a double click
    assert first["Location"] == again["Location"]
    assert OutreachAttempt.objects.count() == 1 and MailBatch.objects.count() == 1
    # The printed page reloaded is a GET: it logs nothing either.
    client.get(first["Location"])
    client.get(first["Location"])
    assert OutreachAttempt.objects.count() == 1


def test_letters_already_marked_today_print_again_without_being_logged_or_counted(agent, team, brokerage,
                                                                                  client_as):
    the_johnsons(agent, team)
    client = client_as(agent)
    letter = a_letter(agent)
    confirm(client, show(client, letter))
    the_johnsons(agent, team)  # one more address since
    shown = show(client, letter)
    assert (shown.context["run"].to_log, shown.context["run"].reprints) == (1, 1)
    assert "Mark 1 letter as mailed?" in page_of(shown)
    printed = client.get(confirm(client, shown)["Location"])
    assert OutreachAttempt.objects.count() == 2
    assert "1 letter marked as mailed" in page_of(printed) and "1 already logged today" in page_of(printed)


def test_an_owner_marked_do_not_mail_after_the_letters_were_shown_is_left_off_when_confirmed(
        agent, team, brokerage, client_as):
    lead = the_johnsons(agent, team)
    client = client_as(agent)
    shown = show(client, a_letter(agent))
    lead.contacts.filter(first_name="Maria").update(do_not_mail=True)
    printed = client.get(confirm(client, shown)["Location"])
    assert OutreachAttempt.objects.get().notes == "Mailed: Options letter"
    assert "Dear Robert Johnson," in page_of(printed) and "Maria" not in page_of(printed)


def test_a_confirmation_of_another_agent_or_tampered_with_logs_nothing(agent, other_agent, team, brokerage,
                                                                       client_as):
    the_johnsons(agent, team)
    shown = show(client_as(agent), a_letter(agent))
    confirmation = shown.context["run"].confirmation
    for who, value in ((other_agent, confirmation), (agent, confirmation[:-2] + "xx")):
        response = client_as(who).post(reverse("pipeline:mail_print"), {"confirmation": value}, follow=True)
        assert CONFIRMATION_UNREADABLE in page_of(response)
    assert not OutreachAttempt.objects.exists() and not MailBatch.objects.exists()


def test_a_confirmation_naming_a_lead_the_agent_may_not_see_logs_nothing_for_it(agent, other_lead, brokerage):
    letter = a_letter(agent)
    forged = signing.dumps({"template": letter.pk, "agent": agent.pk, "token": uuid.uuid4().hex,
                            "date": timezone.localdate().isoformat(),
                            "letters": [[other_lead.pk, [other_lead.contacts.first().pk]]]}, salt=CONFIRMATION_SALT)
    batch = mailing_confirm(confirmation=forged, agent=agent)
    assert [row["status"] for row in batch.letters] == ["refused"] and not OutreachAttempt.objects.exists()


def test_the_printed_letters_are_their_agents_alone(agent, other_agent, team, brokerage, client_as):
    the_johnsons(agent, team)
    client = client_as(agent)
    printed = confirm(client, show(client, a_letter(agent)))["Location"]
    assert client_as(other_agent).get(printed).status_code == 404
    assert client_as(None).get(printed).status_code == 302


def test_printing_the_page_before_confirming_prints_no_letter(agent, team, brokerage, client_as):
    from pathlib import Path

    the_johnsons(agent, team)
    page = page_of(show(client_as(agent), a_letter(agent)))
    assert '<body class="print-letter unconfirmed">' in page
    css = (Path(__file__).resolve().parents[3] / "static" / "css" / "print.css").read_text()
    assert "body.unconfirmed .piece { display: none; }" in css


# Written for whom ----------------------------------------------------------------------------


def test_a_template_for_after_a_conversation_leaves_out_homeowners_never_reached(agent, team, lead, brokerage):
    reached = the_johnsons(agent, team)
    outreach_log(lead=reached, channel="door", contact_point=reached.property, outcome=Outcome.TALKED, actor=agent,
                 role_disclosed=True)
    follow_up = a_letter(agent, situation=TemplateSituation.AFTER_CONVERSATION, name="After our talk")
    merge = mail_merge(template=follow_up, leads=mine(agent), agent=agent)
    assert [piece.lead for piece in merge.pieces] == [reached]
    assert merge.reasons == {NEVER_REACHED: 1}
    # A template for any homeowner goes to both.
    assert len(mail_merge(template=a_letter(agent), leads=mine(agent), agent=agent).pieces) == 2


def test_an_email_for_after_a_conversation_is_not_sent_to_someone_never_reached(agent, team, lead, brokerage):
    EmailFactory(contact=lead.contacts.first())
    reached = the_johnsons(agent, team)
    EmailFactory(contact=reached.contacts.first())
    outreach_log(lead=reached, channel="door", contact_point=reached.property, outcome=Outcome.TALKED, actor=agent,
                 role_disclosed=True)
    thanks = MessageTemplateFactory(
        kind=TemplateKind.EMAIL, owner=agent, situation=TemplateSituation.AFTER_CONVERSATION,
        body="Hi [First Name],\n\nThank you for talking with me.\n\n[Agent Name]\n[Role Disclosure]")
    merge = email_merge(template=thanks, leads=mine(agent), agent=agent)
    assert [piece.lead for piece in merge.pieces] == [reached]
    assert merge.reasons == {NEVER_REACHED: 1}
    # In writing, the role reads as written, not as said on a call.
    assert "Ana Torres is a licensed real estate agent" in merge.pieces[0].text
    assert "Hi, this is" not in merge.pieces[0].text


def talked_to(lead, agent, outcome=Outcome.TALKED, **kwargs):
    return outreach_log(lead=lead, channel="door", contact_point=lead.property, outcome=outcome, actor=agent,
                        role_disclosed=True, **kwargs)


def test_a_first_contact_letter_leaves_out_homeowners_already_reached_and_says_why(agent, team, brokerage,
                                                                                    client_as):
    reached = the_johnsons(agent, team)
    talked_to(reached, agent)
    knocked = the_johnsons(agent, team)
    talked_to(knocked, agent, outcome=Outcome.NO_ANSWER)  # tried, never reached
    # Logged as a talk by mistake, then corrected: reached no longer, as the stage rules read it.
    corrected = the_johnsons(agent, team)
    talked_to(corrected, agent, corrects=talked_to(corrected, agent), outcome=Outcome.NO_ANSWER, notes="Correction")
    untouched = the_johnsons(agent, team)
    opener = a_letter(agent, situation=TemplateSituation.FIRST_CONTACT, name="Options letter")

    merge = mail_merge(template=opener, leads=mine(agent), agent=agent)

    assert sorted(piece.lead.pk for piece in merge.pieces) == sorted([knocked.pk, corrected.pk, untouched.pk])
    assert merge.reasons == {ALREADY_REACHED: 1}
    page = page_of(show(client_as(agent), opener))
    assert "Mark 3 letters as mailed?" in page and f"Left out: 1 {ALREADY_REACHED}." in page


def test_a_first_contact_email_is_not_sent_to_a_homeowner_already_reached(agent, team, lead, brokerage):
    EmailFactory(contact=lead.contacts.first())
    reached = the_johnsons(agent, team)
    EmailFactory(contact=reached.contacts.first())
    talked_to(reached, agent, outcome=Outcome.APPOINTMENT_SET)
    first = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, situation=TemplateSituation.FIRST_CONTACT,
                                   body="Hi [First Name],\n\nI'm writing about your home.")
    merge = email_merge(template=first, leads=mine(agent), agent=agent)
    assert [piece.lead for piece in merge.pieces] == [lead]
    assert merge.reasons == {ALREADY_REACHED: 1}


def test_a_homeowner_reached_between_showing_and_confirming_a_first_contact_letter_is_not_logged(
        agent, team, brokerage, client_as):
    lead = the_johnsons(agent, team)
    client = client_as(agent)
    shown = show(client, a_letter(agent, situation=TemplateSituation.FIRST_CONTACT))
    talked_to(lead, agent)
    confirm(client, shown)
    batch = MailBatch.objects.get()
    assert [(row["status"], row["reason"]) for row in batch.letters] == [("refused", ALREADY_REACHED)]
    assert not OutreachAttempt.objects.filter(channel="mail").exists()


def test_the_template_editor_saves_whom_a_template_is_for(agent, client_as):
    client_as(agent).post(reverse("pipeline:scripts"), {
        "name": "After our talk", "kind": TemplateKind.EMAIL, "subject": "Thanks", "situation": "after_conversation",
        "body": "Thank you for talking with me. [Role Disclosure]"})
    assert MessageTemplate.objects.get(name="After our talk").situation == TemplateSituation.AFTER_CONVERSATION


def test_the_seeded_templates_read_as_letters_and_say_whom_they_are_for(broker):
    from leadcrm.demo import seed_templates

    seed_templates(broker)
    seeded = {t.name: t for t in MessageTemplate.objects.filter(owner__isnull=True).exclude(kind="call_script")}
    letter = seeded["Pre-foreclosure options letter"]
    assert letter.situation == TemplateSituation.FIRST_CONTACT
    assert letter_body(letter.body) == letter.body.strip() and "[Role Disclosure]" not in letter.body
    thanks = seeded["After the first call: the short-sale guide"]
    assert "Thank you for talking with me" in thanks.body
    assert thanks.situation == TemplateSituation.AFTER_CONVERSATION
    first = seeded["First email: options for your home and the free guide"]
    assert first.situation == TemplateSituation.FIRST_CONTACT and "talking" not in first.body


def test_the_migration_rewrites_the_seeded_templates_left_as_they_were_and_only_those(broker):
    migration = importlib.import_module("pipeline.migrations.0020_template_situations_and_mail_batches")
    MessageTemplate.objects.filter(owner__isnull=True).exclude(kind="call_script").delete()
    old = MessageTemplateFactory(name="Pre-foreclosure options letter", kind=TemplateKind.LETTER,
                                 body=migration.OLD_LETTER)
    edited = MessageTemplateFactory(name="After the first call: the short-sale guide", kind=TemplateKind.EMAIL,
                                    body="My own words. [Role Disclosure]")
    migration.relabel_seeded_templates(apps, None)
    old.refresh_from_db()
    edited.refresh_from_db()
    assert (old.body, old.situation) == (migration.NEW_LETTER, TemplateSituation.FIRST_CONTACT)
    assert (edited.body, edited.situation) == ("My own words. [Role Disclosure]", TemplateSituation.ANY)


def test_the_merge_reads_a_fixed_number_of_queries_and_the_gate_one_per_owner(agent, team, brokerage):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    letter = a_letter(agent)
    counts = {}
    for letters in (5, 10):
        while mine(agent).count() < letters:
            the_johnsons(agent, team)
        print_run(template=letter, leads=mine(agent), agent=agent)  # the rulebook, cached from then on
        with CaptureQueriesContext(connection) as merged:
            mail_merge(template=letter, leads=mine(agent), agent=agent)
        with CaptureQueriesContext(connection) as shown:
            run = print_run(template=letter, leads=mine(agent), agent=agent)
        counts[letters] = (len(merged), len(shown))
        assert run.to_log == letters
    assert counts[5][0] == counts[10][0]  # leads, owners and emails in three reads, whatever their number
    # Asking the gate reads the internal list for each owner's address: 2 owners a letter.
    assert counts[10][1] - counts[5][1] == 5 * 2


def test_a_confirmation_expires_after_the_working_day(agent, team, brokerage, client_as):
    import time_machine

    the_johnsons(agent, team)
    client = client_as(agent)
    shown = show(client, a_letter(agent))
    with time_machine.travel(timezone.now() + timedelta(hours=13), tick=False):
        client.force_login(agent)  # the next morning: yesterday's session has timed out
        response = client.post(reverse("pipeline:mail_print"), {"confirmation": shown.context["run"].confirmation},
                               follow=True)
    assert CONFIRMATION_UNREADABLE in page_of(response) and not OutreachAttempt.objects.exists()
