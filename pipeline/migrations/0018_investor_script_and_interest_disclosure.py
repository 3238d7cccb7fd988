"""Scripts say whom they are for, and the brokerage gets an investor's first-contact script.

An agent buying a house for themselves must not read the listing pitch ("I help homeowners
sell"). The investor's script states that they buy for themselves and are not the
homeowner's agent, asks about the house's condition, the loans and the timeline, explains an
as-is cash offer that the lenders must agree to, and promises nothing only a lender decides.
The listing script becomes the listing agents' own. The package gains the written disclosure
of the buyer's interest, a document of an investor's purchase.
"""

from django.db import migrations, models

LISTING_SCRIPT = "First contact: introduce yourself and offer the free guide"
NAME = "First contact as an investor: buying for yourself, as-is"
BODY = (
    "[Role Disclosure]\n\n"
    "Is this [First Name]? If you'd rather I didn't call, tell me and I'll stop.\n\n"
    "So you know who you're talking to: I buy houses for myself. I'm not offering to be your agent and I don't "
    "represent you in a sale to me. You're free to talk to a listing agent or a lawyer first, and to take other "
    "offers.\n\n"
    "(If they want to talk:)\n"
    "The house: How is it holding up? Anything that needs work, like the roof, plumbing, foundation or water "
    "damage? Is anyone living there now?\n"
    "The loans: Do you know roughly what you owe, and to which lenders? Is there a second mortgage or a home "
    "equity line? Any tax liens, judgments or HOA dues?\n"
    "The timeline: Have you had a notice from the lender, or a sale date? When would you want to move?\n\n"
    "What I can offer: a cash offer for the house as it is, with no repairs or cleaning on your side. If you owe "
    "more than the house would sell for, the sale is a short sale: each of your lenders has to agree to take "
    "less than what is owed, and that is their decision, not mine. I can't tell you whether they will agree, what "
    "they will ask of you, or how long they will take.\n\n"
    "Before any offer I'll give you, in writing, who I am and that I'm buying for myself, so you can weigh it.\n\n"
    "(If they ask you to stop:) I understand. I'll make sure we don't contact you again. (Log it as a do-not-call "
    "request, in their words.)\n\n"
    "Thank you for your time, [First Name]. My number is [Agent Phone] if you think of anything.\n"
)


def add_investor_script(apps, schema_editor):
    MessageTemplate = apps.get_model("pipeline", "MessageTemplate")
    MessageTemplate.objects.filter(name=LISTING_SCRIPT, owner__isnull=True, capacity="").update(
        capacity="seller_agent")
    if not MessageTemplate.objects.filter(name=NAME).exists():
        MessageTemplate.objects.create(name=NAME, kind="call_script", body=BODY, capacity="principal")


class Migration(migrations.Migration):

    dependencies = [
        ('pipeline', '0017_drop_indexes_a_composite_serves'),
    ]

    operations = [
        migrations.AddField(
            model_name='messagetemplate',
            name='capacity',
            field=models.CharField(blank=True, choices=[('seller_agent', 'Licensed agent representing sellers'), ('principal', 'Investor / principal buying for themselves')], help_text='Who uses it: listing agents or investors buying for themselves. Empty: anyone.', max_length=20, verbose_name='for'),
        ),
        migrations.AlterField(
            model_name='checklistitem',
            name='kind',
            field=models.CharField(choices=[('authorization', 'Third-party authorization'), ('hardship_letter', 'Hardship letter'), ('financial_worksheet', 'Financial worksheet (Form 710)'), ('pay_stubs', 'Pay stubs'), ('bank_statements', 'Bank statements (2 months)'), ('tax_returns', 'Tax returns (2 years)'), ('form_4506c', 'IRS Form 4506-C'), ('listing_agreement', 'Listing agreement'), ('purchase_contract', 'Purchase contract and addenda'), ('buyer_funds', 'Buyer pre-approval or proof of funds'), ('interest_disclosure', "Written disclosure of the buyer's interest"), ('settlement_statement', 'Preliminary settlement statement'), ('approval_letter', 'Approval letter'), ('other', 'Other')], max_length=24),
        ),
        migrations.RunPython(add_investor_script, migrations.RunPython.noop),
    ]
