"""The upload and the mapping page's forms."""

from django import forms

from leadcrm.accounts.models import User
from pipeline.models import CrmSystem

from .services import MAPPING_TARGETS, OPT_OUT_TARGETS, POND, STOP, _workers

NO_CHOICE = "Choose what “{value}” means here."


class CrmUploadForm(forms.Form):
    system = forms.ChoiceField(label="It comes from", choices=CrmSystem.choices)
    file = forms.FileField(label="The export",
                           help_text="Follow Up Boss: the people CSV, or a ZIP of people, notes and tasks. "
                                     "Podio: the leads app's items (Excel or CSV), or a ZIP with its comments and tasks.")


class CrmMappingForm(forms.Form):
    """One choice per stage and agent name the export uses that nothing maps yet."""

    def __init__(self, *args, stages: list[str], agents: list[str], opt_outs: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.stage_names, self.agent_names, self.opt_out_names = stages, agents, list(opt_outs)
        users = [(str(u.pk), u.get_full_name() or u.username) for u in _workers()]
        for number, value in enumerate(stages):
            self.fields[f"stage_{number}"] = forms.ChoiceField(
                label=value, choices=[("", "Choose a stage…"), *MAPPING_TARGETS],
                error_messages={"required": NO_CHOICE.format(value=value)})
        for number, value in enumerate(agents):
            self.fields[f"agent_{number}"] = forms.ChoiceField(
                label=value, choices=[("", "Choose who works these leads…"),
                                      (POND, "Nobody: put them in the pond"), *users],
                error_messages={"required": NO_CHOICE.format(value=value)})
        for number, value in enumerate(self.opt_out_names):
            self.fields[f"stop_{number}"] = forms.ChoiceField(
                label=value, choices=[("", "Choose: an opt-out or not…"), *OPT_OUT_TARGETS],
                error_messages={"required": NO_CHOICE.format(value=value)})

    def stage_fields(self):
        return [self[f"stage_{n}"] for n in range(len(self.stage_names))]

    def agent_fields(self):
        return [self[f"agent_{n}"] for n in range(len(self.agent_names))]

    def opt_out_fields(self):
        return [self[f"stop_{n}"] for n in range(len(self.opt_out_names))]

    def mappings(self) -> tuple[dict[str, str], dict[str, User | None], dict[str, bool]]:
        stages = {value: self.cleaned_data[f"stage_{n}"] for n, value in enumerate(self.stage_names)}
        chosen = {value: self.cleaned_data[f"agent_{n}"] for n, value in enumerate(self.agent_names)}
        users = {str(u.pk): u for u in User.objects.filter(pk__in=[v for v in chosen.values() if v != POND])}
        stops = {value: self.cleaned_data[f"stop_{n}"] == STOP for n, value in enumerate(self.opt_out_names)}
        return stages, {value: users.get(pk) for value, pk in chosen.items()}, stops
