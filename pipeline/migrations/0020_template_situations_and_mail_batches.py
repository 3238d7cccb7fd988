"""Templates say whom they are written for, and confirmed mailings are kept.

The demo's letter and email are rewritten where they are still as first seeded: the
letter began "Dear [First Name], [Role Disclosure] ..." (the spoken "Hi, this is ..."
under "Dear Robert,") and signed itself, which the letter's layout now does; the email
thanked for a conversation and opened with a second "Hi". A template someone has edited
is left as it is, only labelled when it is the brokerage's first-contact call script.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


OLD_LETTER = """Dear [First Name],

[Role Disclosure] I'm writing because public records show a notice filed on your home, and \
homeowners in that spot often don't hear about every option they have.

One of them may be a short sale: selling the home for what it is worth when that is less \
than what is owed, with the lender's agreement. Whether a lender agrees is the lender's \
decision, and it depends on your situation; I can explain how it works, how long it usually \
takes and what lenders ask for.

I have a free guide that walks through it. Call or text me at [Agent Phone] and I'll send it, \
with no cost and no obligation. If you would rather not hear from me, tell me and I won't \
write again.

Sincerely,
[Agent Name]
[Brokerage], [Brokerage Address]
"""
NEW_LETTER = """I'm writing about your home at [Property Address]. Public records show a notice filed on it, \
and homeowners in that spot often don't hear about every option they have.

One of them may be a short sale: selling the home for what it is worth when that is less \
than what is owed, with the lender's agreement. Whether a lender agrees is the lender's \
decision, and it depends on your situation; I can explain how it works, how long it usually \
takes and what lenders ask for.

I have a free guide that walks through it. Call or text me at [Agent Phone] and I'll send it, \
with no cost and no obligation. If you would rather not hear from me, tell me and I won't \
write again.
"""
OLD_EMAIL = """Hi [First Name],

[Role Disclosure]

Thank you for talking with me about [Property Address]. Attached is the guide I promised: how a \
short sale works, the usual timeline (two to six months), and the documents lenders ask for. \
The lender decides whether to approve a short sale; my job is to prepare the file so it has \
the best chance.

Reply to this email or call me at [Agent Phone] with any questions.

[Agent Name], [Brokerage]
"""
NEW_EMAIL = """Hi [First Name],

Thank you for talking with me about [Property Address]. Attached is the guide I promised: how a \
short sale works, the usual timeline (two to six months), and the documents lenders ask for. \
The lender decides whether to approve a short sale; my job is to prepare the file so it has \
the best chance.

Reply to this email or call me at [Agent Phone] with any questions.

[Agent Name], [Brokerage]
[Role Disclosure]
"""
SEEDED = [
    ("Pre-foreclosure options letter", OLD_LETTER, NEW_LETTER, "first_contact"),
    ("After the first call: the short-sale guide", OLD_EMAIL, NEW_EMAIL, "after_conversation"),
]
FIRST_CONTACT_SCRIPT = "First contact: introduce yourself and offer the free guide"


def relabel_seeded_templates(apps, schema_editor):
    MessageTemplate = apps.get_model("pipeline", "MessageTemplate")
    for name, old, new, situation in SEEDED:
        MessageTemplate.objects.filter(name=name, owner__isnull=True, body=old).update(body=new, situation=situation)
    MessageTemplate.objects.filter(name=FIRST_CONTACT_SCRIPT, owner__isnull=True).update(situation="first_contact")


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0019_lender_milestone_corrections'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='messagetemplate',
            name='situation',
            field=models.CharField(choices=[('first_contact', 'First contact: a homeowner not reached yet'), ('after_conversation', 'After a conversation with the homeowner'), ('any', 'Any homeowner')], default='any', help_text='A template for after a conversation is never sent or printed for a lead nobody has reached.', max_length=20, verbose_name='written for'),
        ),
        migrations.CreateModel(
            name='MailBatch',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.UUIDField(unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('letter_date', models.DateField(help_text="The date printed on the letters (the agent's day).")),
                ('letters', models.JSONField(default=list)),
                ('done', models.BooleanField(default=False, help_text='Every letter of it has been through the gate.')),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('template', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='pipeline.messagetemplate')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.RunPython(relabel_seeded_templates, migrations.RunPython.noop),
    ]
