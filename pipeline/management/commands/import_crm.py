"""``manage.py import_crm --from followupboss FILE`` (or ``--from podio``): move a CRM's
export in, as the import page does, without the page (docs/moving-in.md#the-command).

Exit codes: 0 imported; 2 the export names stages or agents nothing maps yet, or tags and
stages that look like opt-outs nothing answers yet (they are printed, with how to give
them); 1 the file or an option was refused.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import Stage
from pipeline.models import CrmImportRow, CrmImportStatus, CrmRowOutcome, CrmSystem
from pipeline.moving_in.services import (
    POND,
    CrmImportRefused,
    crm_import_create,
    crm_import_run,
    crm_mappings_save,
)

SYSTEMS = {"followupboss": CrmSystem.FOLLOW_UP_BOSS, "fub": CrmSystem.FOLLOW_UP_BOSS, "podio": CrmSystem.PODIO}
NEEDS_MAPPING = 2
NO_BROKER = "Name the broker the import is done as: --as USERNAME (only brokers move a CRM in)."
NOT_A_BROKER = "{username} is not an active broker: only brokers move a CRM in."
BAD_PAIR = "{option} {value!r}: write it as \"NAME=VALUE\"."
BAD_STAGE = "--stage {value!r}: the stage must be one of {stages}."
BOTH_STOP = "{value!r} is given as --stop-tag and as --not-stop-tag: it is one or the other."
BAD_AGENT = "--agent {value!r}: no active user {username!r} (or write \"{pond}\" to send those leads to the pond)."


class Command(BaseCommand):
    help = "Move leads in from a Follow Up Boss or Podio export (a people file, or a ZIP of people, notes, tasks)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="system", required=True, choices=sorted(SYSTEMS),
                            help="The CRM the export comes from.")
        parser.add_argument("file", help="The export: CSV or XLSX of people, or a ZIP of the export's files.")
        parser.add_argument("--as", dest="username", help="The broker the import is done as (default: the only one).")
        parser.add_argument("--stage", action="append", default=[], metavar="NAME=STAGE",
                            help="Map a stage of the export to ours (list, contact, qualify, negotiate, close, "
                                 "closed, dead). Remembered for the next export.")
        parser.add_argument("--agent", action="append", default=[], metavar="NAME=USERNAME",
                            help=f"Map an agent of the export to a user, or to {POND!r} for the pond. Remembered.")
        parser.add_argument("--stop-tag", action="append", default=[], metavar="VALUE",
                            help="A tag or stage of the export that is a stop request: everyone marked with it "
                                 "goes on the internal do-not-contact list, for good. Remembered.")
        parser.add_argument("--not-stop-tag", action="append", default=[], metavar="VALUE",
                            help="A tag or stage that looks like an opt-out but is not one. Remembered.")

    def handle(self, *args, **options):
        system = SYSTEMS[options["system"]]
        actor = self._broker(options["username"])
        stages, agents = self._mappings(options["stage"], options["agent"])
        stops = self._stops(options["stop_tag"], options["not_stop_tag"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        if stages or agents or stops:
            crm_mappings_save(system=system, stages=stages, agents=agents, stops=stops, actor=actor)
        try:
            job = crm_import_create(system=system, content=path.read_bytes(), file_name=path.name, created_by=actor)
        except CrmImportRefused as refused:
            raise CommandError(" ".join(refused.messages)) from None
        job = crm_import_run(job_id=job.pk)
        if job.status == CrmImportStatus.NEEDS_MAPPING:
            self._ask_for_mapping(job, options["system"], path)
            raise CommandError("Nothing was imported: map the values above and run it again.", returncode=NEEDS_MAPPING)
        if job.status == CrmImportStatus.FAILED:
            raise CommandError(job.error)
        self._summary(job)

    def _broker(self, username: str | None) -> User:
        brokers = [u for u in User.objects.filter(is_active=True).order_by("pk") if u.has_perm(Perm.MOVE_IN)]
        if username:
            found = next((u for u in brokers if u.username == username), None)
            if found is None:
                raise CommandError(NOT_A_BROKER.format(username=username))
            return found
        if len(brokers) != 1:
            raise CommandError(NO_BROKER)
        return brokers[0]

    def _mappings(self, stage_pairs: list[str], agent_pairs: list[str]):
        stages, agents = {}, {}
        for pair in stage_pairs:
            name, sep, stage = pair.rpartition("=")
            if not sep or not name.strip():
                raise CommandError(BAD_PAIR.format(option="--stage", value=pair))
            if stage.strip().lower() not in {s.value for s in Stage}:
                raise CommandError(BAD_STAGE.format(value=pair, stages=", ".join(s.value for s in Stage)))
            stages[name.strip()] = stage.strip().lower()
        for pair in agent_pairs:
            name, sep, username = pair.rpartition("=")
            if not sep or not name.strip():
                raise CommandError(BAD_PAIR.format(option="--agent", value=pair))
            username = username.strip()
            if username.lower() == POND:
                agents[name.strip()] = None
                continue
            user = User.objects.filter(username=username, is_active=True).first()
            if user is None:
                raise CommandError(BAD_AGENT.format(value=pair, username=username, pond=POND))
            agents[name.strip()] = user
        return stages, agents

    def _stops(self, stop_values: list[str], not_stop_values: list[str]) -> dict[str, bool]:
        stops = {" ".join(value.split()): True for value in stop_values if value.strip()}
        both = [value for value in not_stop_values if " ".join(value.split()) in stops]
        if both:
            raise CommandError(BOTH_STOP.format(value=both[0]))
        return {**stops, **{" ".join(value.split()): False for value in not_stop_values if value.strip()}}

    def _ask_for_mapping(self, job, system: str, path: Path) -> None:
        write = self.stderr.write
        write(f"{path.name} names stages or agents that nothing maps yet, or tags and stages that look like "
              f"opt-outs:")
        for value in job.unmapped_stages:
            write(f"  stage “{value}”: add --stage \"{value}=<{'|'.join(s.value for s in Stage)}>\"")
        for value in job.unmapped_agents:
            write(f"  agent “{value}”: add --agent \"{value}=<username|{POND}>\"")
        for value in job.unmapped_opt_outs:
            write(f"  opt-out? “{value}”: add --stop-tag \"{value}\" (a stop request: nothing on any channel) "
                  f"or --not-stop-tag \"{value}\" (not an opt-out)")
        write(f"Or open the import page (Leads › Import a list › Moving in from another CRM) to map them there: "
              f"import {job.pk} is waiting.")

    def _summary(self, job) -> None:
        out = self.stdout.write
        out(self.style.SUCCESS(
            f"Imported {job.people_done} people from {job.get_system_display()}: {job.leads_created} new leads, "
            f"{job.leads_merged} joined a lead already here, {job.leads_updated} updated, "
            f"{job.leads_unchanged} unchanged, {job.rows_rejected} rows not imported."))
        out(f"{job.phones_added} phones ({job.phones_invalid} unreadable, {job.phones_on_dnc} on a Do-Not-Call list), "
            f"{job.emails_added} emails, {job.tags_added} tags, {job.notes_added} notes, "
            f"{job.follow_ups_added} follow-ups ({job.follow_ups_closed} closed), "
            f"{job.people_stopped} people marked as opt-outs put on the internal do-not-contact list.")
        issues = CrmImportRow.objects.filter(job=job).exclude(
            outcome__in=[CrmRowOutcome.CREATED, CrmRowOutcome.MERGED, CrmRowOutcome.UPDATED, CrmRowOutcome.UNCHANGED])
        for row in issues.order_by("file", "row_number", "pk"):
            out(f"  {row.file} line {row.row_number}: {row.get_outcome_display()}: {row.reason}")
