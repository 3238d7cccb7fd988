"""The brokerage starts with a respectful first-contact script: it states the
agent's role, offers the free guide, promises nothing a lender decides, and says how to
honour a request to stop."""

from django.db import migrations

NAME = "First contact: introduce yourself and offer the free guide"
BODY = "[Role Disclosure]\n\nIs this [First Name]? I'm calling about [Property Address]. Homeowners in your area have been getting a lot of letters and calls lately, so I'll be brief and you can tell me to stop at any time.\n\nI work with homeowners who owe more than their home might sell for, or who have fallen behind. Sometimes a short sale is an option: the lender agrees to accept less than what is owed. Whether that is possible is the lender's decision, not mine, and it depends on your situation.\n\nI have a free guide that explains how a short sale works, how long it usually takes and what lenders ask for. Could I send it to you, by mail or email? There is no cost and no obligation.\n\n(If they want to talk:) What's been going on with the house? ... Is anyone else on the loan or the title? ... Do you know roughly what you owe, and to which lenders?\n\n(If they ask you to stop:) I understand. I'll make sure we don't contact you again. (Log it as a do-not-call request, in their words.)\n\nThank you for your time, [First Name]. My number is [Agent Phone] if you have questions.\n"


def add_script(apps, schema_editor):
    MessageTemplate = apps.get_model("pipeline", "MessageTemplate")
    if not MessageTemplate.objects.filter(name=NAME).exists():
        MessageTemplate.objects.create(name=NAME, kind="call_script", body=BODY)


class Migration(migrations.Migration):
    dependencies = [("pipeline", "0007_message_templates")]

    operations = [migrations.RunPython(add_script, migrations.RunPython.noop)]
