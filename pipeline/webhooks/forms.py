from django import forms

from pipeline.models import SUBSCRIBABLE_EVENTS, WebhookEvent

EVENT_HELP = {
    WebhookEvent.LEAD_CREATED: "A lead is added: by hand, the seller form, the API or an import.",
    WebhookEvent.LEAD_STAGE_CHANGED: "A lead moves to another stage.",
    WebhookEvent.OUTREACH_LOGGED: "A call, text, email or letter is logged on a lead.",
    WebhookEvent.FOLLOW_UP_DUE: "A follow-up's time comes (once per follow-up and due time).",
    WebhookEvent.DOCUMENT_RECEIVED: "A document of the package is uploaded, by the agent or the seller.",
}


class EndpointForm(forms.Form):
    url = forms.CharField(label="Address (URL)", max_length=500,
                          widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/leadcrm",
                                                       "autocomplete": "off"}),
                          help_text="https only, on the public internet. We POST JSON to it.")
    description = forms.CharField(label="What it is for", max_length=200, required=False,
                                  widget=forms.TextInput(attrs={"placeholder": "e.g. Zapier: new leads to the "
                                                                               "team's sheet"}))
    events = forms.MultipleChoiceField(
        label="Events to send", widget=forms.CheckboxSelectMultiple,
        choices=[(event.value, f"{event.value} — {EVENT_HELP[event]}") for event in SUBSCRIBABLE_EVENTS],
        error_messages={"required": "Pick at least one event to send."})
